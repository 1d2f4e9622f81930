"""Synthetic corpus: deterministic plan and audio, held-out voices and sentences, manifests that match the audio."""

from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import replace

import pytest
import soundfile as sf

from hac_tokenizer.manifest import read_manifest
from hac_tokenizer.training.data.cli import main
from hac_tokenizer.training.data.errors import DataError
from hac_tokenizer.training.data.espeak import EspeakSynthesizer, VoiceSettings, list_variants
from hac_tokenizer.training.data.synthetic import (
    HELD_OUT_VARIANTS,
    LANGUAGE_VOICES,
    VARIANTS,
    SyntheticCorpusConfig,
    plan_corpus,
    vocabulary,
)

CONFIG = SyntheticCorpusConfig(hours=0.3, seed=7, languages=("en", "pl", "pt"), speakers_per_language=6,
                               test_speakers_per_language=3, max_words=10)


def test_plan_is_a_function_of_the_seed():
    plan = plan_corpus(CONFIG)
    assert plan == plan_corpus(CONFIG)
    assert plan != plan_corpus(replace(CONFIG, seed=8))
    assert len({spec.id for spec in plan}) == len(plan)


def test_held_out_voices_and_sentences():
    plan = plan_corpus(CONFIG)
    by_split = defaultdict(list)
    for spec in plan:
        by_split[spec.split].append(spec)
    assert set(by_split) == {"train", "valid", "test"}
    variants = {split: {s.speaker.variant for s in specs} for split, specs in by_split.items()}
    assert variants["test"] <= set(HELD_OUT_VARIANTS)
    assert not (variants["train"] | variants["valid"]) & set(HELD_OUT_VARIANTS)
    speakers = {split: {s.speaker.id for s in specs} for split, specs in by_split.items()}
    assert speakers["valid"] <= speakers["train"] and not speakers["test"] & speakers["train"]
    sentences = {split: {(s.language, s.words) for s in specs} for split, specs in by_split.items()}
    assert not sentences["train"] & sentences["valid"]
    assert not sentences["train"] & sentences["test"] and not sentences["valid"] & sentences["test"]
    readers = defaultdict(set)
    for spec in plan:
        readers[(spec.language, spec.words)].add(spec.speaker.id)
    assert all(len(r) == CONFIG.readers_per_sentence for r in readers.values())
    assert all(CONFIG.min_words <= len(spec.words) <= CONFIG.max_words for spec in plan)


def test_vocabulary_is_real_words():
    words, probabilities = vocabulary("fr", 500, 0.5)
    assert "maison" in words or "temps" in words
    assert all(w.isalpha() for w in words) and "l" not in words and "à" in words
    assert abs(probabilities.sum() - 1) < 1e-9 and probabilities[0] > probabilities[-1]


def test_generation_is_deterministic_for_any_worker_count(tmp_path, capsys):
    args = ["synthetic", "--hours", "0.01", "--seed", "3", "--languages", "en", "fr"]
    assert main(args + ["--out", str(tmp_path / "a"), "--workers", "0"]) == 0
    assert "x real time" in capsys.readouterr().out
    assert main(args + ["--out", str(tmp_path / "b"), "--workers", "2"]) == 0
    manifest_a = (tmp_path / "a" / "manifest.jsonl").read_text()
    assert manifest_a == (tmp_path / "b" / "manifest.jsonl").read_text()
    rows = [json.loads(line) for line in manifest_a.splitlines()]
    for row in rows:
        assert (tmp_path / "a" / row["audio"]).read_bytes() == (tmp_path / "b" / row["audio"]).read_bytes()

    entries = read_manifest(tmp_path / "a" / "manifest.jsonl")
    assert {e.split for e in entries} == {"train", "valid", "test"} and {e.language for e in entries} == {"en", "fr"}
    for entry in entries:
        info = sf.info(str(entry.audio))
        assert info.samplerate == 16000 and abs(info.frames / 16000 - entry.duration) < 1e-5
        assert [w.label for w in entry.words] == entry.text.split()
        assert 0 < entry.words[0].start and entry.words[-1].end < entry.duration  # silence at both ends
        assert all(w.start <= p.start < p.end <= w.end for w in entry.words for p in entry.phones
                   if w.start <= p.start < w.end)
        assert entry.speaker.startswith(entry.language) and ":p" in entry.speaker


def test_every_configured_voice_and_variant_exists():
    assert set(VARIANTS) <= set(list_variants()) and set(HELD_OUT_VARIANTS) <= set(VARIANTS)
    synthesizer = EspeakSynthesizer()
    for voices in LANGUAGE_VOICES.values():
        for voice in voices:
            assert synthesizer.synthesize(["ma"], VoiceSettings(voice, "m3")).words[0].label == "ma"


def test_config_errors_say_what_to_change():
    with pytest.raises(DataError, match="choose one or more"):
        SyntheticCorpusConfig(languages=("en", "xx"))
    with pytest.raises(DataError, match="min_words"):
        SyntheticCorpusConfig(min_words=5, max_words=2)
    with pytest.raises(DataError, match="held_out_variants"):
        SyntheticCorpusConfig(held_out_variants=("nobody",))
    with pytest.raises(DataError, match="too few distinct sentences"):
        plan_corpus(SyntheticCorpusConfig(hours=1, languages=("de",), vocab_size=3, min_words=1, max_words=1))
