"""The trained generator: a :class:`HACModel` and the KD projection of each distilled stream.

They form one module so that one ``DistributedDataParallel`` wrapper synchronises all of the
generator's gradients, the projections ``A_p`` / ``A_l`` included, after a single forward pass.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from torch import Tensor, nn

from ..model import HACModel, HACOutput
from .cycle import content_cycle_losses
from .distill import Distiller
from .teachers.base import TeacherTargets


@dataclass
class StudentOutput:
    hac: HACOutput  # ``hac.audio`` is None when the pass did not decode
    kd: dict[str, Tensor]  # per distilled stream: scalar D-axis KD loss
    cycles: dict[str, Tensor] = field(default_factory=dict)  # scalar per cycle asked for (training.cycle)


class Student(nn.Module):
    def __init__(self, model: HACModel, teacher_dims: dict[str, int]) -> None:
        super().__init__()
        self.model = model
        streams = model.streams()
        self.distillers = nn.ModuleDict(
            {name: Distiller(model.config.latent_dim, dim) for name, dim in teacher_dims.items() if name in streams}
        )

    def forward(
        self,
        audio: Tensor,
        targets: dict[str, TeacherTargets],
        decode: bool = True,
        frame_mask: Tensor | None = None,
        cycles: Sequence[str] = (),
    ) -> StudentOutput:
        """``audio [B, 1, S]`` and teacher targets per stream -> reconstruction, quantizer outputs, KD losses.

        ``decode=False`` (the content-first stage) stops at the quantizers: ``hac.audio`` is None.
        ``cycles`` (names from ``training.cycle.CYCLES``) asks for the cycle losses as well, over the valid frames
        ``frame_mask [B, 1, T]`` bool (None: all); they are computed here, in the one forward pass that DDP wraps,
        because they run the model's decoder and encoder again.
        """
        out = self.model(audio) if decode else HACOutput(None, *self.model.quantize(audio))
        kd = {
            name: distiller(out.quantized[name].quantized, targets[name].features, targets[name].mask)
            for name, distiller in self.distillers.items()
        }
        return StudentOutput(out, kd, content_cycle_losses(self.model, out.quantized, frame_mask, cycles))
