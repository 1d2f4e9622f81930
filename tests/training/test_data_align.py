"""PocketSphinx forced alignment: text normalisation, transcript tables, ARPAbet -> IPA, timings on eSpeak speech
(whose word boundaries are known to the sample), and entries that cannot be aligned being dropped and counted."""

from __future__ import annotations

import importlib.util
import json
import re
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from hac_tokenizer.manifest import ManifestEntry, read_manifest, write_manifest
from hac_tokenizer.training.data.align import (
    ARPABET_TO_IPA,
    EXTRA_PRONUNCIATIONS,
    PocketsphinxAligner,
    align_entries,
    arpabet_to_ipa,
    ktuberling_transcript,
    normalize_text,
    read_dictionary,
    read_transcripts,
    table_source,
    transcript_source,
)
from hac_tokenizer.training.data.cli import main
from hac_tokenizer.training.errors import AlignmentError

needs_pocketsphinx = pytest.mark.skipif(importlib.util.find_spec("pocketsphinx") is None,
                                        reason="pocketsphinx not installed (it is in the [train] extra)")


def entry(audio: Path, text: str | None = None, language: str = "en", entry_id: str | None = None) -> ManifestEntry:
    return ManifestEntry(id=entry_id or audio.stem, audio=audio, duration=1.0, language=language, speaker="s",
                         text=text, split="test")


# ---------------------------------------------------------------- text, transcripts, phone table (no decoder)

@pytest.mark.parametrize("text,words", [
    ("That agent is already logged on.  Please enter your agent number followed by the pound key.",
     "that agent is already logged on please enter your agent number followed by the pound key"),
    ("press * to toggle pause, press # to enter", "press star to toggle pause press pound to enter"),
    ("Dial 1 if you wish; 2 otherwise...", "dial one if you wish two otherwise"),
    ("It is 7 A.M. o'clock", "it is seven a m o'clock"),
    ("Call-Forward on No Answer.", "call forward on no answer"),
    ("3 to mute or umute all", "three to mute or unmute all"),
    ("at [@]", "at"),
    ("Please leave your message after the tone. (simple tone sound plays)",
     "please leave your message after the tone"),
    ("[this is a simple beep tone]", ""),
    ("<beep ascending>", ""),
    ("", ""),
])
def test_normalize_text(text, words):
    assert normalize_text(text) == words.split()


@pytest.mark.parametrize("text", ["dial 500 now", "3D audio enabled", "H.323"])
def test_numbers_without_a_single_reading_are_refused(text):
    with pytest.raises(AlignmentError) as err:
        normalize_text(text)
    assert err.value.reason == "number"


@pytest.mark.parametrize("name,said", [
    ("egypt_arch.ogg", "arch"), ("egypt_palmtree.ogg", "palm tree"), ("moon_fallingstar.ogg", "falling star"),
    ("moon_moonwalker.ogg", "moon walker"), ("egypt_sphynx.ogg", "sphinx"), ("pizzeria_broccolli.ogg", "broccoli"),
    ("tv_cyclist.ogg", "cyclist"), ("hat.ogg", "hat"), ("sunglasses.ogg", "sunglasses"),
])
def test_ktuberling_transcripts_drop_the_scene_prefix(name, said):
    assert ktuberling_transcript(Path("/usr/share/ktuberling/sounds/en") / name) == said


def test_transcript_table_matches_the_longest_path_suffix(tmp_path):
    table_file = tmp_path / "core-sounds-en.txt"
    table_file.write_text("; Core Asterisk Sounds in English\n\nactivated: Activated.\ndigits/1: one\n1: wrong one\n"
                          "letters/at: at [@]\n")
    table = read_transcripts(table_file)
    assert table == {"activated": "Activated.", "digits/1": "one", "1": "wrong one", "letters/at": "at [@]"}
    lookup = table_source(table)
    root = tmp_path / "asterisk" / "en"
    assert lookup(entry(root / "activated.wav")) == "Activated."
    assert lookup(entry(root / "digits" / "1.wav")) == "one"  # not the shorter "1"
    assert lookup(entry(root / "1.wav")) == "wrong one"
    assert lookup(entry(root / "missing.wav")) is None
    assert transcript_source(None)(entry(root / "x.wav", text="hello")) == "hello"
    assert transcript_source("ktuberling")(entry(Path("egypt_arch.ogg"))) == "arch"
    bad = tmp_path / "bad.txt"
    bad.write_text("no colon here\n")
    with pytest.raises(Exception, match="expected 'name: text'"):
        read_transcripts(bad)


