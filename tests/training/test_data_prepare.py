"""Preparers on tiny fake LibriSpeech, MLS and VoxPopuli trees with real audio files and MFA TextGrids."""

from __future__ import annotations

from pathlib import Path

import pytest
from corpus_fixtures import write_alignment, write_audio

from hac_tokenizer.manifest import read_manifest
from hac_tokenizer.training.data.cli import main
from hac_tokenizer.training.data.prepare import mls_language, prepare_librispeech, prepare_mls, prepare_voxpopuli
from hac_tokenizer.training.errors import DataError


def librispeech_tree(root: Path, alignments: Path) -> None:
    for subset, speaker, chapter, utts in [("train-clean-100", "103", "1240", 3), ("dev-clean", "84", "121123", 1)]:
        folder = root / subset / speaker / chapter
        lines = []
        for k in range(utts):
            utt_id = f"{speaker}-{chapter}-{k:04d}"
            write_audio(folder / f"{utt_id}.flac", 1.0 + k * 0.5)
            lines.append(f"{utt_id} HELLO WORLD NUMBER {k}")
            if utt_id != "103-1240-0002":  # MFA failed on this one
                write_alignment(alignments / speaker, utt_id, ["hello", "world", "number", str(k)], 1.0 + k * 0.5)
        (folder / f"{speaker}-{chapter}.trans.txt").write_text("\n".join(lines) + "\n")


def test_librispeech(tmp_path):
    librispeech_tree(tmp_path / "LibriSpeech", tmp_path / "mfa")
    corpus = prepare_librispeech(tmp_path / "LibriSpeech", tmp_path / "mfa")
    assert [e.id for e in corpus.entries] == ["84-121123-0000", "103-1240-0000", "103-1240-0001"]
    assert corpus.missing_alignment == ["103-1240-0002"]
    first = corpus.entries[1]
    assert first.split == "train-clean-100" and first.speaker == "librispeech-103" and first.language == "en"
    assert first.text == "HELLO WORLD NUMBER 0" and first.duration == pytest.approx(1.0)
    assert [w.label for w in first.words] == ["hello", "world", "number", "0"]
    assert [p.label for p in first.phones] == ["h", "w", "n", "0"]
    unaligned = prepare_librispeech(tmp_path / "LibriSpeech", subsets=["train-clean-100"])
    assert len(unaligned.entries) == 3 and all(not e.words for e in unaligned.entries)


def test_mls(tmp_path):
    root = tmp_path / "mls_german_opus"
    for split, ids in [("train", ["1234_567_000001", "1234_567_000002"]), ("dev", ["99_8_000003"])]:
        for utt_id in ids:
            speaker, book, _ = utt_id.split("_")
            suffix = ".opus" if utt_id.endswith("2") else ".flac"
            write_audio(root / split / "audio" / speaker / book / f"{utt_id}{suffix}", 0.8,
                        **({"format": "OGG", "subtype": "VORBIS"} if suffix == ".opus" else {}))
            write_alignment(tmp_path / "mfa" / speaker, utt_id, ["guten", "tag"], 0.8)
        (root / split / "transcripts.txt").write_text("".join(f"{i}\tguten tag\n" for i in ids))
    corpus = prepare_mls(root, tmp_path / "mfa", splits=["train", "dev"])
    assert mls_language(root) == "de"
    assert [(e.id, e.split, e.speaker) for e in corpus.entries] == [
        ("1234_567_000001", "train", "mls-de-1234"), ("1234_567_000002", "train", "mls-de-1234"),
        ("99_8_000003", "valid", "mls-de-99")]
    assert corpus.entries[1].audio.suffix == ".opus"
    assert all(e.language == "de" and len(e.words) == 2 for e in corpus.entries)
    with pytest.raises(DataError, match="transcripts not found"):
        prepare_mls(root, splits=["test"])


