"""Training run -> inference checkpoint (``config.json`` + ``model.safetensors``).

Only the HAC model leaves the run: discriminators, KD projections and optimiser state stay behind.
The recipe that produced the weights is copied beside them as ``recipe.yaml`` for provenance; the
inference loaders read only the two checkpoint files.
"""

from __future__ import annotations

import os
from pathlib import Path

import torch

from ..atomic import atomic_write
from ..checkpoint import save_checkpoint
from ..config import HACConfig
from ..errors import CheckpointError
from ..model import HACModel
from .state import load_state, state_path

RECIPE_NAME = "recipe.yaml"


def export_run(run_dir: str | os.PathLike, out_dir: str | os.PathLike, dtype: torch.dtype = torch.float32) -> Path:
    """Write the model of ``run_dir``'s latest training state as an inference checkpoint in ``out_dir``."""
    state = load_state(run_dir)
    if state is None:
        raise CheckpointError(
            f"{state_path(run_dir)} does not exist: run hac-train until it writes a checkpoint "
            "(every checkpoint_every steps), then export."
        )
    model = HACModel(HACConfig.from_dict(state["model_config"]))
    model.load_state_dict(state["model"], strict=True)
    out = save_checkpoint(model.eval(), out_dir, dtype)
    with atomic_write(out / RECIPE_NAME, "w") as f:  # the run's name only: a path of the training machine means nothing
        f.write(f"# exported from run {Path(run_dir).resolve().name} at step {state['step']}\n{state['config']}")
    return out
