"""Synthetic corpus: deterministic plan and audio, held-out voices and sentences, manifests that match the audio."""

from __future__ import annotations

import hashlib
import json
from collections import defaultdict
from dataclasses import replace

import numpy as np
import pytest
import soundfile as sf

from hac_tokenizer.manifest import read_manifest
from hac_tokenizer.training.data.cli import main
from hac_tokenizer.training.data.espeak import EspeakSynthesizer, VoiceSettings, list_variants
from hac_tokenizer.training.data.render import render_utterance
from hac_tokenizer.training.data.synthetic import (
    HELD_OUT_VARIANTS,
    LANGUAGE_VOICES,
    VARIANTS,
    Speaker,
    SyntheticCorpusConfig,
    UtteranceSpec,
    plan_corpus,
    vocabulary,
)
from hac_tokenizer.training.errors import DataError

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


def _speech_span(audio, rate: int, threshold: float) -> tuple[float, float]:
    loud = np.flatnonzero(np.abs(audio) > threshold)
    return loud[0] / rate, (loud[-1] + 1) / rate


@pytest.mark.parametrize("speed", [0.85, 1.0, 1.15])
def test_speed_perturbation_scales_the_timings_with_the_audio(tmp_path, speed):
    words = ("all", "my", "new", "lemons", "well")  # a vowel first: eSpeak's /s/ would start 13 ms into its word
    speaker = Speaker(voice="en-us", variant="m3", pitch=50, pitch_range=50, rate=160)
    synthesizer = EspeakSynthesizer()

    def render(factor: float):
        spec = UtteranceSpec(id=f"u{factor}", language="en", split="train", speaker=speaker, words=words, rate=160,
                             seed=11, augment=False, speed=factor)
        entry = render_utterance(spec, synthesizer, SyntheticCorpusConfig(), tmp_path)
        audio, rate = sf.read(str(entry.audio), dtype="float32")
        return entry, audio, rate

    entry, audio, rate = render(speed)
    plain, plain_audio, _ = render(1.0)
    assert [w.label for w in entry.words] == list(words) and entry.duration == pytest.approx(len(audio) / rate)
    # both runs have the same leading silence (same seed); the speech after it is 1/speed as long
    lead = plain.words[0].start
    assert entry.words[0].start == pytest.approx(lead, abs=1e-5)
    for fast, slow in zip(entry.words + entry.phones, plain.words + plain.phones):
        assert fast.start - lead == pytest.approx((slow.start - lead) / speed, abs=1e-5)
        assert fast.end - lead == pytest.approx((slow.end - lead) / speed, abs=1e-5)
    # and the audio agrees: speech starts where the first word starts, ends where the last word ends
    # (to within eSpeak's own few ms, which scale with the speed too) ...
    peak = np.abs(audio).max()
    start, end = _speech_span(audio, rate, 0.01 * peak)
    plain_start, plain_end = _speech_span(plain_audio, rate, 0.01 * np.abs(plain_audio).max())
    assert start == pytest.approx(entry.words[0].start, abs=0.005)
    assert end == pytest.approx(entry.words[-1].end, abs=0.015)
    assert end - entry.words[-1].end == pytest.approx((plain_end - plain.words[-1].end) / speed, abs=0.002)
    assert end - start == pytest.approx((plain_end - plain_start) / speed, abs=0.002)
    # ... every word holds speech, and pauses between phones are silent
    loudness = np.sqrt(np.mean(audio[int(start * rate):int(end * rate)] ** 2))
    for word in entry.words:
        segment = audio[int(word.start * rate):int(word.end * rate)]
        assert np.sqrt(np.mean(segment**2)) > 0.2 * loudness
    for a, b in zip(entry.phones, entry.phones[1:]):
        if b.start - a.end > 0.02:
            assert np.abs(audio[int(a.end * rate) + 40:int(b.start * rate) - 40]).max() < 0.01 * peak


def test_speed_is_planned_from_its_own_stream():
    plan = plan_corpus(CONFIG)
    unperturbed = plan_corpus(replace(CONFIG, speed_probability=0.0))
    assert {spec.speed for spec in unperturbed} == {1.0}

    def utterances(specs, language, split):  # without id and speed
        return [(s.speaker, s.words, s.rate, s.seed, s.augment)
                for s in specs if (s.language, s.split) == (language, split)]

    # speakers, sentences, rates and seeds do not move; only the hours budget may take a few more or fewer
    for language in CONFIG.languages:
        for split in ("train", "valid", "test"):
            a, b = utterances(plan, language, split), utterances(unperturbed, language, split)
            assert a[:len(b)] == b[:len(a)] and abs(len(a) - len(b)) <= 4
    speeds = [spec.speed for spec in plan]
    assert all(s == 1.0 or CONFIG.speed[0] <= s <= CONFIG.speed[1] for s in speeds)
    assert 0.3 < np.mean([s != 1.0 for s in speeds]) < 0.7
    with pytest.raises(DataError, match="speed"):
        SyntheticCorpusConfig(speed=(1.1, 0.9))


def test_other_engines_take_their_own_slices_of_a_languages_sentences():
    flite_only = plan_corpus(replace(CONFIG, flite_share=0.3))
    both = plan_corpus(replace(CONFIG, flite_share=0.3, piper_share=0.2))

    def sentences(specs, engine):
        return {(s.split, s.words) for s in specs if s.speaker.engine == engine}

    # each engine has its slice of the engine draw: adding one leaves the others' shares
    for plan in (flite_only, both):
        english = {(s.split, s.words) for s in plan if s.language == "en"}
        assert 0.2 < len(sentences(plan, "flite")) / len(english) < 0.4
    # a corpus without the new engines plans exactly as before they existed (its digest from the earlier code)
    digest = hashlib.sha256(repr(plan_corpus(SyntheticCorpusConfig(hours=0.3, seed=7, flite_share=0.3))).encode())
    assert digest.hexdigest()[:16] == "7e4bb0620c3c7f34"
    piper = [s for s in both if s.speaker.engine == "piper"]
    assert piper and all(s.language == "en" and s.split != "test" for s in piper)  # one voice: never unseen
    assert {s.speaker.id for s in piper} == {"en-piper-joe:p50"}  # no pitch control: one speaker per voice
    english_train = [s for s in both if (s.language, s.split) == ("en", "train")]
    assert 0.1 < len(piper) / len(english_train) < 0.3
    with pytest.raises(DataError, match="add up to at most 1"):
        SyntheticCorpusConfig(flite_share=0.6, piper_share=0.5)


def test_a_missing_engine_stops_the_corpus_with_what_to_install(tmp_path, monkeypatch, capsys):
    from hac_tokenizer.training.data import render

    requirement = render.REQUIREMENTS["festival"]
    monkeypatch.setitem(render.REQUIREMENTS, "festival", (lambda: False, *requirement[1:]))
    args = ["synthetic", "--hours", "0.01", "--languages", "it", "--festival-share", "0.5", "--out", str(tmp_path)]
    assert main(args) == 2
    error = capsys.readouterr().err
    assert "apt-get install festival" in error and "--festival-share 0" in error
    assert not (tmp_path / "manifest.jsonl").exists()
