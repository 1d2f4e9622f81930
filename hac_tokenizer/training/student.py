"""The trained generator: a :class:`HACModel` and the KD projection of each distilled stream.

They form one module so that one ``DistributedDataParallel`` wrapper synchronises all of the
generator's gradients, the projections ``A_p`` / ``A_l`` included, after a single forward pass.
"""

from __future__ import annotations

from dataclasses import dataclass

from torch import Tensor, nn

from ..model import HACModel, HACOutput
from .cycle import content_cycle_loss
from .distill import Distiller
from .teachers.base import TeacherTargets


@dataclass
class StudentOutput:
    hac: HACOutput  # ``hac.audio`` is None when the pass did not decode
    kd: dict[str, Tensor]  # per distilled stream: scalar D-axis KD loss
    cycle: Tensor | None = None  # scalar content cycle loss (training.cycle); None when not asked for


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
        cycle_mask: Tensor | None = None,
    ) -> StudentOutput:
        """``audio [B, 1, S]`` and teacher targets per stream -> reconstruction, quantizer outputs, KD losses.

        ``decode=False`` (the content-first stage) stops at the quantizers: ``hac.audio`` is None.
        ``cycle_mask [B, 1, T]``, the valid frames, asks for the content cycle loss as well (needs ``decode``); it
        is computed here, in the one forward pass that DDP wraps, because it runs the model's decoder and encoder again.
        """
        out = self.model(audio) if decode else HACOutput(None, *self.model.quantize(audio))
        kd = {
            name: distiller(out.quantized[name].quantized, targets[name].features, targets[name].mask)
            for name, distiller in self.distillers.items()
        }
        cycle = None if cycle_mask is None else content_cycle_loss(self.model, out.quantized, cycle_mask)
        return StudentOutput(out, kd, cycle)
