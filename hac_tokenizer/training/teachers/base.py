"""The one interface every KD teacher has, and the helpers teachers share.

A teacher turns a training :class:`Batch` into frame-level targets at the model's frame rate (``HACConfig.frame_rate``):
``features [B, T, D']`` plus ``mask [B, T]`` marking the frames that have a target (a word-level teacher has none
in the silence between words). The :class:`~hac_tokenizer.training.distill.Distiller` consumes both.

Teachers that hold a network are ``nn.Module``s (frozen, in eval mode): move them with ``.to(device)``; they read
``batch.audio`` (at the model's sample rate) on their own device and return targets there.
``factory.build_teacher`` maps a config dict and the model's sample rate and hop to a teacher.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

import torch
from torch import Tensor, nn

from ...manifest import Interval, frame_labels
from ..data.batch import Batch


@dataclass
class TeacherTargets:
    features: Tensor  # [B, T, D'] teacher features at the model's frame rate
    mask: Tensor  # [B, T] bool, frames that have a target


@runtime_checkable
class Teacher(Protocol):
    dim: int  # D', the size of a target vector

    def __call__(self, batch: Batch, num_frames: int) -> TeacherTargets: ...


def centre_on_clips(targets: TeacherTargets) -> TeacherTargets:
    """Each item's features minus their mean over its valid frames; frames without a target stay zero.

    The D-axis KD loss compares each feature column over time by cosine, so a column with a large mean (a direction
    every target shares) is matched well by a student that outputs a constant. Sentence encoders' word vectors are
    like that (all-MiniLM-L6-v2: mean pairwise cosine 0.25 between words; MODEL_CARD gives what it did to the
    bundled run). Centred, a constant scores cosine 0 (loss log 2): only how the targets change over the clip counts.
    """
    weights = targets.mask.unsqueeze(-1).to(targets.features.dtype)  # [B, T, 1]
    mean = (targets.features * weights).sum(dim=1, keepdim=True) / weights.sum(dim=1, keepdim=True).clamp(min=1)
    return TeacherTargets((targets.features - mean) * weights, targets.mask)


class ClipCentredTeacher(nn.Module):
    """Wraps a teacher: its targets centred on each clip's mean (:func:`centre_on_clips`). Spec ``centre: true``."""

    def __init__(self, teacher: Teacher) -> None:
        super().__init__()
        self.teacher = teacher  # a submodule when it is one: `.to(device)` and eval mode reach it
        self.dim = teacher.dim

    def forward(self, batch: Batch, num_frames: int) -> TeacherTargets:
        return centre_on_clips(self.teacher(batch, num_frames))


def key_generator(key: str) -> torch.Generator:
    """A CPU generator seeded by ``key``'s SHA-256: fixed codes for labels, the same in every process and machine."""
    return torch.Generator().manual_seed(int.from_bytes(hashlib.sha256(key.encode("utf-8")).digest()[:8], "little"))


def broadcast_intervals(
    intervals: Sequence[Sequence[Interval]],
    vectors: Callable[[str], Tensor | None],
    num_frames: int,
    dim: int,
    frame_rate: float,
    device: torch.device,
) -> TeacherTargets:
    """Each interval's vector copied onto the frames (``frame_rate`` per second) whose centre it covers.

    ``intervals`` holds one sequence per batch item (times relative to the clip); ``vectors(label)`` gives the
    ``[D']`` vector of a label, or None for a label without one (silence markers, unknown phones), whose frames
    stay masked out. The targets are filled in on the CPU, frame by frame, and moved to ``device`` (the batch's)
    in one copy each.
    """
    features = torch.zeros(len(intervals), num_frames, dim)
    mask = torch.zeros(len(intervals), num_frames, dtype=torch.bool)
    for b, item in enumerate(intervals):
        for t, label in enumerate(frame_labels(item, num_frames, frame_rate)):
            vector = None if label is None else vectors(label)
            if vector is not None:
                features[b, t] = vector
                mask[b, t] = True
    return TeacherTargets(features.to(device), mask.to(device))


SILENCE_LABELS = frozenset({"", "sil", "sp", "spn", "<eps>", "<sil>", "<unk>", "SIL", "SPN"})
"""Markers aligners (MFA, Kaldi) put on non-speech; they get no target (panphon would read "sil" as s-i-l)."""
