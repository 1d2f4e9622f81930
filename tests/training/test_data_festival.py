"""Festival's Italian voices: timings from Festival's own utterance checked against the audio, prosody, corpus plan.

Festival is a Debian package (`apt-get install festival festvox-italp16k festvox-itapc16k`), not a PyPI one:
without it these tests are skipped.
"""

from __future__ import annotations

from itertools import pairwise

import numpy as np
import pytest
from signals import rms

from hac_tokenizer.manifest import read_manifest
from hac_tokenizer.training.data.cli import main
from hac_tokenizer.training.data.espeak import EspeakSynthesizer, VoiceSettings
from hac_tokenizer.training.data.festival import (
    FESTIVAL_TO_IPA,
    FESTIVAL_VOICES,
    FestivalSynthesizer,
    festival_available,
    ipa,
)
from hac_tokenizer.training.data.synthetic import SyntheticCorpusConfig, plan_corpus
from hac_tokenizer.training.errors import DataError, FestivalError, FestivalWordMismatchError

needs_festival = pytest.mark.skipif(
    not festival_available(),
    reason="Festival's Italian voices are not installed (apt-get install festival festvox-italp16k festvox-itapc16k)",
)
WORDS = ["acqua", "della", "città", "sempre", "perché", "figlio", "uomo", "anni"]


@pytest.fixture(scope="module")
def synthesizer() -> FestivalSynthesizer:
    return FestivalSynthesizer()



@needs_festival
@pytest.mark.parametrize("voice", FESTIVAL_VOICES)
def test_timings_match_the_audio(synthesizer, voice):
    out = synthesizer.synthesize(WORDS, VoiceSettings(voice, rate=170), seed=1)
    audio, rate = out.audio, out.sample_rate
    assert rate == 16000 and [w.label for w in out.words] == WORDS
    # phones tile each word, in order, with IPA labels; geminates are one phone ("della": d e l a)
    for word in out.words:
        inside = [p for p in out.phones if word.start <= p.start < word.end]
        assert inside[0].start == word.start and inside[-1].end == word.end
        assert all(a.end == b.start for a, b in pairwise(inside))
        assert all(p.label in set(FESTIVAL_TO_IPA.values()) for p in inside)
    della = out.words[1]
    assert [p.label for p in out.phones if della.start <= p.start < della.end] == ["d", "e", "l", "a"]
    # speech in every word, silence before the first and after the last (pc's diphones of silence hold a
    # breath-like noise floor 30-35 dB down)
    peak = np.abs(audio).max()
    loudness = rms(audio, rate, out.words[0].start, out.words[-1].end)
    assert all(rms(audio, rate, w.start, w.end) > 0.2 * loudness for w in out.words)
    assert rms(audio, rate, 0, out.words[0].start - 0.01) < 0.03 * loudness
    loud = np.flatnonzero(np.abs(audio) > 0.05 * peak)
    assert loud[0] / rate == pytest.approx(out.words[0].start, abs=0.015)  # a vowel first: no stop closure
    assert (loud[-1] + 1) / rate == pytest.approx(out.words[-1].end, abs=0.07)
    assert rms(audio, rate, out.words[-1].end + 0.07, len(audio) / rate) < 0.03 * loudness


@needs_festival
def test_phones_are_those_espeak_writes_italian_with(synthesizer):
    # the two engines agree on most of a sentence's phones: one alphabet for the corpus
    festival = [p.label for p in synthesizer.synthesize(WORDS, VoiceSettings("pc")).phones]
    espeak = [p.label for p in EspeakSynthesizer().synthesize(WORDS, VoiceSettings("it")).phones]
    shared = sum(min(festival.count(label), espeak.count(label)) for label in set(festival))
    assert shared / max(len(festival), len(espeak)) > 0.8


