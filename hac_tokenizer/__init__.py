"""hac-tokenizer: Hierarchical Audio Codec speech tokenizer (lexical, phonetic and acoustic tokens)."""

from .config import HACConfig, StreamConfig, TransformerConfig
from .tokenizer import HACTokenizer
from .tokens import PAD_ID, HACAudio, HACTokens

__all__ = ["HACAudio", "HACConfig", "HACTokenizer", "HACTokens", "PAD_ID", "StreamConfig", "TransformerConfig"]
__version__ = "0.1.0"