def test_arpabet_table_is_one_to_one_ipa():
    assert len(set(ARPABET_TO_IPA.values())) == len(ARPABET_TO_IPA)  # no two phones merged
    assert all(re.fullmatch(r"[^\sA-Z0-9ˈˌ]+", ipa) for ipa in ARPABET_TO_IPA.values())
    assert arpabet_to_ipa("AH0") == "ə" and arpabet_to_ipa("ER") == "ɚ" and arpabet_to_ipa("G") == "ɡ"


# ---------------------------------------------------------------- with the decoder

@pytest.fixture(scope="module")
def aligner() -> PocketsphinxAligner:
    return PocketsphinxAligner()


@needs_pocketsphinx
def test_table_covers_every_phone_of_the_dictionary():
    dictionary = read_dictionary()
    assert len(dictionary) > 100_000 and dictionary["the"] and len(dictionary["the"]) >= 2  # the(2) is kept
    phones = {p for prons in dictionary.values() for pron in prons for p in pron}
    assert phones == set(ARPABET_TO_IPA)
    extra = {p for pron in EXTRA_PRONUNCIATIONS.values() for p in pron.split()}
    assert extra <= set(ARPABET_TO_IPA)
    assert not set(EXTRA_PRONUNCIATIONS) & set(dictionary)  # only words CMUdict lacks
    assert "unmute" in PocketsphinxAligner().dictionary


@pytest.fixture(scope="module")
def espeak_speech():
    """eSpeak NG sentences with exact word boundaries, 0.3 s of silence either side, at 16 kHz."""
    soxr = pytest.importorskip("soxr")
    try:
        from hac_tokenizer.training.data.espeak import EspeakSynthesizer, VoiceSettings
        from hac_tokenizer.training.errors import EspeakError
        synthesizer = EspeakSynthesizer()
    except (ImportError, EspeakError) as err:
        pytest.skip(f"eSpeak NG unavailable: {err}")
    pad = 0.3
    out = []
    for words, voice in [(["she", "sells", "fish", "on", "monday"], VoiceSettings("en-us", rate=150)),
                         (["good", "morning", "everybody"], VoiceSettings("en", "f2", rate=170)),
                         (["seven"], VoiceSettings("en-us", rate=150))]:
        speech = synthesizer.synthesize(words, voice)
        audio = soxr.resample(speech.audio, speech.sample_rate, 16000).astype(np.float32)
        silence = np.zeros(int(pad * 16000), np.float32)
        boundaries = [(w.start + pad, w.end + pad) for w in speech.words]
        out.append((words, np.concatenate([silence, audio, silence]), boundaries))
    return out


@needs_pocketsphinx
def test_alignment_of_espeak_speech_matches_its_known_timings(espeak_speech):
    # synthetic speech fits the en-us model less well than recorded speech (-20 to -25 per frame): no check here
    aligner = PocketsphinxAligner(min_frame_score=-40)
    for words, audio, boundaries in espeak_speech:
        result = aligner.align(audio, words)
        duration = len(audio) / 16000
        assert [w.label for w in result.words] == words
        for (start, end), word in zip(boundaries, result.words):
            assert abs(word.start - start) <= 0.05 and abs(word.end - end) <= 0.05, (word, start, end)
        # phones: IPA from the table, in order, not overlapping, inside the audio and inside their words
        known = set(ARPABET_TO_IPA.values())
        assert result.phones and all(p.label in known for p in result.phones)
        assert all(0 <= p.start < p.end <= duration for p in result.phones)
        assert all(a.end <= b.start for a, b in zip(result.phones, result.phones[1:]))
        assert all(any(w.start <= p.start and p.end <= w.end for w in result.words) for p in result.phones)
        assert all(p.end - p.start >= 0.03 - 1e-9 for p in result.phones)  # 3 HMM states, 10 ms each
        assert result.frame_score <= 0 and result.frames == pytest.approx(duration * 100, abs=2)
    words, audio, _ = espeak_speech[-1]
    assert [p.label for p in aligner.align(audio, words).phones] == ["s", "ɛ", "v", "ə", "n"]


