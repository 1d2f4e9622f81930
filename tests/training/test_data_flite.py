"""CMU Flite voices: timings from Flite's own utterance checked against the audio, determinism, corpus plan.

Flite is a Debian package (`apt-get install flite`), not a PyPI one: without it these tests are skipped.
"""

from __future__ import annotations

import json
from dataclasses import replace
from itertools import pairwise

import numpy as np
import pytest
from signals import rms

from hac_tokenizer.manifest import read_manifest
from hac_tokenizer.training.data.cli import main
from hac_tokenizer.training.data.espeak import VoiceSettings
from hac_tokenizer.training.data.flite import (
    ARPABET_TO_IPA,
    FLITE_VOICES,
    STRESSED_IPA,
    UNSTRESSED_IPA,
    FliteSynthesizer,
    flite_available,
)
from hac_tokenizer.training.data.synthetic import OTHER_ENGINES, SyntheticCorpusConfig, plan_corpus
from hac_tokenizer.training.errors import FliteWordMismatchError

CONFIG = SyntheticCorpusConfig(hours=0.3, seed=7, languages=("en", "pl"), speakers_per_language=6,
                               test_speakers_per_language=3, max_words=10, flite_share=0.3)
needs_flite = pytest.mark.skipif(not flite_available(), reason="CMU Flite is not installed (apt-get install flite)")


@pytest.fixture(scope="module")
def synthesizer() -> FliteSynthesizer:
    return FliteSynthesizer()



@needs_flite
@pytest.mark.parametrize("voice", FLITE_VOICES)
@pytest.mark.parametrize("words", [["all", "my", "new", "lemons", "well"],
                                   ["every", "morning", "she", "reads", "many", "books"]])
def test_timings_match_the_audio(synthesizer, voice, words):
    out = synthesizer.synthesize(words, VoiceSettings(voice, rate=170), seed=1)
    audio, rate = out.audio, out.sample_rate
    assert rate == 16000 and [w.label for w in out.words] == words
    # phones tile each word, in order, with IPA labels of eSpeak's US-English set
    labels = set(ARPABET_TO_IPA.values()) | set(STRESSED_IPA.values()) | set(UNSTRESSED_IPA.values())
    for word in out.words:
        inside = [p for p in out.phones if word.start <= p.start < word.end]
        assert inside[0].start == word.start and inside[-1].end == word.end
        assert all(a.end == b.start for a, b in pairwise(inside))
        assert all(p.label in labels for p in inside)
    assert sum(len([p for p in out.phones if w.start <= p.start < w.end]) for w in out.words) == len(out.phones)
    # speech in every word, silence before the first and after the last (beyond a final release)
    peak = np.abs(audio).max()
    loudness = rms(audio, rate, out.words[0].start, out.words[-1].end)
    assert all(rms(audio, rate, w.start, w.end) > 0.2 * loudness for w in out.words)
    assert rms(audio, rate, 0, out.words[0].start - 0.01) < 0.01 * loudness
    loud = np.flatnonzero(np.abs(audio) > 0.01 * peak)
    assert loud[0] / rate == pytest.approx(out.words[0].start, abs=0.015)  # a vowel first: no stop closure
    assert (loud[-1] + 1) / rate == pytest.approx(out.words[-1].end, abs=0.07)
    assert rms(audio, rate, out.words[-1].end + 0.07, len(audio) / rate) < 0.02 * loudness


@needs_flite
def test_synthesis_is_deterministic_and_history_free(synthesizer):
    words, voice = ["people", "said", "that", "music", "is", "good"], VoiceSettings("awb", rate=150, pitch=60)
    first = synthesizer.synthesize(words, voice, seed=3)
    synthesizer.synthesize(["something", "else"], VoiceSettings("slt", rate=250, pitch=20), seed=9)
    again = FliteSynthesizer().synthesize(words, voice, seed=3)
    assert np.array_equal(first.audio, synthesizer.synthesize(words, voice, seed=3).audio)
    assert np.array_equal(first.audio, again.audio) and first.words == again.words and first.phones == again.phones
    assert not np.array_equal(first.audio, synthesizer.synthesize(words, voice, seed=4).audio)  # noise excitation