@needs_festival
def test_synthesis_depends_on_its_arguments_only(synthesizer):
    voice = VoiceSettings("lp", rate=150, pitch=60)
    first = synthesizer.synthesize(WORDS, voice, seed=3)
    synthesizer.synthesize(["qualcosa", "altro"], VoiceSettings("pc", rate=250, pitch=20))
    again = FestivalSynthesizer().synthesize(WORDS, voice, seed=4)  # diphone synthesis draws no noise
    assert np.array_equal(first.audio, again.audio) and first.words == again.words and first.phones == again.phones


@needs_festival
def test_rate_and_pitch_move_the_voice(synthesizer):
    slow = synthesizer.synthesize(WORDS, VoiceSettings("lp", rate=120))
    fast = synthesizer.synthesize(WORDS, VoiceSettings("lp", rate=240))
    slow_span, fast_span = slow.words[-1].end - slow.words[0].start, fast.words[-1].end - fast.words[0].start
    assert slow_span / fast_span == pytest.approx(2.0, rel=0.1)

    librosa = pytest.importorskip("librosa")

    def f0(out) -> float:  # median pitch of the voiced frames
        pitch, _, _ = librosa.pyin(out.audio.astype(np.float64), fmin=70, fmax=600, sr=out.sample_rate)
        return float(np.nanmedian(pitch))

    high = synthesizer.synthesize(WORDS, VoiceSettings("pc", pitch=80))
    plain = synthesizer.synthesize(WORDS, VoiceSettings("pc", pitch=50))
    assert f0(high) / f0(plain) == pytest.approx(2**0.3, rel=0.05)  # pitch 80: 30/100 of an octave up


@needs_festival
def test_bad_words_are_refused_with_the_reason(synthesizer):
    with pytest.raises(FestivalError, match="alphabetic"):
        synthesizer.synthesize(['a"b', "casa"], VoiceSettings("lp"))
    with pytest.raises(FestivalError, match="without spaces"):
        synthesizer.synthesize(["la casa"], VoiceSettings("lp"))
    with pytest.raises(FestivalError, match="choose one of"):
        synthesizer.synthesize(["casa"], VoiceSettings("it"))
    with pytest.raises(FestivalWordMismatchError, match="Latin-1"):
        synthesizer.synthesize(["łódź", "casa"], VoiceSettings("lp"))


def test_every_festival_italian_phone_has_an_ipa_label():
    assert ipa("a1") == "a" and ipa("E") == "ɛ" and ipa("tS") == "tʃ" and ipa("L") == "ʎ"
    with pytest.raises(FestivalError, match="no IPA mapping"):
        ipa("xx")


def test_plan_gives_italian_sentences_to_festival_in_training_only():
    config = SyntheticCorpusConfig(
        hours=0.3, seed=7, languages=("it", "pl"), speakers_per_language=6, test_speakers_per_language=3,
        max_words=10, festival_share=0.3,
    )
    plan = plan_corpus(config)
    festival = [spec for spec in plan if spec.speaker.engine == "festival"]
    assert festival and all(spec.language == "it" for spec in festival)
    train = [spec for spec in plan if spec.language == "it" and spec.split == "train"]
    assert 0.15 < sum(s.speaker.engine == "festival" for s in train) / len(train) < 0.45
    assert {s.speaker.voice for s in festival} == set(FESTIVAL_VOICES)
    assert not any(s.split == "test" for s in festival)  # both voices are heard in training: none is unseen
    assert all(s.speaker.id.startswith("it-festival-") for s in festival)
    with pytest.raises(DataError, match="add up to at most 1"):
        SyntheticCorpusConfig(festival_share=1.2)


@needs_festival
def test_corpus_with_festival_keeps_its_timings(tmp_path):
    args = ["synthetic", "--hours", "0.02", "--seed", "5", "--languages", "it", "--festival-share", "0.5"]
    assert main(args + ["--out", str(tmp_path), "--workers", "0"]) == 0
    entries = read_manifest(tmp_path / "manifest.jsonl")
    assert any(e.speaker.startswith("it-festival-") for e in entries)
    for entry in entries:
        assert [w.label for w in entry.words] == entry.text.split()
        assert 0 < entry.words[0].start and entry.words[-1].end < entry.duration
