import json
from pathlib import Path

import pytest

from hac_tokenizer.errors import ManifestError
from hac_tokenizer.manifest import Interval, ManifestEntry, frame_labels, read_manifest, write_manifest


def entry(audio: Path) -> ManifestEntry:
    return ManifestEntry(
        id="u1", audio=audio, duration=1.0, language="en", speaker="s1", text="a b",
        words=(Interval(0.0, 0.5, "a"), Interval(0.5, 1.0, "b")), phones=(Interval(0.0, 0.1, "ə"),),
    )


@pytest.mark.parametrize("relative_to_cwd", [True, False])
def test_round_trip_keeps_audio_paths_valid(tmp_path, monkeypatch, relative_to_cwd):
    monkeypatch.chdir(tmp_path)
    wav = tmp_path / "corpus" / "wavs" / "u1.wav"
    audio = Path("corpus/wavs/u1.wav") if relative_to_cwd else wav
    write_manifest(tmp_path / "corpus" / "manifest.jsonl", [entry(audio)])
    row = json.loads((tmp_path / "corpus" / "manifest.jsonl").read_text())
    assert row["audio"] == "wavs/u1.wav"
    (loaded,) = read_manifest(tmp_path / "corpus" / "manifest.jsonl")
    assert loaded.audio == wav and loaded.words == entry(audio).words and loaded.phones[0].label == "ə"


def test_split_filter_and_errors(tmp_path):
    path = tmp_path / "m.jsonl"
    rows = [{"id": "a", "audio": "a.wav", "duration": 1, "split": "train"}, {"id": "b", "audio": "b.wav", "duration": 1, "split": "test"}]
    path.write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    assert [e.id for e in read_manifest(path, split="test")] == ["b"]
    path.write_text('{"id": "a"}\n')
    with pytest.raises(ManifestError, match="m.jsonl:1"):
        read_manifest(path)


def test_frame_labels_by_frame_centre():
    labels = frame_labels([Interval(0.0, 0.1, "a"), Interval(0.1, 0.13, "b")], 8, 50)
    assert labels == ["a"] * 5 + ["b", None, None]
    assert frame_labels([Interval(0.2, 0.3, "c")], 4, 50, offset=0.2) == ["c"] * 4
