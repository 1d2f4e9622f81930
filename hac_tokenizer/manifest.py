"""JSONL manifests of aligned speech, shared by training and evaluation.

One JSON object per line::

    {"id": "en_000001", "audio": "wavs/en_000001.wav", "duration": 3.21, "sample_rate": 16000,
     "language": "en", "speaker": "en-us+m3", "text": "the cat sat", "split": "train",
     "words":  [{"start": 0.12, "end": 0.41, "word": "the"}, ...],
     "phones": [{"start": 0.12, "end": 0.19, "phone": "ð"}, ...]}

``audio`` is relative to the manifest's directory (or absolute); times are seconds; phones are IPA.
``split``, ``words``, ``phones`` and ``text`` are optional (``[]`` / ``None`` when absent).
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from .atomic import atomic_write
from .errors import ManifestError


@dataclass(frozen=True)
class Interval:
    start: float  # seconds
    end: float
    label: str


@dataclass(frozen=True)
class ManifestEntry:
    id: str
    audio: Path
    duration: float
    language: str
    speaker: str
    sample_rate: int = 16000
    text: str | None = None
    split: str | None = None
    words: tuple[Interval, ...] = field(default_factory=tuple)
    phones: tuple[Interval, ...] = field(default_factory=tuple)

    def to_json(self, root: Path | None = None) -> dict:
        audio = self.audio
        if root is not None:
            # A relative path means relative to the working directory here, but to the manifest's
            # directory once written: resolve it first, or it would be joined twice on reading.
            try:
                audio = audio.resolve().relative_to(root.resolve())
            except ValueError:
                audio = audio.resolve()
        row = {
            "id": self.id,
            "audio": str(audio),
            "duration": round(self.duration, 6),
            "sample_rate": self.sample_rate,
            "language": self.language,
            "speaker": self.speaker,
            "text": self.text,
            "split": self.split,
            "words": [{"start": w.start, "end": w.end, "word": w.label} for w in self.words],
            "phones": [{"start": p.start, "end": p.end, "phone": p.label} for p in self.phones],
        }
        return row


def _intervals(rows: object, key: str, where: str) -> tuple[Interval, ...]:
    if rows is None:
        return ()
    if not isinstance(rows, list):
        raise ManifestError(f"{where}: {key}s must be a list of objects")
    try:
        return tuple(Interval(float(r["start"]), float(r["end"]), str(r[key])) for r in rows)
    except (KeyError, TypeError, ValueError) as err:
        raise ManifestError(f"{where}: each {key} needs start, end and {key} ({err})") from err


def parse_entry(row: dict, root: Path, where: str) -> ManifestEntry:
    try:
        audio = Path(row["audio"])
        return ManifestEntry(
            id=str(row["id"]),
            audio=audio if audio.is_absolute() else root / audio,
            duration=float(row["duration"]),
            language=str(row.get("language", "und")),
            speaker=str(row.get("speaker", "unknown")),
            sample_rate=int(row.get("sample_rate", 16000)),
            text=row.get("text"),
            split=row.get("split"),
            words=_intervals(row.get("words"), "word", where),
            phones=_intervals(row.get("phones"), "phone", where),
        )
    except (KeyError, TypeError, ValueError) as err:
        raise ManifestError(f"{where}: needs id, audio and duration ({err!r})") from err


def read_manifest(path: str | os.PathLike, split: str | None = None) -> list[ManifestEntry]:
    """All entries of a JSONL manifest (optionally one split), audio paths made absolute."""
    path = Path(path)
    if not path.is_file():
        raise ManifestError(f"manifest not found: {path}")
    entries = []
    with path.open() as f:
        for number, line in enumerate(f, 1):
            if not line.strip():
                continue
            where = f"{path}:{number}"
            try:
                row = json.loads(line)
            except json.JSONDecodeError as err:
                raise ManifestError(f"{where}: not valid JSON ({err})") from err
            entry = parse_entry(row, path.parent, where)
            if split is None or entry.split == split:
                entries.append(entry)
    return entries


def write_manifest(path: str | os.PathLike, entries: Iterable[ManifestEntry]) -> Path:
    """Write entries as JSONL (audio paths relative to the manifest's directory), atomically."""
    path = Path(path)
    with atomic_write(path, "w") as f:
        for entry in entries:
            f.write(json.dumps(entry.to_json(path.parent.resolve()), ensure_ascii=False) + "\n")
    return path


def frame_labels(
    intervals: Sequence[Interval], num_frames: int, frame_rate: float, offset: float = 0.0
) -> list[str | None]:
    """Label of each frame (by its centre time, ``offset`` seconds into the audio); None between intervals."""
    labels: list[str | None] = [None] * num_frames
    for interval in intervals:
        # frame t covers centre time (t + 0.5) / frame_rate; it belongs to [start, end) if its centre does
        first = max(0, math.ceil((interval.start - offset) * frame_rate - 0.5))
        last = min(num_frames, math.ceil((interval.end - offset) * frame_rate - 0.5))
        for t in range(first, last):
            labels[t] = interval.label
    return labels
