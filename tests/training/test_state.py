"""Training state files: atomic writes, weights_only loading, RNG capture and restore."""

from __future__ import annotations

import random

import numpy as np
import pytest
import torch

from hac_tokenizer.errors import CheckpointError
from hac_tokenizer.training.state import (
    capture_rng,
    load_state,
    preserved_rng,
    restore_rng,
    save_state,
    state_path,
)


def draw() -> tuple[float, float, float]:
    return random.random(), float(np.random.rand()), float(torch.rand(()))


def test_restored_rng_replays_the_same_numbers():
    random.gauss(0, 1)  # leaves a cached gaussian in python's state: it must survive too
    state = capture_rng()
    first = [draw() for _ in range(3)], random.gauss(0, 1)
    restore_rng(state)
    assert ([draw() for _ in range(3)], random.gauss(0, 1)) == first


def test_preserved_rng_hides_draws_inside():
    state = capture_rng()
    expected = draw()
    restore_rng(state)
    with preserved_rng():
        draw()
    assert draw() == expected


def test_state_round_trips_through_weights_only_load(tmp_path):
    model = torch.nn.Linear(3, 2)
    optimiser = torch.optim.AdamW(model.parameters(), lr=1e-4, betas=(0.8, 0.9))
    scheduler = torch.optim.lr_scheduler.ExponentialLR(optimiser, gamma=0.999996)
    model(torch.randn(4, 3)).sum().backward()
    optimiser.step()
    scheduler.step()
    state = {"step": 1, "model": model.state_dict(), "optim": optimiser.state_dict(),
             "sched": scheduler.state_dict(), "ranks": [{"rng": capture_rng(), "loader": {"epoch": 0}}]}
    save_state(state, tmp_path)
    loaded = load_state(tmp_path)  # weights_only=True inside: would raise on any pickled object
    assert loaded["step"] == 1
    assert torch.equal(loaded["model"]["weight"], model.weight)
    fresh = torch.optim.AdamW(torch.nn.Linear(3, 2).parameters())
    fresh.load_state_dict(loaded["optim"])
    assert fresh.param_groups[0]["betas"] == (0.8, 0.9)
    restore_rng(loaded["ranks"][0]["rng"])


def test_missing_state_is_none_and_a_foreign_file_is_a_clear_error(tmp_path):
    assert load_state(tmp_path) is None
    state_path(tmp_path).write_bytes(b"not a checkpoint")
    with pytest.raises(CheckpointError, match="delete it"):
        load_state(tmp_path)


def test_pickled_objects_are_refused(tmp_path):
    torch.save({"version": 1, "evil": object()}, state_path(tmp_path))
    with pytest.raises(CheckpointError):
        load_state(tmp_path)


def test_an_interrupted_write_leaves_the_previous_state(tmp_path, monkeypatch):
    save_state({"step": 1}, tmp_path)

    def crash(*args, **kwargs):
        raise KeyboardInterrupt  # killed while writing

    monkeypatch.setattr(torch, "save", crash)
    with pytest.raises(KeyboardInterrupt):
        save_state({"step": 2}, tmp_path)
    assert load_state(tmp_path)["step"] == 1
    assert [p.name for p in tmp_path.iterdir()] == ["state.pt"]  # the half-written temporary file is gone