@needs_flite
def test_rate_and_pitch_move_the_voice(synthesizer):
    words = ["people", "said", "that", "music", "is", "good"]
    slow = synthesizer.synthesize(words, VoiceSettings("slt", rate=120))
    fast = synthesizer.synthesize(words, VoiceSettings("slt", rate=240))
    slow_span, fast_span = slow.words[-1].end - slow.words[0].start, fast.words[-1].end - fast.words[0].start
    assert slow_span / fast_span == pytest.approx(2.0, rel=0.1)
    high = synthesizer.synthesize(words, VoiceSettings("slt", pitch=80))

    librosa = pytest.importorskip("librosa")

    def f0(out) -> float:  # median pitch of the voiced frames
        pitch, _, _ = librosa.pyin(out.audio.astype(np.float64), fmin=70, fmax=500, sr=out.sample_rate)
        return float(np.nanmedian(pitch))

    plain = synthesizer.synthesize(words, VoiceSettings("slt", pitch=50))
    assert f0(high) / f0(plain) == pytest.approx(2 ** 0.3, rel=0.05)  # pitch 80: 30/100 of an octave up


@needs_flite
def test_expanded_words_are_refused(synthesizer):
    assert [w.label for w in synthesizer.synthesize(["dr", "smith"], VoiceSettings("kal16")).words] == ["dr", "smith"]
    with pytest.raises(FliteWordMismatchError, match="nbc"):
        synthesizer.synthesize(["nbc", "news"], VoiceSettings("kal16"))  # spelt out: three words


def test_plan_gives_english_sentences_to_flite_speakers_with_a_held_out_voice():
    plan = plan_corpus(CONFIG)
    flite = [spec for spec in plan if spec.speaker.engine == "flite"]
    assert flite and all(spec.language == "en" for spec in flite)
    english = [spec for spec in plan if spec.language == "en"]
    assert 0.15 < len(flite) / len(english) < 0.45
    voices = {split: {s.speaker.voice for s in flite if s.split == split} for split in ("train", "valid", "test")}
    held_out = set(OTHER_ENGINES["flite"].held_out)
    assert voices["test"] == held_out
    assert not (voices["train"] | voices["valid"]) & held_out
    assert all(s.speaker.id.startswith("en-flite-") for s in flite)
    # a sentence is read by one engine; eSpeak-only planning is unchanged by the option's existence
    engines = {}
    for spec in english:
        engines.setdefault(spec.words, set()).add(spec.speaker.engine)
    assert all(len(e) == 1 for e in engines.values())
    assert not any(s.speaker.engine == "flite" for s in plan_corpus(replace(CONFIG, flite_share=0.0)))


@needs_flite
def test_corpus_with_flite_is_deterministic_for_any_worker_count(tmp_path):
    args = ["synthetic", "--hours", "0.01", "--seed", "5", "--languages", "en", "--flite-share", "0.5"]
    assert main(args + ["--out", str(tmp_path / "a"), "--workers", "0"]) == 0
    assert main(args + ["--out", str(tmp_path / "b"), "--workers", "2"]) == 0
    manifest = (tmp_path / "a" / "manifest.jsonl").read_text()
    assert manifest == (tmp_path / "b" / "manifest.jsonl").read_text()
    for row in map(json.loads, manifest.splitlines()):
        assert (tmp_path / "a" / row["audio"]).read_bytes() == (tmp_path / "b" / row["audio"]).read_bytes()
    entries = read_manifest(tmp_path / "a" / "manifest.jsonl")
    assert any(e.speaker.startswith("en-flite-") for e in entries)
    assert any(not e.speaker.startswith("en-flite-") for e in entries)
    for entry in entries:
        assert [w.label for w in entry.words] == entry.text.split()
        assert 0 < entry.words[0].start and entry.words[-1].end < entry.duration
