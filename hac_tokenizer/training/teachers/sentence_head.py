"""The pooling and dense layers a sentence-transformers checkpoint keeps outside its ``transformers`` model.

``sentence-transformers/LaBSE`` stores the BERT encoder at the top level and, beside it, ``modules.json`` naming
``1_Pooling`` ([CLS] token), ``2_Dense`` (768 -> 768, tanh: LaBSE's original pooled-output layer) and
``3_Normalize``. Loading only the BERT model and taking its own ``pooler_output`` would miss that dense layer, so
this module reads the layout and rebuilds the head with plain torch: the embedding is then the one LaBSE defines.
all-MiniLM-L6-v2 has the same layout with mean pooling and no dense layer.
"""

from __future__ import annotations

import json
from pathlib import Path

import torch
from safetensors.torch import load_file
from torch import Tensor, nn

from ..errors import TeacherError

_ACTIVATIONS = {"torch.nn.modules.activation.Tanh": nn.Tanh, "torch.nn.modules.linear.Identity": nn.Identity}


def _locate(path: str, name: str) -> Path | None:
    """A file of the checkpoint, from a local directory or the Hub (cache first); None if it has none."""
    if Path(path).is_dir():
        local = Path(path) / name
        return local if local.is_file() else None
    from huggingface_hub import hf_hub_download
    from huggingface_hub.utils import EntryNotFoundError

    try:
        return Path(hf_hub_download(path, name))
    # a missing file or repo, no network, offline mode (OSError kinds); a malformed repo id (ValueError); and
    # EntryNotFoundError, which in huggingface_hub 2.x derives from neither
    except (OSError, ValueError, EntryNotFoundError):
        return None


def _dense(path: str, folder: str) -> nn.Module:
    config_file = _locate(path, f"{folder}/config.json")
    if config_file is None:
        raise TeacherError(
            f"{path}: {folder}/config.json is missing; the sentence-transformers checkpoint is incomplete."
        )
    config = json.loads(config_file.read_text())
    activation = _ACTIVATIONS.get(config.get("activation_function", "torch.nn.modules.activation.Tanh"))
    if activation is None:
        raise TeacherError(f"{path}: {folder} uses activation {config['activation_function']}, which is not supported.")
    linear = nn.Linear(config["in_features"], config["out_features"], bias=config.get("bias", True))
    weights = _locate(path, f"{folder}/model.safetensors")
    if weights is not None:
        state = load_file(str(weights))
    elif (legacy := _locate(path, f"{folder}/pytorch_model.bin")) is not None:
        state = torch.load(legacy, map_location="cpu", weights_only=True)
    else:
        raise TeacherError(f"{path}: {folder} has no model.safetensors or pytorch_model.bin.")
    linear.load_state_dict({key.removeprefix("linear."): value for key, value in state.items()})
    return nn.Sequential(linear, activation())


class SentenceHead(nn.Module):
    """Token states -> sentence vector as a sentence-transformers checkpoint defines it (before normalising)."""

    def __init__(self, mode: str, dense: list[nn.Module]) -> None:
        super().__init__()
        self.mode = mode
        self.dense = nn.Sequential(*dense)

    def forward(self, states: Tensor, attention: Tensor) -> Tensor:
        """``states [N, L, D], attention [N, L] -> [N, D']``."""
        if self.mode == "cls":
            pooled = states[:, 0]
        else:
            weights = attention.unsqueeze(-1).to(states.dtype)
            pooled = (states * weights).sum(1) / weights.sum(1).clamp(min=1.0)
        return self.dense(pooled)


def load_sentence_head(path: str) -> SentenceHead | None:
    """The head described by ``modules.json`` of ``path``; None when ``path`` is a plain ``transformers`` model."""
    modules_file = _locate(path, "modules.json")
    if modules_file is None:
        return None
    mode, dense = "mean", []
    for module in json.loads(modules_file.read_text()):
        kind = module["type"].rsplit(".", 1)[-1]
        if kind == "Pooling":
            pooling_file = _locate(path, f"{module['path']}/config.json")
            pooling = {} if pooling_file is None else json.loads(pooling_file.read_text())
            if pooling.get("pooling_mode_cls_token"):
                mode = "cls"
            elif not pooling.get("pooling_mode_mean_tokens", True):
                raise TeacherError(f"{path}: only [CLS] and mean pooling are supported ({pooling}).")
        elif kind == "Dense":
            dense.append(_dense(path, module["path"]))
        elif kind not in ("Transformer", "Normalize"):
            raise TeacherError(f"{path}: sentence-transformers module {kind} is not supported.")
    return SentenceHead(mode, dense)
