"""benchmarks/intelligibility.py: word errors, which entries are scored, and the whole run on Piper speech."""

import importlib.util
import json
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from hac_tokenizer.manifest import ManifestEntry, write_manifest

ROOT = Path(__file__).resolve().parents[2]
spec = importlib.util.spec_from_file_location("intelligibility", ROOT / "benchmarks" / "intelligibility.py")
intelligibility = importlib.util.module_from_spec(spec)
sys.modules["intelligibility"] = intelligibility
spec.loader.exec_module(intelligibility)


@pytest.mark.parametrize(
    "reference,hypothesis,errors",
    [
        ("a b c", "a b c", 0),
        ("a b c", "a x c", 1),  # substitution
        ("a b c", "a c", 1),  # deletion
        ("a b c", "a b b c", 1),  # insertion
        ("a b c", "", 3),
        ("", "a b", 2),
        ("the cat sat", "cat sat on", 2),  # one deletion, one insertion: cheaper than three substitutions
    ],
)
def test_word_errors_are_the_edit_distance(reference, hypothesis, errors):
    assert intelligibility.word_errors(reference.split(), hypothesis.split()) == errors


def _entry(i: int, language: str = "en", text: str | None = "hello there") -> ManifestEntry:
    return ManifestEntry(id=f"u{i}", audio=Path(f"u{i}.wav"), duration=1.0, language=language, speaker="s", text=text)


def test_only_english_entries_with_a_readable_transcript_are_scored():
    entries = [_entry(0, text="Press 1, then #."), _entry(1, "fr"), _entry(2, text=None), _entry(3, text="Room 42.")]
    scored, left_out = intelligibility.references(entries)
    assert [(e.id, words) for e, words in scored] == [("u0", ["press", "one", "then", "pound"])]
    assert left_out == {"not English": 1, "no transcript": 1, "multi-digit number": 1}


@pytest.fixture(scope="module")
def piper_manifest(tmp_path_factory):
    """Three English sentences read by the Piper voice (PocketSphinx recognises them nearly word for word)."""
    piper = pytest.importorskip("hac_tokenizer.training.data.piper")
    pytest.importorskip("pocketsphinx")
    soxr = pytest.importorskip("soxr")
    if not piper.piper_available():
        pytest.skip("the Piper voice package is not installed")
    from hac_tokenizer.training.data.espeak import VoiceSettings

    root = tmp_path_factory.mktemp("piper")
    synthesizer = piper.PiperSynthesizer()
    sentences = ["please enter your password", "good morning everybody", "the number you have dialed is not in service"]
    entries = []
    for i, text in enumerate(sentences):
        speech = synthesizer.synthesize(text.split(), VoiceSettings("joe", rate=150), seed=1)
        audio = soxr.resample(speech.audio, speech.sample_rate, 16000).astype(np.float32)
        silence = np.zeros(4800, np.float32)
        sf.write(root / f"s{i}.wav", np.concatenate([silence, audio, silence]), 16000)
        entries.append(
            ManifestEntry(f"s{i}", root / f"s{i}.wav", len(audio) / 16000 + 0.6, "en", "joe", text=text.capitalize())
        )
    entries.append(ManifestEntry("fr", root / "s0.wav", 1.0, "fr", "joe", text="bonjour"))
    return write_manifest(root / "piper.jsonl", entries)


@pytest.mark.slow
def test_a_run_scores_the_originals_and_every_decode(piper_manifest, tiny_tokenizer, tmp_path, capsys):
    model = tmp_path / "tiny"
    tiny_tokenizer.save_pretrained(model)
    out = tmp_path / "wer.json"
    voice = piper_manifest.parent / "s1.wav"
    intelligibility.main(["--manifest", str(piper_manifest), "--model", str(model), "--voices", str(voice), "--out", str(out)])
    figures = json.loads(out.read_text())
    assert figures["utterances"] == 3 and figures["left_out"]["not English"] == 1
    conditions = figures["conditions"]
    assert set(conditions) == {"original", "full", "lexical+phonetic", "converted"}
    assert all(c["words"] == 16 for c in conditions.values())
    # the recogniser reads the original speech (1 error in 16 words, "in service" -> "inserts"); a random tiny
    # model's decodes are noise, whose transcripts miss most words
    assert conditions["original"]["wer"] <= 0.2
    assert all(conditions[name]["wer"] >= 0.5 for name in ("full", "lexical+phonetic", "converted"))
    assert "| original |" in capsys.readouterr().out
