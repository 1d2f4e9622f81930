"""hac-prepare-data from-lhotse: a CutSet with supervisions and alignments -> a training manifest."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from signals import chirp

from hac_tokenizer.manifest import Interval, read_manifest
from hac_tokenizer.training.data.cli import main

lhotse = pytest.importorskip("lhotse")
AlignmentItem = lhotse.supervision.AlignmentItem


def write_cuts(root: Path) -> tuple[Path, np.ndarray]:
    """A 2 s recording cut to its two supervisions (recording-time alignments), and a whole 0.5 s recording."""
    samples = (chirp(32000, seed=1).numpy() * 2**15 * 0.9).astype(np.int16)
    sf.write(root / "long.wav", samples, 16000, subtype="PCM_16")
    sf.write(root / "short.flac", samples[:8000], 16000, subtype="PCM_16")
    long = lhotse.Recording.from_file(root / "long.wav")
    words = {"s1": [("hello", 0.5, 0.4), ("world", 0.9, 0.7)], "s2": [("again", 1.7, 0.2)]}
    supervisions = [
        lhotse.SupervisionSegment(
            id=sid,
            recording_id=long.id,
            start=start,
            duration=duration,
            text=" ".join(w for w, _, _ in words[sid]),
            language="en",
            speaker="spk1",
            alignment={"word": [AlignmentItem(*w) for w in words[sid]], "phone": [AlignmentItem("h", start, 0.1)]},
        )
        for sid, start, duration in (("s1", 0.5, 1.0), ("s2", 1.7, 0.2))
    ]
    cuts = lhotse.CutSet.from_manifests(
        recordings=lhotse.RecordingSet.from_recordings([long]),
        supervisions=lhotse.SupervisionSet.from_segments(supervisions),
    ).trim_to_supervisions()
    whole = lhotse.Recording.from_file(root / "short.flac").to_cut().with_id("whole")
    lhotse.CutSet.from_cuts([*cuts, whole]).to_file(root / "cuts.jsonl.gz")
    return root / "cuts.jsonl.gz", samples


def test_cuts_become_entries_in_cut_time(tmp_path: Path, capsys) -> None:
    cuts, samples = write_cuts(tmp_path)
    out = tmp_path / "data" / "lhotse.jsonl"
    assert main(["from-lhotse", str(cuts), "--out", str(out), "--split", "train"]) == 0
    assert "3 utterances" in capsys.readouterr().out
    entries = {e.id: e for e in read_manifest(out)}
    assert sorted(entries) == ["s1", "s2", "whole"]
    first = entries["s1"]
    assert (first.duration, first.text, first.language, first.speaker, first.split) == (
        1.0,
        "hello world",
        "en",
        "spk1",
        "train",
    )
    # alignment items are in recording time; the cut starts 0.5 s in, and "world" runs past its end (1.5 s)
    assert first.words == (Interval(0.0, 0.4, "hello"), Interval(0.4, 1.0, "world"))
    assert first.phones == (Interval(0.0, 0.1, "h"),)
    assert entries["s2"].words == (Interval(0.0, 0.2, "again"),)
    written, rate = sf.read(first.audio, dtype="int16")
    assert rate == 16000 and np.array_equal(written, samples[8000:24000])  # the cut's stretch, as lhotse loads it
    assert first.audio.parent == out.parent / "lhotse_audio"
    whole = entries["whole"]
    assert whole.audio == (tmp_path / "short.flac").resolve() and whole.words == () and whole.text is None
    assert (whole.language, whole.speaker) == ("und", "unknown")


def test_a_cut_whose_audio_is_gone_is_listed_and_left_out(tmp_path: Path, capsys) -> None:
    cuts, _ = write_cuts(tmp_path)
    (tmp_path / "long.wav").unlink()
    out = tmp_path / "m.jsonl"
    assert main(["from-lhotse", str(cuts), "--out", str(out), "--language", "fr"]) == 1
    assert "s1" in capsys.readouterr().err
    assert [(e.id, e.language) for e in read_manifest(out)] == [("whole", "fr")]
    assert main(["from-lhotse", str(tmp_path / "missing.jsonl.gz"), "--out", str(out)]) == 2
    assert "Lhotse manifest not found" in capsys.readouterr().err
