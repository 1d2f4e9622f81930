"""eSpeak NG binding: timings from events checked against the audio, determinism, event-to-word mapping."""

from __future__ import annotations

import numpy as np
import pytest
from signals import rms

from hac_tokenizer.training.data.espeak import (
    EVENT_END,
    EVENT_PHONEME,
    EVENT_WORD,
    EspeakEvent,
    EspeakSynthesizer,
    VoiceSettings,
    align_events,
    clean_phone,
    list_variants,
    word_starts,
)
from hac_tokenizer.training.errors import EspeakError, WordMismatchError


@pytest.fixture(scope="module")
def synthesizer() -> EspeakSynthesizer:
    return EspeakSynthesizer()



@pytest.mark.parametrize("voice,words", [
    (VoiceSettings("en-us"), ["went", "to", "the", "house", "of", "the", "king"]),
    (VoiceSettings("fr", "f2", rate=220, pitch=70), ["déjà", "été", "élève", "à", "la", "maison"]),
    (VoiceSettings("pl", "m3", rate=130), ["przez", "się", "można", "było"]),
])
def test_words_and_phones_tile_the_speech(synthesizer, voice, words):
    out = synthesizer.synthesize(words, voice)
    # every word gets exactly its own interval, even word pairs eSpeak reads as one phrase ("of the")
    assert [w.label for w in out.words] == words
    ends = [w.end for w in out.words]
    assert all(w.start < w.end for w in out.words) and ends == sorted(ends)
    for word in out.words:
        inside = [p for p in out.phones if word.start <= p.start < word.end]
        assert inside and inside[0].start == word.start and inside[-1].end == pytest.approx(word.end)
        assert all(p.label and "ˈ" not in p.label and not p.label.startswith("(") for p in inside)
        assert sum(p.end - p.start for p in inside) == pytest.approx(word.end - word.start)
    # where the phones leave a gap (a pause) there is silence
    gaps = [(a.end, b.start) for a, b in zip(out.phones, out.phones[1:]) if b.start > a.end]
    assert all(rms(out.audio, out.sample_rate, start, end) < 2e-3 for start, end in gaps)


def test_timings_match_the_audio(synthesizer):
    words = ["see", "two", "cats", "now"]
    out = synthesizer.synthesize(words, VoiceSettings("en-us", rate=150))
    rate, audio = out.sample_rate, out.audio
    last_end = out.words[-1].end
    trailing = rms(audio, rate, last_end + 0.01, len(audio) / rate)
    assert trailing < 1e-3  # what follows the last word is silence
    for word in out.words:
        assert rms(audio, rate, word.start, word.end) > 0.02  # every word holds speech
    # speech stops where the last word ends, to within a few milliseconds
    loud = np.flatnonzero(np.abs(audio) > 1e-3)
    assert abs(loud[-1] / rate - last_end) < 0.01
    # "two" starts with its stop closure: silent just after its start, voiced just before it
    two = out.words[1]
    assert rms(audio, rate, two.start - 0.02, two.start) > 0.02
    assert rms(audio, rate, two.start + 0.005, two.start + 0.025) < 1e-3


def test_synthesis_is_deterministic_and_history_free(synthesizer):
    words, voice = ["bonjour", "mes", "amis"], VoiceSettings("fr-be", "victor", rate=160, pitch=40, pitch_range=70)
    first = synthesizer.synthesize(words, voice, seed=3)
    synthesizer.synthesize(["something", "else", "entirely"], VoiceSettings("en", "m3", rate=300), seed=9)
    again = EspeakSynthesizer().synthesize(words, voice, seed=3)
    assert np.array_equal(first.audio, synthesizer.synthesize(words, voice, seed=3).audio)
    assert np.array_equal(first.audio, again.audio) and first.words == again.words and first.phones == again.phones


def test_voice_settings_change_the_voice(synthesizer):
    words = ["hello", "there"]
    base = synthesizer.synthesize(words, VoiceSettings("en-us", "m3", rate=175))
    slow = synthesizer.synthesize(words, VoiceSettings("en-us", "m3", rate=100))
    assert slow.words[-1].end > 1.4 * base.words[-1].end
    female = synthesizer.synthesize(words, VoiceSettings("en-us", "f1"))
    assert not np.array_equal(base.audio, female.audio[:len(base.audio)])


def test_errors(synthesizer):
    with pytest.raises(EspeakError, match="no voice"):
        synthesizer.synthesize(["a"], VoiceSettings("xx-nowhere"))
    with pytest.raises(EspeakError, match="without spaces"):
        synthesizer.synthesize(["two words"], VoiceSettings("en"))
    assert {"m3", "f2", "klatt"} <= set(list_variants())


def test_align_events_maps_by_text_position_and_rejects_lost_words():
    starts = word_starts(["ab", "cd"])  # "ab \u2060cd": positions 1 and 5
    assert starts == [1, 5]
    events = [EspeakEvent(t, position, sample, phone) for t, position, sample, phone in [
        (EVENT_WORD, 1, 0, ""), (EVENT_PHONEME, 1, 0, "a"), (EVENT_PHONEME, 1, 50, "b"),
        (EVENT_WORD, 5, 90, ""), (EVENT_PHONEME, 5, 120, "c"), (EVENT_PHONEME, 5, 160, "d"),
        (EVENT_PHONEME, 5, 200, ""), (EVENT_END, 7, 260, ""),
    ]]
    words, phones = align_events(events, starts, 300)
    # the second word starts at its WORD event (a stop's closure comes before the phone's own event)
    assert words == [(0, 90), (90, 200)]
    assert phones == [(0, 50, "a"), (50, 90, "b"), (90, 160, "c"), (160, 200, "d")]
    merged = [e for e in events if not (e.type == EVENT_WORD and e.text_position == 5)]
    with pytest.raises(WordMismatchError):
        align_events(merged, starts, 300)


def test_phonemes_give_each_words_phones_with_their_stress_marks(synthesizer):
    words = ["people", "said", "that", "music", "is", "good"]
    speech = synthesizer.synthesize(words, VoiceSettings("en-us"))
    phonemes = synthesizer.phonemes(words, "en-us")
    assert len(phonemes) == len(words)
    for word, phones in zip(speech.words, phonemes):
        inside = [p.label for p in speech.phones if word.start <= p.start < word.end]
        assert [label for label, _ in phones] == inside
        assert [clean_phone(name) for _, name in phones] == inside
    assert any(name.startswith("ˈ") for word in phonemes for _, name in word)  # "people": stressed first syllable
    with pytest.raises(WordMismatchError):
        synthesizer.phonemes(["hello", "-", "world"], "en-us")
