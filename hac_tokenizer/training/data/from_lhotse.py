"""Training manifests from Lhotse cuts (``hac-prepare-data from-lhotse cuts.jsonl.gz --out data/manifest.jsonl``).

One manifest entry per cut, id = cut id:

* ``audio``: the recording's own file when the cut is all of a one-channel recording stored in one file our
  reader takes (soundfile's formats); otherwise the cut's audio as lhotse loads it (``cut.load_audio()``: offset,
  duration, channel selection, transforms), channels averaged, written as a 16-bit PCM wav under ``audio_dir``:
  a manifest entry is a whole file (it has no offset field).
* ``text``: the supervisions' texts in time order, joined by spaces (None when no supervision has one);
  ``language``, ``speaker``: the first supervision's (``und`` / ``unknown`` without).
* ``words`` / ``phones``: the supervisions' ``alignment["word"]`` and ``alignment["phone"]`` items (``words`` /
  ``phones`` keys too). Lhotse keeps alignment times relative to the *recording* (lhotse PR #1193: ``with_offset``
  leaves them), while supervision times are relative to the cut; so items are moved by the cut's start, those
  outside the cut dropped and those across its ends clipped.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import torch

from ...audio import AUDIO_EXTENSIONS, downmix, save_audio
from ...manifest import Interval, ManifestEntry

ALIGNMENT_KINDS = {"word": ("word", "words"), "phone": ("phone", "phones")}  # manifest field -> lhotse keys


@dataclass
class LhotseConversion:
    """Entries made from cuts, how many had their audio written out, and the cuts whose audio failed."""

    entries: list[ManifestEntry] = field(default_factory=list)
    written: int = 0
    failed: list[str] = field(default_factory=list)

    def summary(self) -> str:
        hours = sum(e.duration for e in self.entries) / 3600
        aligned = sum(bool(e.words or e.phones) for e in self.entries)
        return (
            f"{len(self.entries)} utterances ({hours:.2f} h), {aligned} with alignments; {self.written} cut(s) "
            f"written as wav, the rest read in place; {len(self.failed)} failed"
        )


def entries_from_cuts(
    cuts: Iterable, audio_dir: str | os.PathLike, language: str | None = None, split: str | None = None
) -> LhotseConversion:
    """Manifest entries for Lhotse cuts (module docstring); ``language`` overrides the supervisions' language.

    A cut whose audio lhotse cannot load is listed in ``failed`` and left out.
    """
    result = LhotseConversion()
    for cut in cuts:
        audio = _whole_file(cut)
        if audio is None:
            try:
                samples = torch.from_numpy(cut.load_audio())  # [C, S] at cut.sampling_rate
            except Exception:  # noqa: BLE001 - lhotse's backends raise many types; each is one unusable cut
                result.failed.append(cut.id)
                continue
            audio = Path(audio_dir) / f"{cut.id.replace('/', '_')}.wav"
            save_audio(audio, downmix(samples.float())[0], int(cut.sampling_rate))
            result.written += 1
        result.entries.append(_entry(cut, audio, language, split))
    return result


def _whole_file(cut) -> Path | None:
    """The recording's file when the cut is all of it, one channel, one file we can read; else None."""
    recording = getattr(cut, "recording", None)
    if recording is None or len(recording.sources) != 1 or recording.transforms or recording.num_channels != 1:
        return None
    source = recording.sources[0]
    path = Path(source.source)
    whole = cut.start == 0 and abs(cut.duration - recording.duration) < 1 / recording.sampling_rate
    if source.type != "file" or not whole or path.suffix.lower() not in AUDIO_EXTENSIONS or not path.is_file():
        return None
    return path.resolve()


def _entry(cut, audio: Path, language: str | None, split: str | None) -> ManifestEntry:
    supervisions = sorted(cut.supervisions, key=lambda s: s.start)
    first = supervisions[0] if supervisions else None
    texts = [s.text for s in supervisions if s.text]
    return ManifestEntry(
        id=cut.id,
        audio=audio,
        duration=float(cut.duration),
        language=language or (first.language if first is not None and first.language else "und"),
        speaker=first.speaker if first is not None and first.speaker else "unknown",
        sample_rate=int(cut.sampling_rate),
        text=" ".join(texts) if texts else None,
        split=split,
        words=_intervals(cut, supervisions, "word"),
        phones=_intervals(cut, supervisions, "phone"),
    )


def _intervals(cut, supervisions: list, kind: str) -> tuple[Interval, ...]:
    """Alignment items of ``kind``, in cut time (seconds from the cut's start), sorted, inside the cut."""
    intervals = []
    for supervision in supervisions:
        alignment = supervision.alignment or {}
        items = next((alignment[key] for key in ALIGNMENT_KINDS[kind] if key in alignment), [])
        for item in items:
            start = max(0.0, item.start - cut.start)
            end = min(float(cut.duration), item.start + item.duration - cut.start)
            if end > start:
                intervals.append(Interval(round(start, 6), round(end, 6), item.symbol))
    return tuple(sorted(intervals, key=lambda i: (i.start, i.end)))
