import numpy as np
import pytest
import torch

from hac_tokenizer.evaluation import EvalOptions, collect_manifest, evaluate
from hac_tokenizer.evaluation.collect import Utterance
from hac_tokenizer.evaluation.runner import pnmi_metrics, word_metrics
from hac_tokenizer.manifest import Interval, ManifestEntry, frame_labels, read_manifest


@pytest.fixture(scope="module")
def results(tiny_tokenizer, synthetic_manifest):
    entries = read_manifest(synthetic_manifest)
    options = EvalOptions(batch_size=4)
    collected = collect_manifest(tiny_tokenizer, entries, options, progress=lambda n: None)
    return evaluate(tiny_tokenizer, collected, options), collected


def oracle_utterance(language: str, phones: list[str], speaker: str = "s") -> Utterance:
    """An utterance whose phonetic tokens are its phone ids and lexical tokens a constant."""
    intervals = tuple(Interval(0.1 * i, 0.1 * (i + 1), p) for i, p in enumerate(phones))
    words = (Interval(0.0, 0.1 * len(phones), "word"),)
    entry = ManifestEntry("u", None, 0.1 * len(phones), language, speaker, words=words, phones=intervals)
    labels = frame_labels(intervals, 5 * len(phones), 50.0)
    ids = np.array([ord(p) for p in labels])
    codes = {"lexical": np.zeros_like(ids), "phonetic": ids, "acoustic": np.stack([ids % 2, ids % 3])}
    return Utterance(entry, codes, {}, labels)


def test_pnmi_glue_finds_the_oracle_stream():
    utterances = [oracle_utterance("en", list("abcab")), oracle_utterance("fr", list("xyzzy"))]
    result = pnmi_metrics(utterances)
    assert result["phonetic"]["all"] == pytest.approx(1.0)
    assert result["phonetic"]["per_language"] == {"en": pytest.approx(1.0), "fr": pytest.approx(1.0)}
    assert result["lexical"]["all"] == pytest.approx(0.0)
    assert set(result) == {"lexical", "phonetic", "acoustic.0", "acoustic.1"}
    # each figure comes with its shuffled floor, below the oracle's 1
    assert 0.0 <= result["phonetic"]["all_shuffled"] < 1.0
    assert set(result["phonetic"]["per_language_shuffled"]) == {"en", "fr"}
    assert result["phonetic"]["language_mean_shuffled"] < result["phonetic"]["language_mean"]


def test_word_glue_keys_words_by_language():
    utterances = [oracle_utterance("en", list("ab")), oracle_utterance("fr", list("ab"))]
    result = word_metrics(utterances, 50.0, min_word_count=1)
    assert result["lexical"]["num_word_types"] == 2  # en:word and fr:word
    assert result["lexical"]["max_f1"] == pytest.approx(2 / 3)  # token 0 fires on both: precision 1/2


def test_every_group_runs_on_a_tiny_model(results, tiny_tokenizer):
    metrics, collected = results
    assert metrics["utterances"] == 12 and metrics["languages"] == ["en", "fr"] and metrics["speakers"] == 3
    for stream in ("lexical", "phonetic", "acoustic.0", "acoustic.1"):
        assert 0.0 <= metrics["pnmi"][stream]["all"] <= 1.0
        assert set(metrics["pnmi"][stream]["per_language"]) == {"en", "fr"}
        assert set(metrics["word_detection"][stream]["tokens_above"]) == {"0.3", "0.5", "0.7", "0.9"}
    assert metrics["codebook"]["bitrate"]["nominal_bps"] == pytest.approx(tiny_tokenizer.config.bitrate)
    for mode in ("within", "across"):
        assert metrics["abx"][mode]["triplets"] > 0
        assert all(0.0 <= metrics["abx"][mode][s] <= 1.0 for s in ("lexical", "phonetic", "acoustic"))
    assert set(metrics["reconstruction"]) == {"full", "lexical+phonetic", "acoustic"}
    full = metrics["reconstruction"]["full"]
    assert {"mel_distance", "stft_distance", "si_sdr", "pesq_wb", "stoi"} <= set(full)
    assert full["mel_distance"]["count"] + full["mel_distance"]["failed"] == 12
    for kind in ("speaker", "phone"):
        assert set(metrics["probes"][kind]) == {"lexical", "phonetic", "acoustic"}
    assert set(collected.examples[0]) == {"original", "full", "lexical+phonetic", "acoustic"}


def test_groups_the_data_cannot_support_are_skipped(tiny_tokenizer, tmp_path):
    audio = tmp_path / "a.wav"
    from hac_tokenizer.audio import save_audio

    save_audio(audio, 0.1 * torch.randn(8000), 16000)
    entries = [ManifestEntry("a", audio, 0.5, "en", "s")]  # no alignments, one speaker
    options = EvalOptions(metrics=("pnmi", "word_detection", "codebook"))
    collected = collect_manifest(tiny_tokenizer, entries, options, progress=lambda n: None)
    metrics = evaluate(tiny_tokenizer, collected, options)
    assert "skipped" in metrics["pnmi"] and "skipped" in metrics["word_detection"]
    assert metrics["codebook"]["streams"]["phonetic"]["used"] >= 1
