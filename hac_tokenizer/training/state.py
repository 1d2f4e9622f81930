"""Training checkpoints: everything needed to continue a run exactly where it stopped.

A training state is one ``torch.save`` file holding only tensors, numbers, strings, lists and dicts, so it
loads with ``torch.load(weights_only=True)`` (nothing is unpickled). It is written with
:func:`~hac_tokenizer.atomic.atomic_write` (a temporary file in the same directory, fsynced, renamed over the
previous one): a run killed mid-write leaves the last complete checkpoint in place.

Random number generator states are stored per process: python's ``random``, numpy's global generator and
torch's (CPU and every CUDA device), each as a tensor.
"""

from __future__ import annotations

import os
import random
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ..atomic import atomic_write
from ..errors import CheckpointError

STATE_NAME = "state.pt"
STATE_VERSION = 1


def capture_rng() -> dict[str, Any]:
    """The global RNG states of this process, as tensors."""
    version, mt_state, gauss = random.getstate()
    kind, keys, pos, has_gauss, cached = np.random.get_state()
    state = {
        "python": torch.tensor(mt_state, dtype=torch.int64),
        "python_meta": [version, gauss],
        "numpy": torch.from_numpy(keys.astype(np.int64)),
        "numpy_meta": [kind, int(pos), int(has_gauss), float(cached)],
        "torch": torch.get_rng_state(),
    }
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def restore_rng(state: dict[str, Any]) -> None:
    """Undo :func:`capture_rng`: set every global RNG back to the captured state."""
    version, gauss = state["python_meta"]
    random.setstate((version, tuple(int(x) for x in state["python"].tolist()), gauss))
    kind, pos, has_gauss, cached = state["numpy_meta"]
    np.random.set_state((kind, state["numpy"].numpy().astype(np.uint32), pos, has_gauss, cached))
    torch.set_rng_state(state["torch"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


class preserved_rng:
    """Context manager: code inside may draw random numbers without moving the training's RNG streams.

    Evaluation runs inside it, so evaluating or not never changes the training trajectory.
    """

    def __enter__(self) -> None:
        self._state = capture_rng()

    def __exit__(self, *exc: object) -> None:
        restore_rng(self._state)


def state_path(run_dir: str | os.PathLike) -> Path:
    return Path(run_dir) / STATE_NAME


def save_state(state: dict[str, Any], run_dir: str | os.PathLike) -> Path:
    """Write ``state`` to ``run_dir/state.pt`` atomically (temporary file, fsync, rename)."""
    path = state_path(run_dir)
    with atomic_write(path) as f:
        torch.save({"version": STATE_VERSION, **state}, f)
    return path


def load_state(run_dir: str | os.PathLike, map_location: str | torch.device = "cpu") -> dict[str, Any] | None:
    """The training state of ``run_dir``, or None when the run has no checkpoint yet."""
    path = state_path(run_dir)
    if not path.is_file():
        return None
    try:
        state = torch.load(path, map_location=map_location, weights_only=True)
    except Exception as err:  # torch raises several types for truncated or foreign files
        raise CheckpointError(
            f"{path} is not a readable training state ({err}); delete it to restart the run from scratch."
        ) from err
    version = state.get("version") if isinstance(state, dict) else f"<none: a {type(state).__name__}, not a dict>"
    if version != STATE_VERSION:
        raise CheckpointError(
            f"{path} has training-state version {version!r}; this hac-tokenizer writes {STATE_VERSION}."
        )
    return state
