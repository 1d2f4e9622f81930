"""The periodic evaluation hook: losses and codebook usage on held-out clips.

It runs on the unwrapped generator (no DDP traffic), without gradients, inside :class:`preserved_rng`,
and reads a fresh loader seeded like the training one: the same clips at every evaluation, and a run that
evaluates follows exactly the trajectory of one that does not.
"""

from __future__ import annotations

from itertools import islice
from typing import TYPE_CHECKING

import torch

from .data.loader import ClipLoader
from .state import preserved_rng

if TYPE_CHECKING:
    from .trainer import Trainer


@torch.no_grad()
def validate(trainer: Trainer, loader: ClipLoader, num_batches: int) -> dict[str, float]:
    """Mean mel/commitment/KD losses over ``num_batches`` batches, and the fraction of each codebook used."""
    student = trainer.student
    config = student.model.config
    sums: dict[str, float] = {}
    used: dict[str, torch.Tensor] = {}
    student.eval()
    with preserved_rng():
        for batch in islice(iter(loader), num_batches):
            audio = batch.audio.to(trainer.runtime.device)
            targets = trainer.teacher_targets(batch, audio.shape[-1] // config.hop_length)
            with trainer.runtime.autocast():
                out = student(audio, targets)
            values = {
                "mel": trainer.mel_loss(out.hac.audio.float(), audio),
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
