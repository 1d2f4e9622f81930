"""The trained generator: a :class:`HACModel` and the KD projection of each distilled stream.

They form one module so that one ``DistributedDataParallel`` wrapper synchronises all of the
generator's gradients, the projections ``A_p`` / ``A_l`` included, after a single forward pass.
"""

from __future__ import annotations

from dataclasses import dataclass

from torch import Tensor, nn

from ..model import HACModel, HACOutput
from .distill import Distiller
from .teachers.base import TeacherTargets


@dataclass
class StudentOutput:
    hac: HACOutput  # ``hac.audio`` is None when the pass did not decode
    kd: dict[str, Tensor]  # per distilled stream: scalar D-axis KD loss


class Student(nn.Module):
    def __init__(self, model: HACModel, teacher_dims: dict[str, int]) -> None:
        super().__init__()
        self.model = model
        streams = model.streams()
        self.distillers = nn.ModuleDict(
            {name: Distiller(model.config.latent_dim, dim) for name, dim in teacher_dims.items() if name in streams}
        )

    def forward(self, audio: Tensor, targets: dict[str, TeacherTargets], decode: bool = True) -> StudentOutput:
        """``audio [B, 1, S]`` and teacher targets per stream -> reconstruction, quantizer outputs, KD losses.

        ``decode=False`` (the content-first stage) stops at the quantizers: ``hac.audio`` is None.
        """
        out = self.model(audio) if decode else HACOutput(None, *self.model.quantize(audio))
        kd = {
            name: distiller(out.quantized[name].quantized, targets[name].features, targets[name].mask)
            for name, distiller in self.distillers.items()
        }
        return StudentOutput(out, kd)
