"""hac-tokenizer: Hierarchical Audio Codec speech tokenizer (lexical, phonetic and acoustic tokens)."""

from .config import HACConfig, StreamConfig, TransformerConfig
from .lm import DelayedLayout, InterleavedLayout, LMLayout, LMVocabulary
from .tokenizer import HACTokenizer
from .tokens import PAD_ID, HACAudio, HACTokens
from .voice import acoustic_mean, swap_acoustic

__all__ = [
    "PAD_ID",
    "DelayedLayout",
    "HACAudio",
    "HACConfig",
    "HACTokenizer",
    "HACTokens",
    "InterleavedLayout",
    "LMLayout",
    "LMVocabulary",
    "StreamConfig",
    "TransformerConfig",
    "acoustic_mean",
    "swap_acoustic",
]
__version__ = "0.1.0"
