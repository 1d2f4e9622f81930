"""Teacher features computed once per utterance, stored on disk, and sliced per training clip.

Running HuBERT or LaBSE at every step costs more than the student on a CPU; the targets of an utterance never
change, so :func:`precompute_teacher` runs the teacher on each whole utterance once and writes
``<directory>/<id>.safetensors`` (``features [T, D']`` in fp16, ``mask [T]``) plus ``teacher.json`` (dim, spec,
frame rate). The audio is read at the model's sample rate and cut into frames of its hop, as the trainer's clips
are. :class:`CachedTeacher` is then a :class:`Teacher` that reads only the rows of each clip
(``Batch.frame_offsets`` give the clip's first frame in its utterance), so it is exactly the teacher's output on
the whole utterance: context beyond the clip edges included, which a per-clip HuBERT would not see. It refuses a
cache made at another frame rate.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from collections.abc import Iterable
from pathlib import Path

import torch
from safetensors import safe_open
from safetensors.torch import save
from torch import Tensor

from ...atomic import atomic_write
from ...audio import load_mono
from ...manifest import ManifestEntry
from ..data.batch import Batch
from ..errors import TeacherError
from .base import Teacher, TeacherTargets

META_FILE = "teacher.json"


def cache_file(directory: Path, utterance_id: str) -> Path:
    """File of one utterance; ids with characters unsafe in file names get a hash suffix to stay unique."""
    safe = re.sub(r"[^A-Za-z0-9._-]", "_", utterance_id)
    if safe != utterance_id:
        safe = f"{safe}-{hashlib.sha1(utterance_id.encode()).hexdigest()[:10]}"
    return directory / f"{safe}.safetensors"


def _utterance_batch(entry: ManifestEntry, sample_rate: int, hop_length: int) -> Batch:
    """The whole utterance as a one-item batch, mono at ``sample_rate``, zero-padded to a whole number of frames."""
    audio = load_mono(entry.audio, sample_rate)[None]  # [1, S], read and checked as encode reads files
    audio = torch.nn.functional.pad(audio, (0, -audio.shape[-1] % hop_length))
    return Batch(
        audio=audio.unsqueeze(0),
        ids=[entry.id],
        frame_offsets=[0],
        words=[entry.words],
        phones=[entry.phones],
        languages=[entry.language],
        speakers=[entry.speaker],
    )


def write_targets(directory: Path, utterance_id: str, features: Tensor, mask: Tensor) -> Path:
    """Store one utterance's ``features [T, D']`` and ``mask [T]`` atomically."""
    path = cache_file(directory, utterance_id)
    tensors = {"features": features.detach().half().cpu().contiguous(), "mask": mask.bool().cpu().contiguous()}
    with atomic_write(path) as f:
        f.write(save(tensors))
    return path


def precompute_teacher(
    teacher: Teacher,
    entries: Iterable[ManifestEntry],
    directory: str | os.PathLike,
    spec: dict | None = None,
    *,
    sample_rate: int,
    hop_length: int,
) -> int:
    """Run ``teacher`` on every utterance not cached yet; returns how many were computed.

    ``sample_rate`` and ``hop_length`` are the model's (``HACConfig``): the rate the teacher hears and the frames
    its targets are on. ``spec`` (the teacher's config) is recorded in ``teacher.json``; a directory made for
    another teacher (different dim, spec or frame rate) is refused rather than mixed.
    """
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    meta = {"dim": int(teacher.dim), "spec": spec or {}, "frame_rate": sample_rate / hop_length}
    meta_path = directory / META_FILE
    if meta_path.is_file() and json.loads(meta_path.read_text()) != meta:
        raise TeacherError(f"{directory} caches another teacher ({meta_path.read_text()}); use a new directory.")
    with atomic_write(meta_path, "w") as f:
        f.write(json.dumps(meta, indent=2))
    computed = 0
    for entry in entries:
        if cache_file(directory, entry.id).is_file():
            continue
        batch = _utterance_batch(entry, sample_rate, hop_length)
        targets = teacher(batch, batch.audio.shape[-1] // hop_length)
        write_targets(directory, entry.id, targets.features[0], targets.mask[0])
        computed += 1
    return computed


class CachedTeacher:
    """Reads precomputed targets: ``features [B, T, D']`` of each clip's frames; frames past the end are masked.

    ``frame_rate`` is the model's; a cache computed at another one is refused.
    """

    def __init__(self, directory: str | os.PathLike, frame_rate: float) -> None:
        self.directory = Path(directory)
        meta_path = self.directory / META_FILE
        if not meta_path.is_file():
            raise TeacherError(
                f"{self.directory} is not a teacher cache (no {META_FILE}); run precompute_teacher first."
            )
        meta = json.loads(meta_path.read_text())
        if meta.get("frame_rate") != frame_rate:
            raise TeacherError(
                f"{self.directory} holds targets at {meta.get('frame_rate')} frames/s, but the model makes "
                f"{frame_rate:g}; precompute the cache again with this model (--model or --config)."
            )
        self.dim = int(meta["dim"])

    def _clip(self, utterance_id: str, offset: int, num_frames: int) -> tuple[Tensor, Tensor]:
        path = cache_file(self.directory, utterance_id)
        if not path.is_file():
            raise TeacherError(
                f"no cached teacher features for utterance {utterance_id!r} in {self.directory}; "
                "precompute every manifest the trainer reads."
            )
        features = torch.zeros(num_frames, self.dim)
        mask = torch.zeros(num_frames, dtype=torch.bool)
        with safe_open(str(path), framework="pt") as f:
            rows = f.get_slice("features")[offset : offset + num_frames]  # reads only the clip's rows
            valid = f.get_slice("mask")[offset : offset + num_frames]
        features[: rows.shape[0]] = rows.float()
        mask[: valid.shape[0]] = valid
        return features, mask

    def __call__(self, batch: Batch, num_frames: int) -> TeacherTargets:
        clips = [self._clip(i, offset, num_frames) for i, offset in zip(batch.ids, batch.frame_offsets)]
        device = batch.audio.device
        return TeacherTargets(
            torch.stack([c[0] for c in clips]).to(device), torch.stack([c[1] for c in clips]).to(device)
        )
