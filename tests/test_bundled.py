"""Golden tests on the checkpoint that ships in the wheel."""

import warnings

from signals import chirp

from hac_tokenizer import HACTokenizer
from hac_tokenizer.checkpoint import WEIGHTS_NAME, sha256_of
from hac_tokenizer.hub import DEFAULT_MODEL, REGISTRY


def load_default() -> HACTokenizer:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return HACTokenizer.from_pretrained()


def test_bundled_checksum_matches_registry():
    entry = REGISTRY[DEFAULT_MODEL]
    assert entry.bundled and sha256_of(entry.directory / WEIGHTS_NAME) == entry.sha256


def test_bundled_loads_offline_by_name_and_default():
    tok = load_default()
    assert tok.name == DEFAULT_MODEL and tok.config.name == DEFAULT_MODEL
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert HACTokenizer.from_pretrained(DEFAULT_MODEL).num_parameters() == tok.num_parameters()


def test_placeholder_says_so_loudly():
    if not REGISTRY[DEFAULT_MODEL].placeholder:
        return
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        HACTokenizer.from_pretrained()
    assert any("UNTRAINED PLACEHOLDER" in str(w.message) for w in caught)


def test_bundled_encode_decode_round_trip_lengths():
    tok = load_default()
    wav = chirp(16000 + 123)
    tokens = tok.encode(wav)
    assert tokens.lengths.tolist() == [51]
    assert tok.decode(tokens).waveform.shape == (1, 16123)
    # Golden regression: these ids change only when the bundled weights or the model code change.
    assert tokens.phonetic[0, :8].tolist() == GOLDEN_PHONETIC
    assert tokens.acoustic[0, 0, :8].tolist() == GOLDEN_ACOUSTIC


GOLDEN_PHONETIC = [119, 119, 119, 119, 119, 119, 119, 119]
GOLDEN_ACOUSTIC = [223, 973, 973, 560, 745, 876, 973, 223]
