"""The inference checkpoint format: a directory with ``config.json`` and ``model.safetensors``.

``config.json`` is the :class:`HACConfig` plus ``format_version``; ``model.safetensors`` holds the
inference weights only (fp32 or fp16). Loading is strict: every key must be present with its shape,
and nothing else may be. Nothing is ever unpickled.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file

from .config import HACConfig
from .errors import CheckpointError, ChecksumError, ConfigError
from .model import HACModel

FORMAT_VERSION = 1
CONFIG_NAME = "config.json"
WEIGHTS_NAME = "model.safetensors"


def sha256_of(path: str | os.PathLike) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def read_config(path: str | os.PathLike) -> HACConfig:
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"{path} is missing: a checkpoint directory needs {CONFIG_NAME} and {WEIGHTS_NAME}.")
    try:
        data = json.loads(path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise CheckpointError(f"{path} is not valid JSON ({err}); re-export or re-download the checkpoint.") from err
    if not isinstance(data, dict) or "format_version" not in data:
        raise CheckpointError(f"{path} has no format_version; it is not a hac-tokenizer checkpoint config.")
    version = data.pop("format_version")
    if version != FORMAT_VERSION:
        raise CheckpointError(
            f"{path} has checkpoint format {version!r}; this hac-tokenizer reads format {FORMAT_VERSION}. "
            "Upgrade hac-tokenizer (pip install -U hac-tokenizer) or re-export the checkpoint."
        )
    try:
        return HACConfig.from_dict(data)
    except ConfigError as err:
        raise CheckpointError(f"{path}: {err}") from err


def load_weights(model: HACModel, path: str | os.PathLike, expected_sha256: str | None = None) -> None:
    """Load ``model.safetensors`` into ``model`` strictly; verify its sha256 when one is expected."""
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"weights file {path} is missing.")
    if expected_sha256 is not None:
        actual = sha256_of(path)
        if actual != expected_sha256:
            raise ChecksumError(
                f"{path} has sha256 {actual}, but the registry records {expected_sha256}: the file is corrupt "
                "or was replaced. Delete it and download again (or reinstall hac-tokenizer for the bundled one)."
            )
    try:
        weights = load_file(str(path))
    except (SafetensorError, OSError, ValueError) as err:
        raise CheckpointError(
            f"{path} is not a readable safetensors file ({err}): it is truncated or corrupt, or holds pickled "
            "weights (.pt/.bin), which hac-tokenizer never loads. Download or export the checkpoint again."
        ) from err
    expected = model.state_dict()
    missing = sorted(set(expected) - set(weights))
    unexpected = sorted(set(weights) - set(expected))
    if missing or unexpected:
        raise CheckpointError(
            f"{path} does not match its config: missing keys {missing[:5]}{'...' if len(missing) > 5 else ''}, "
            f"unexpected keys {unexpected[:5]}{'...' if len(unexpected) > 5 else ''}. "
            "The config.json and model.safetensors come from different models."
        )
    for key, tensor in weights.items():
        if tensor.shape != expected[key].shape:
            raise CheckpointError(
                f"{path}: key {key!r} has shape {tuple(tensor.shape)}, the config expects {tuple(expected[key].shape)}."
            )
        if tensor.dtype.is_floating_point != expected[key].dtype.is_floating_point:
            # load_state_dict would cast silently: integer weights mean a foreign or corrupt file
            raise CheckpointError(f"{path}: key {key!r} is stored as {tensor.dtype}, expected {expected[key].dtype}.")
        if not torch.isfinite(tensor).all():
            raise CheckpointError(f"{path}: key {key!r} contains NaN or inf; the checkpoint is corrupt.")
    model.load_state_dict(weights, strict=True)


def save_checkpoint(model: HACModel, directory: str | os.PathLike, dtype: torch.dtype = torch.float32) -> Path:
    """Write ``config.json`` and ``model.safetensors`` (each via a temporary file and rename)."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    config = {"format_version": FORMAT_VERSION, **model.config.to_dict()}
    tmp_config = directory / f".{CONFIG_NAME}.tmp"
    tmp_config.write_text(json.dumps(config, indent=2) + "\n")
    weights = {k: v.detach().to("cpu", dtype).contiguous() for k, v in model.state_dict().items()}
    tmp_weights = directory / f".{WEIGHTS_NAME}.tmp"
    save_file(weights, str(tmp_weights), metadata={"format": "pt", "hac_format_version": str(FORMAT_VERSION)})
    tmp_weights.chmod(0o644)  # safetensors creates the file owner-only; checkpoints are for sharing
    os.replace(tmp_weights, directory / WEIGHTS_NAME)
    os.replace(tmp_config, directory / CONFIG_NAME)
    return directory


def load_checkpoint(directory: str | os.PathLike, expected_sha256: str | None = None) -> HACModel:
    """A checkpoint directory -> an eval-mode ``HACModel`` on CPU in fp32."""
    directory = Path(directory)
    model = HACModel(read_config(directory / CONFIG_NAME))
    load_weights(model, directory / WEIGHTS_NAME, expected_sha256)
    return model.eval()