@needs_pocketsphinx
def test_wrong_text_and_strict_limits_are_refused(espeak_speech, aligner):
    words, audio, _ = espeak_speech[0]
    with pytest.raises(AlignmentError) as err:
        aligner.align(audio, ["zebra", "jumping", "quickly", "over", "everything"])
    assert err.value.reason in {"no path", "poor fit"}
    with pytest.raises(AlignmentError) as err:
        PocketsphinxAligner(min_frame_score=-1.0).align(audio, words)
    assert err.value.reason == "poor fit"
    with pytest.raises(AlignmentError) as err:
        aligner.align(audio[:800], words)  # 50 ms cannot hold 16 phones of 30 ms
    assert err.value.reason == "too short"
    with pytest.raises(AlignmentError) as err:
        aligner.align(audio, ["she", "sells", "qwxzv"])
    assert err.value.reason == "not in dictionary"


@needs_pocketsphinx
def test_unalignable_entries_are_dropped_and_counted(tmp_path, espeak_speech, capsys):
    words, audio, _ = espeak_speech[0]
    seven = espeak_speech[-1][1]
    folder = tmp_path / "wavs"
    folder.mkdir()
    for name, signal in [("good", audio), ("seven", seven), ("wrong", audio), ("oov", audio), ("beep", seven),
                         ("number", audio), ("notext", audio), ("french", audio)]:
        sf.write(folder / f"{name}.wav", signal, 16000)
    entries = [
        entry(folder / "good.wav", " ".join(words).capitalize() + "."),
        entry(folder / "seven.wav", "7"),
        entry(folder / "wrong.wav", "zebra jumping quickly over everything"),
        entry(folder / "oov.wav", "she sells qwxzv"),
        entry(folder / "beep.wav", "[beep]"),
        entry(folder / "number.wav", "dial 500"),
        entry(folder / "notext.wav", None),
        entry(folder / "missing.wav", "seven"),
        entry(folder / "french.wav", "elle vend du poisson", language="fr"),
    ]
    report = align_entries(entries, aligner=PocketsphinxAligner(min_frame_score=-40))
    assert [e.id for e in report.entries] == ["good", "seven", "french"]
    assert report.aligned == 2 and report.passed_through == ["french"]
    assert report.dropped == {"no path": ["wrong"], "not in dictionary": ["oov"], "no speech": ["beep"],
                              "number": ["number"], "no transcript": ["notext"], "unreadable audio": ["missing"]}
    assert report.failed == ["missing"]  # the one drop that makes hac-prepare-data align exit 1
    good, seven, french = report.entries
    assert good.text == " ".join(words) and [w.label for w in good.words] == words
    assert seven.text == "seven" and [p.label for p in seven.phones] == ["s", "ɛ", "v", "ə", "n"]
    assert french.phones == () and french.text == "elle vend du poisson"
    summary = report.summary()
    assert "2 aligned utterances" in summary and "1 passed through" in summary and "6 dropped" in summary

    # the same through the command line, with a transcript file; the written manifest reads back
    manifest = tmp_path / "in.jsonl"
    write_manifest(manifest, [entry(folder / "good.wav"), entry(folder / "seven.wav"), entry(folder / "beep.wav")])
    table = tmp_path / "said.txt"
    table.write_text(f"good: {' '.join(words)}\nwavs/seven: seven\n")
    out = tmp_path / "aligned.jsonl"
    assert main(["align", "--manifest", str(manifest), "--transcripts", str(table), "--out", str(out),
                 "--min-frame-score", "-40"]) == 0
    printed = capsys.readouterr().out
    assert "2 aligned utterances" in printed and "1 dropped (1 no transcript)" in printed
    aligned = read_manifest(out)
    assert [e.id for e in aligned] == ["good", "seven"] and all(e.phones and e.words for e in aligned)
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert rows[1]["phones"][0] == {"start": rows[1]["phones"][0]["start"], "end": rows[1]["phones"][0]["end"],
                                    "phone": "s"}
