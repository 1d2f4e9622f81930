"""The D-axis KD loss: its value on known inputs, the axis it compares along, masking, and its gradient."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F
from einops import rearrange

from hac_tokenizer.training.distill import Distiller, d_axis_kd_loss, masked_column_cosine
from hac_tokenizer.training.errors import DistillationError


def _identity_distiller(dim: int) -> Distiller:
    distiller = Distiller(dim, dim)
    with torch.no_grad():
        distiller.projection.weight.copy_(torch.eye(dim))
    return distiller


def test_identical_inputs_give_minus_log_sigmoid_one():
    target = torch.randn(3, 20, 6)
    z_q = rearrange(target, "b t d -> b d t")
    loss = _identity_distiller(6)(z_q, target, torch.ones(3, 20, dtype=torch.bool))
    assert loss.item() == pytest.approx(-math.log(1 / (1 + math.exp(-1))), rel=1e-6)


def test_cosine_is_taken_along_time_for_each_feature_column():
    student, teacher = torch.randn(2, 15, 4), torch.randn(2, 15, 4)
    expected = F.cosine_similarity(student, teacher, dim=1)  # [B, D']: over T, per column
    torch.testing.assert_close(masked_column_cosine(student, teacher, torch.ones(2, 15, dtype=torch.bool)), expected)


def test_loss_compares_columns_not_frames():
    # every student frame points exactly the teacher's way (per-frame cosine 1), but the student's columns
    # spike on the last frame while the teacher's are flat: the D-axis loss sees the mismatch
    teacher = torch.ones(1, 8, 3)
    student = teacher * torch.tensor([0.1] * 7 + [3.0]).reshape(1, 8, 1)
    mask = torch.ones(1, 8, dtype=torch.bool)
    assert (F.cosine_similarity(student, teacher, dim=-1) > 0.999).all()
    assert d_axis_kd_loss(student, teacher, mask) > d_axis_kd_loss(teacher, teacher, mask) + 0.15


def test_loss_is_invariant_to_a_positive_scale_of_a_teacher_column():
    student, teacher = torch.randn(2, 10, 5), torch.randn(2, 10, 5)
    mask = torch.ones(2, 10, dtype=torch.bool)
    scaled = teacher * torch.tensor([1.0, 10.0, 0.1, 3.0, 7.0])
    torch.testing.assert_close(d_axis_kd_loss(student, teacher, mask), d_axis_kd_loss(student, scaled, mask))


def test_masked_frames_do_not_count():
    student, teacher = torch.randn(2, 12, 4), torch.randn(2, 12, 4)
    mask = torch.ones(2, 12, dtype=torch.bool)
    mask[:, 8:] = False
    changed = teacher.clone()
    changed[:, 8:] = 100 * torch.randn(2, 4, 4)
    torch.testing.assert_close(d_axis_kd_loss(student, teacher, mask), d_axis_kd_loss(student, changed, mask))
    torch.testing.assert_close(
        d_axis_kd_loss(student, teacher, mask), d_axis_kd_loss(student[:, :8], teacher[:, :8], mask[:, :8])
    )


def test_items_without_targets_are_left_out_and_an_empty_batch_gives_zero():
    student, teacher = torch.randn(2, 6, 3, requires_grad=True), torch.randn(2, 6, 3)
    mask = torch.zeros(2, 6, dtype=torch.bool)
    mask[0] = True
    torch.testing.assert_close(d_axis_kd_loss(student, teacher, mask), d_axis_kd_loss(student[:1], teacher[:1], mask[:1]))
    empty = d_axis_kd_loss(student, teacher, torch.zeros(2, 6, dtype=torch.bool))
    assert empty.item() == 0.0
    empty.backward()  # still part of the graph


def test_gradient_steps_on_the_student_increase_agreement():
    torch.manual_seed(0)
    distiller = Distiller(student_dim=8, teacher_dim=5)
    z_q = torch.randn(2, 8, 30, requires_grad=True)
    target = torch.randn(2, 30, 5)
    mask = torch.ones(2, 30, dtype=torch.bool)

    def agreement() -> float:
        return masked_column_cosine(distiller.project(z_q), target, mask).mean().item()

    before_cos, before_loss = agreement(), distiller(z_q, target, mask).item()
    optimiser = torch.optim.SGD([z_q, *distiller.parameters()], lr=0.5)
    for _ in range(40):
        optimiser.zero_grad()
        distiller(z_q, target, mask).backward()
        optimiser.step()
    assert agreement() > before_cos + 0.2
    assert distiller(z_q, target, mask).item() < before_loss


def test_mismatched_shapes_are_typed_errors():
    distiller = Distiller(4, 3)
    mask = torch.ones(1, 5, dtype=torch.bool)
    with pytest.raises(DistillationError, match="teacher_dim"):
        distiller(torch.randn(1, 4, 5), torch.randn(1, 5, 7), mask)
    with pytest.raises(DistillationError, match="frames"):
        distiller(torch.randn(1, 4, 6), torch.randn(1, 5, 3), mask)