def test_voxpopuli(tmp_path):
    folder = tmp_path / "vp" / "transcribed_data" / "fr"
    header = "id\traw_text\tnormalized_text\tspeaker_id\tsplit\tgender\n"
    rows = {"train": ["20180111-0900-PLENARY-3-fr_20180111-09:10:01_4\tBonjour!\tbonjour\t28217\ttrain\tmale"],
            "test": ["20190415-0900-PLENARY-1-fr_20190415-09:00:00_1\tMerci.\tmerci\t1001\ttest\tfemale",
                     "20190415-0900-PLENARY-1-fr_20190415-09:00:00_2\tAbsent.\tabsent\t1001\ttest\tfemale"]}
    for split, lines in rows.items():
        folder.mkdir(parents=True, exist_ok=True)
        (folder / f"asr_{split}.tsv").write_text(header + "\n".join(lines) + "\n")
        for line in lines[:1]:  # the second test utterance has no audio
            utt_id = line.split("\t")[0]
            write_audio(folder / utt_id[:4] / f"{utt_id}.ogg", 0.6, format="OGG", subtype="VORBIS")
    corpus = prepare_voxpopuli(tmp_path / "vp", "fr", splits=["train", "test"])
    assert [(e.text, e.speaker, e.split) for e in corpus.entries] == [
        ("bonjour", "voxpopuli-28217", "train"), ("merci", "voxpopuli-1001", "test")]
    assert len(corpus.missing_audio) == 1
    assert prepare_voxpopuli(folder, "fr", splits=["train"]).entries[0].duration == pytest.approx(0.6)


def test_cli_writes_a_readable_manifest(tmp_path, capsys):
    librispeech_tree(tmp_path / "LibriSpeech", tmp_path / "mfa")
    out = tmp_path / "manifests" / "ls.jsonl"
    assert main(["librispeech", "--root", str(tmp_path / "LibriSpeech"), "--alignments", str(tmp_path / "mfa"),
                 "--out", str(out)]) == 0
    assert "3 utterances" in capsys.readouterr().out
    entries = read_manifest(out, split="dev-clean")
    assert len(entries) == 1 and entries[0].audio.is_file() and entries[0].words[0].label == "hello"
    assert main(["mls", "--root", str(tmp_path / "nothing"), "--out", str(out)]) == 2  # an input error, as hac-train's
    assert "cannot tell the language" in capsys.readouterr().err


def test_cli_exits_1_listing_items_whose_audio_is_missing_or_unreadable(tmp_path, capsys):
    root = tmp_path / "LibriSpeech"
    librispeech_tree(root, tmp_path / "mfa")
    (root / "train-clean-100" / "103" / "1240" / "103-1240-0001.flac").unlink()
    (root / "dev-clean" / "84" / "121123" / "84-121123-0000.flac").write_bytes(b"fLaC but cut short")
    out = tmp_path / "ls.jsonl"
    assert main(["librispeech", "--root", str(root), "--alignments", str(tmp_path / "mfa"), "--out", str(out)]) == 1
    printed = capsys.readouterr()
    assert "1 utterances" in printed.out and "1 without audio, 1 unreadable, 1 without a TextGrid" in printed.out
    assert "2 items failed" in printed.err
    assert "103-1240-0001" in printed.err and "84-121123-0000" in printed.err
    assert "103-1240-0002" not in printed.err  # no TextGrid: MFA's verdict, counted but not a failure
    assert [e.id for e in read_manifest(out)] == ["103-1240-0000"]  # the rest is written
    with pytest.raises(SystemExit) as usage:
        main(["librispeech", "--out", str(out)])  # --root missing: argparse's usage error
    assert usage.value.code == 2


def test_recordings_one_folder_per_language(tmp_path, capsys):
    root = tmp_path / "sounds"
    write_audio(root / "en" / "pizzeria_onion.ogg", 0.8, rate=44100, format="OGG")
    write_audio(root / "en" / "moon" / "rocket.wav", 0.5)
    write_audio(root / "fr" / "lune.flac", 0.6, rate=22050)
    (root / "fr" / "README").write_text("not audio")
    out = tmp_path / "real.jsonl"
    assert main(["recordings", "--root", str(root), "--languages", "en", "fr", "--out", str(out)]) == 0
    assert "3 utterances" in capsys.readouterr().out
    entries = {e.id: e for e in read_manifest(out)}
    assert sorted(entries) == ["sounds-en-moon-rocket", "sounds-en-pizzeria_onion", "sounds-fr-lune"]
    onion = entries["sounds-en-pizzeria_onion"]
    assert (onion.language, onion.speaker, onion.text, onion.split) == ("en", "sounds-en", "pizzeria onion", "test")
    assert onion.sample_rate == 44100 and onion.duration == pytest.approx(0.8, abs=1e-3) and not onion.words
    assert main(["recordings", "--root", str(root), "--languages", "de", "--out", str(out)]) == 2
    assert "one folder per language" in capsys.readouterr().err
