"""The inference checkpoint format: a directory with ``config.json`` and ``model.safetensors``.

``config.json`` is the :class:`HACConfig` plus ``format_version`` and ``weights_sha256`` (the hash of
the weights at export, checked on load when present); ``model.safetensors`` holds the
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
from safetensors.torch import load_file
from safetensors.torch import save as safetensors_bytes

from .atomic import atomic_write
from .config import HACConfig
from .errors import CheckpointError, ChecksumError, ConfigError
from .model import HACModel

FORMAT_VERSION = 1
CONFIG_NAME = "config.json"
WEIGHTS_NAME = "model.safetensors"
WEIGHTS_SHA256_KEY = "weights_sha256"  # in config.json: the hash of model.safetensors at export


def sha256_of(path: str | os.PathLike) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def read_config(path: str | os.PathLike) -> HACConfig:
    data = _read_config_data(Path(path))
    data.pop(WEIGHTS_SHA256_KEY, None)
    return _config_from(data, Path(path))


def _read_config_data(path: Path) -> dict:
    """``config.json`` as a dict without ``format_version``, after checking it is ours and of our format."""
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
    return data


def _config_from(data: dict, path: Path) -> HACConfig:
    try:
        return HACConfig.from_dict(data)
    except ConfigError as err:
        raise CheckpointError(f"{path}: {err}") from err


def load_weights(
    model: HACModel, path: str | os.PathLike, expected_sha256: str | None = None, recorded_sha256: str | None = None
) -> None:
    """Load ``model.safetensors`` into ``model`` strictly.

    Its sha256 is verified, before anything is parsed, against ``expected_sha256`` (the registry's) and
    ``recorded_sha256`` (the one ``config.json`` recorded at export), when given.
    """
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"weights file {path} is missing.")
    _verify_sha256(path, expected_sha256, recorded_sha256)
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


def _verify_sha256(path: Path, expected: str | None, recorded: str | None) -> None:
    if expected is None and recorded is None:
        return
    actual = sha256_of(path)
    if expected is not None and actual != expected:
        raise ChecksumError(
            f"{path} has sha256 {actual}, but the registry records {expected}: the file is corrupt "
            "or was replaced. Delete it and download again (or reinstall hac-tokenizer for the bundled one)."
        )
    if recorded is not None and actual != recorded:
        raise ChecksumError(
            f"{path} has sha256 {actual}, but its {CONFIG_NAME} records {recorded!r}: the weights are truncated, "
            "corrupt, or not the ones exported with this config. Export or download the checkpoint again."
        )


def save_checkpoint(model: HACModel, directory: str | os.PathLike, dtype: torch.dtype = torch.float32) -> Path:
    """Write ``model.safetensors``, then ``config.json`` recording its sha256 (each written atomically).

    A crash between the two leaves new weights beside the old config, whose recorded hash then refuses
    them: never a silent mix.
    """
    directory = Path(directory)
    weights = {k: v.detach().to("cpu", dtype).contiguous() for k, v in model.state_dict().items()}
    blob = safetensors_bytes(weights, metadata={"format": "pt", "hac_format_version": str(FORMAT_VERSION)})
    with atomic_write(directory / WEIGHTS_NAME) as f:
        f.write(blob)
    config = {
        "format_version": FORMAT_VERSION,
        WEIGHTS_SHA256_KEY: hashlib.sha256(blob).hexdigest(),
        **model.config.to_dict(),
    }
    with atomic_write(directory / CONFIG_NAME) as f:
        f.write((json.dumps(config, indent=2) + "\n").encode())
    return directory


def load_checkpoint(directory: str | os.PathLike, expected_sha256: str | None = None) -> HACModel:
    """A checkpoint directory -> an eval-mode ``HACModel`` on CPU in fp32."""
    directory = Path(directory)
    data = _read_config_data(directory / CONFIG_NAME)
    recorded = data.pop(WEIGHTS_SHA256_KEY, None)  # absent in checkpoints exported before it was recorded
    model = HACModel(_config_from(data, directory / CONFIG_NAME))
    load_weights(model, directory / WEIGHTS_NAME, expected_sha256, recorded)
    return model.eval()
