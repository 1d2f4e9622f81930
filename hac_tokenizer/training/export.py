"""Training run -> inference checkpoint (``config.json`` + ``model.safetensors``).

Only the HAC model leaves the run: discriminators, KD projections and optimiser state stay behind.
The recipe that produced the weights is copied beside them as ``recipe.yaml`` for provenance; the
inference loaders read only the two checkpoint files.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import torch

from ..atomic import atomic_write
from ..checkpoint import save_checkpoint
from ..config import HACConfig
from ..errors import CheckpointError
from ..model import HACModel
from .state import load_state, state_path

RECIPE_NAME = "recipe.yaml"


def _state(run_dir: str | os.PathLike) -> dict:
    state = load_state(run_dir)
    if state is None:
        raise CheckpointError(
            f"{state_path(run_dir)} does not exist: run hac-train until it writes a checkpoint "
            "(every checkpoint_every steps), then export."
        )
    return state


def average_weights(states: Sequence[dict]) -> dict[str, torch.Tensor]:
    """The mean of the model weights of training states of one model (``[state]``: its weights unchanged).

    A GAN generator's weights wander from checkpoint to checkpoint; the mean of a few snapshots of one run is a
    smoother generator (stochastic weight averaging, Izmailov et al. 2018). Integer tensors must agree.
    """
    first = states[0]
    if any(s["model_config"] != first["model_config"] for s in states):
        raise CheckpointError("the training states to average hold models of different configs: average one run's.")
    mean = {}
    for name, tensor in first["model"].items():
        values = [s["model"][name] for s in states]
        if tensor.is_floating_point():
            mean[name] = torch.stack([v.float() for v in values]).mean(0).to(tensor.dtype)
        elif all(torch.equal(v, tensor) for v in values):
            mean[name] = tensor
        else:
            raise CheckpointError(f"the training states to average differ in the integer tensor {name}.")
    return mean


def export_run(
    run_dir: str | os.PathLike,
    out_dir: str | os.PathLike,
    dtype: torch.dtype = torch.float32,
    average: Sequence[str | os.PathLike] = (),
) -> Path:
    """Write the model of ``run_dir``'s latest training state as an inference checkpoint in ``out_dir``.

    ``average``: run directories holding earlier snapshots of the same run; the checkpoint then holds the mean of
    all their model weights and ``run_dir``'s (:func:`average_weights`).
    """
    state = _state(run_dir)
    others = [_state(path) for path in average]
    model = HACModel(HACConfig.from_dict(state["model_config"]))
    model.load_state_dict(average_weights([*others, state]), strict=True)
    out = save_checkpoint(model.eval(), out_dir, dtype)
    mean = f", weights averaged with steps {', '.join(str(s['step']) for s in others)}" if others else ""
    with atomic_write(out / RECIPE_NAME, "w") as f:  # the run's name only: a path of the training machine means nothing
        f.write(f"# exported from run {Path(run_dir).resolve().name} at step {state['step']}{mean}\n{state['config']}")
    return out
