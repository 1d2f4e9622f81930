"""The periodic evaluation hook: losses and codebook usage on held-out clips.

It runs on the unwrapped generator (no DDP traffic), without gradients, inside :class:`preserved_rng`,
and reads a fresh loader seeded like the training one: the same clips at every evaluation, and a run that
evaluates follows exactly the trajectory of one that does not.
"""

from __future__ import annotations

from collections.abc import Callable
from itertools import islice

import torch

from .data.batch import Batch
from .data.loader import ClipLoader
from .losses import MelLoss, level_loss
from .runtime import Runtime
from .state import preserved_rng
from .student import Student
from .teachers.base import TeacherTargets


@torch.no_grad()
def validate(
    student: Student,
    teacher_targets: Callable[[Batch, int], dict[str, TeacherTargets]],
    mel_loss: MelLoss,
    runtime: Runtime,
    loader: ClipLoader,
    num_batches: int,
) -> dict[str, float]:
    """Mean mel/level/commitment/KD losses over ``num_batches`` batches, and the fraction of each codebook used.

    ``teacher_targets(batch, num_frames)`` gives each distilled stream's targets (the trainer's teachers).
    """
    config = student.model.config
    sums: dict[str, float] = {}
    used: dict[str, torch.Tensor] = {}
    student.eval()
    with preserved_rng():
        for batch in islice(iter(loader), num_batches):
            audio = batch.audio.to(runtime.device)
            targets = teacher_targets(batch, audio.shape[-1] // config.hop_length)
            with runtime.autocast():
                out = student(audio, targets)
            values = {
                "mel": mel_loss(out.hac.audio.float(), audio),
                "level": level_loss(out.hac.audio, audio),
                "commitment": sum(q.commitment_loss for q in out.hac.quantized.values()),
                **{f"kd_{s}": v for s, v in out.kd.items()},
            }
            for name, value in values.items():
                sums[name] = sums.get(name, 0.0) + float(value) / num_batches
            for stream, q in out.hac.quantized.items():
                size = config.acoustic_codebook_size if stream == "acoustic" else getattr(config, stream).codebook_size
                hits = torch.bincount(q.codes.flatten().cpu(), minlength=size) > 0
                used[stream] = hits | used.get(stream, torch.zeros_like(hits))
    student.train()
    return sums | {f"usage_{stream}": hits.float().mean().item() for stream, hits in used.items()}
