"""Golden tests on the trained checkpoint that ships in the wheel."""

from pathlib import Path

import pytest
import torch

from hac_tokenizer import HACTokenizer
from hac_tokenizer.audio import load_audio
from hac_tokenizer.checkpoint import WEIGHTS_NAME, sha256_of
from hac_tokenizer.evaluation.reconstruction import mel_distance
from hac_tokenizer.hub import DEFAULT_MODEL, REGISTRY
from hac_tokenizer.tokens import HACTokens

SPEECH = Path(__file__).resolve().parents[1] / "examples" / "audio" / "speech_en.wav"  # 3.3 s of eSpeak NG speech


@pytest.fixture(scope="module")
def bundled() -> HACTokenizer:
    return HACTokenizer.from_pretrained()


@pytest.fixture(scope="module")
def speech() -> torch.Tensor:
    waveform, rate = load_audio(SPEECH)
    assert rate == 16000
    return waveform[0]


@pytest.fixture(scope="module")
def tokens(bundled, speech) -> HACTokens:
    return bundled.encode(speech)


def test_bundled_checksum_matches_registry():
    entry = REGISTRY[DEFAULT_MODEL]
    assert entry.bundled and sha256_of(entry.directory / WEIGHTS_NAME) == entry.sha256


def test_bundled_loads_offline_by_name_and_default(bundled):
    assert bundled.name == DEFAULT_MODEL and bundled.config.name == DEFAULT_MODEL
    assert HACTokenizer.from_pretrained(DEFAULT_MODEL).num_parameters() == bundled.num_parameters()


def test_golden_tokens(bundled, speech, tokens):
    """These ids change only when the bundled weights or the model code change: re-pin them deliberately."""
    assert tokens.lengths.tolist() == [-(-len(speech) // bundled.hop_length)]
    assert tokens.lexical[0, 40:56].tolist() == GOLDEN_LEXICAL
    assert tokens.phonetic[0, 40:56].tolist() == GOLDEN_PHONETIC
    assert tokens.acoustic[0, 0, 40:56].tolist() == GOLDEN_ACOUSTIC


def test_reconstruction_beats_random_init_by_a_wide_margin(bundled, speech, tokens):
    torch.manual_seed(0)
    untrained = HACTokenizer.from_config(bundled.config)
    decoded = {"trained": bundled.decode(tokens), "random": untrained.decode(untrained.encode(speech))}
    distances = {name: float(mel_distance(speech, audio.waveform[0], 16000)) for name, audio in decoded.items()}
    assert distances["trained"] < 0.6 * distances["random"], distances


def test_streams_are_not_collapsed(tokens):
    """A trained stream uses many codes on 3 s of speech; a collapsed one repeats a handful."""
    assert len(tokens.phonetic.unique()) >= 8 and len(tokens.lexical.unique()) >= 4
    assert all(len(layer.unique()) >= 16 for layer in tokens.acoustic[0])


GOLDEN_LEXICAL = [1845, 1845, 976, 240, 1045, 8, 1217, 476, 476, 1823, 1823, 476, 476, 561, 1717, 5]
GOLDEN_PHONETIC = [245, 231, 35, 35, 35, 35, 251, 70, 243, 243, 243, 306, 427, 309, 476, 15]
GOLDEN_ACOUSTIC = [271, 214, 202, 791, 723, 545, 185, 920, 229, 311, 311, 324, 51, 578, 988, 852]
