"""HAC's knowledge-distillation loss along the feature ("D") axis (paper eq. 2; SpeechTokenizer sec. 3.2).

For a quantized stream ``Z_Q [T, D]`` and teacher features ``Z_teacher [T, D']``::

    Z~ = Z_Q A                                   (A: D x D' projection, no bias, as the paper writes it)
    L  = -1/D' sum_d log sigma(cos(Z~[:, d], Z_teacher[:, d]))

The cosine compares *columns*: for each teacher dimension ``d`` the T-vector of its values over time against
the T-vector of the student's projected dimension ``d``. The student must therefore make each projected
dimension rise and fall over time as the teacher's does; a per-frame (T-axis) cosine would only ask each frame to
point the right way. SpeechTokenizer's Appendix C found the D-axis version better at text alignment.

Here the cosine is taken per utterance over its valid frames only (``mask``): frames with no teacher target
(silence between aligned words, padding) count in neither the dot product nor the norms. The loss is the mean
over the items that have at least one valid frame and over ``d``.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from einops import rearrange
from torch import Tensor, nn

from .errors import DistillationError


def masked_column_cosine(student: Tensor, teacher: Tensor, mask: Tensor, eps: float = 1e-8) -> Tensor:
    """Cosine over time of each feature column, valid frames only: ``[B, T, D'] x2, [B, T] -> [B, D']``.

    A column that is zero on every valid frame (on either side) has cosine 0, not NaN.
    """
    weights = rearrange(mask.to(student.dtype), "b t -> b t 1")
    student = student * weights
    teacher = teacher.to(student.dtype) * weights
    dot = (student * teacher).sum(dim=1)
    norms = student.norm(dim=1) * teacher.norm(dim=1)
    return dot / norms.clamp(min=eps)


def d_axis_kd_loss(student: Tensor, teacher: Tensor, mask: Tensor) -> Tensor:
    """``-mean_d log sigmoid(cos(student[:, d], teacher[:, d]))`` per item, averaged over items with targets.

    ``student, teacher [B, T, D']``; ``mask [B, T]`` bool. Returns a scalar; 0 (with a graph) when no frame
    has a target, so a batch without alignments still trains the rest of the model.
    """
    if student.shape != teacher.shape or mask.shape != student.shape[:2]:
        raise DistillationError(
            f"KD loss needs student and teacher [B, T, D'] of one shape and mask [B, T]; got student "
            f"{tuple(student.shape)}, teacher {tuple(teacher.shape)}, mask {tuple(mask.shape)}."
        )
    per_dim = -F.logsigmoid(masked_column_cosine(student, teacher, mask))  # [B, D']
    has_target = mask.any(dim=1)  # [B]
    if not has_target.any():
        return student.sum() * 0.0
    return per_dim[has_target].mean()


class Distiller(nn.Module):
    """The projection ``A`` of one stream and its D-axis KD loss against a teacher."""

    def __init__(self, student_dim: int, teacher_dim: int) -> None:
        super().__init__()
        self.teacher_dim = teacher_dim
        self.projection = nn.Linear(student_dim, teacher_dim, bias=False)

    def project(self, z_q: Tensor) -> Tensor:
        """``z_q [B, D, T] -> Z~ [B, T, D']``."""
        return self.projection(rearrange(z_q, "b d t -> b t d").float())

    def forward(self, z_q: Tensor, target: Tensor, mask: Tensor) -> Tensor:
        """``z_q [B, D, T]`` quantized stream, ``target [B, T, D']`` teacher features, ``mask [B, T]`` -> scalar."""
        if target.shape[-1] != self.teacher_dim:
            raise DistillationError(
                f"teacher features have {target.shape[-1]} dims but this Distiller projects to {self.teacher_dim}; "
                "build it with teacher_dim=teacher.dim."
            )
        if target.shape[1] != z_q.shape[-1]:
            raise DistillationError(
                f"teacher gives {target.shape[1]} frames, the stream has {z_q.shape[-1]}; ask the teacher for "
                "num_frames equal to the model's frame count."
            )
        # fp32 under autocast too: a cosine over a few hundred frames loses most of its precision in bf16
        with torch.autocast(z_q.device.type, enabled=False):
            return d_axis_kd_loss(self.project(z_q), target.float(), mask.bool())
