"""Model registry and resolution of a name to a local checkpoint directory.

``from_pretrained`` accepts nothing (the bundled default), a registry name, a local directory, or a
Hugging Face Hub repo id. Hub files go through ``huggingface_hub`` and its cache, so ``revision``,
``cache_dir``, ``HF_HUB_OFFLINE=1`` and ``local_files_only`` work as users know them.
"""

from __future__ import annotations

import difflib
import os
from dataclasses import dataclass
from pathlib import Path

from .checkpoint import CONFIG_NAME, WEIGHTS_NAME, load_checkpoint
from .errors import ModelNotFoundError
from .model import HACModel

BUNDLED_DIR = Path(__file__).parent / "checkpoints"
HUB_ORG = "hac-tokenizer"


@dataclass(frozen=True)
class ModelEntry:
    """A registry entry: where the weights live and what they are."""

    name: str
    description: str
    repo_id: str | None = None  # Hub repo for full-size weights
    revision: str | None = None
    sha256: str | None = None  # of model.safetensors; None until weights are published
    bundled: bool = False
    recipe: str | None = None  # the packaged training recipe that reproduces it (`hac-train recipes`)

    @property
    def directory(self) -> Path:
        return BUNDLED_DIR / self.name

    @property
    def published(self) -> bool:
        """Whether weights exist for this name: bundled, or on the Hub with a known sha256."""
        return self.bundled or self.sha256 is not None

    def train_command(self) -> str:
        return f"hac-train --config {self.recipe} (see training/README.md)" if self.recipe else ""


def _zoo(name: str, paper_name: str) -> ModelEntry:
    return ModelEntry(
        name=name,
        description=f"{paper_name} (paper's model zoo, full size)",
        repo_id=f"{HUB_ORG}/{name}",
        recipe=name,
    )


DEFAULT_MODEL = "hac-mls8-small"
REGISTRY: dict[str, ModelEntry] = {
    entry.name: entry
    for entry in (
        ModelEntry(
            name=DEFAULT_MODEL,
            description="small HAC (frame-rate encoder and decoder) trained on synthetic 8-language speech (bundled, offline; see MODEL_CARD.md)",
            sha256="7110dd1616ff223a0b69c68ac8972cd580d183cbccf6ab979f2e75f531b185cb",
            bundled=True,
            recipe=DEFAULT_MODEL,
        ),
        _zoo("hac-14-l16", "HAC-14-LaBSE-mHuB-T-L16"),
        _zoo("hac-14-en", "HAC-14-LaBSE-HuB-T-en"),
        _zoo("hac-14-samu-l16", "HAC-14-SAMU-mHuB-T-L16"),
        _zoo("hac-14-samu-en", "HAC-14-SAMU-HuB-T-en"),
        _zoo("hac-10-en", "HAC-10-SAMU-HuB-T-en"),
        _zoo("dac-14-en", "DAC-14-HuB-T-en baseline"),
        _zoo("dac-14-l16", "DAC-14-mHuB-T-L16 baseline"),
        _zoo("dac-10-en", "DAC-10-HuB-T-en baseline"),
    )
}


def resolve(
    name_or_path: str | os.PathLike | None,
    *,
    revision: str | None = None,
    cache_dir: str | os.PathLike | None = None,
    local_files_only: bool = False,
) -> tuple[Path, ModelEntry | None]:
    """A name, directory or repo id -> (local checkpoint directory, registry entry or None)."""
    if name_or_path is None:
        name_or_path = DEFAULT_MODEL
    path = Path(name_or_path)
    if path.is_dir():
        return path, None
    name = str(name_or_path)
    entry = REGISTRY.get(name)
    if entry is not None and entry.bundled:
        return entry.directory, entry
    if entry is not None and not entry.published:
        # said at once: asking the Hub would only retry for half a minute, then fail on weights that do not exist
        raise ModelNotFoundError(
            f"no weights of {name!r} are published yet, so there is nothing to download. Train them: "
            f"{entry.train_command()}, then load the exported directory; or, if you have them on the Hub, "
            f"pass the repo id itself (from_pretrained({entry.repo_id!r}) or your own 'org/name')."
        )
    if entry is None and (name.count("/") != 1 or path.suffix or name.startswith((".", "/"))):
        close = difflib.get_close_matches(name, REGISTRY, n=1)
        raise ModelNotFoundError(
            f"{name!r} is neither a local checkpoint directory nor a known model"
            f"{f' (did you mean {close[0]!r}?)' if close else ''}. "
            f"Known models: {', '.join(REGISTRY)}; or pass a Hub repo id 'org/name'."
        )
    repo_id = entry.repo_id if entry is not None else name
    revision = revision or (entry.revision if entry is not None else None)
    return _download(repo_id, revision, cache_dir, local_files_only, entry), entry


def load_model(
    name_or_path: str | os.PathLike | None,
    *,
    revision: str | None = None,
    cache_dir: str | os.PathLike | None = None,
    local_files_only: bool = False,
) -> tuple[HACModel, ModelEntry | None]:
    """:func:`resolve`, then the checkpoint loaded (eval mode, CPU, fp32) with its registry entry or None.

    The weights' sha256 is checked against the registry's for the bundled model and for a registry name at its
    registered revision, and always against the one its ``config.json`` records.
    """
    directory, entry = resolve(name_or_path, revision=revision, cache_dir=cache_dir, local_files_only=local_files_only)
    verify = entry is not None and entry.sha256 is not None and (entry.bundled or revision in (None, entry.revision))
    return load_checkpoint(directory, expected_sha256=entry.sha256 if verify else None), entry


def _download(
    repo_id: str,
    revision: str | None,
    cache_dir: str | os.PathLike | None,
    local_files_only: bool,
    entry: ModelEntry | None,
) -> Path:
    from huggingface_hub import hf_hub_download
    from huggingface_hub.errors import (
        EntryNotFoundError,
        HfHubHTTPError,
        LocalEntryNotFoundError,
        RepositoryNotFoundError,
    )

    how_to_train = f" To train it yourself: {entry.train_command()}." if entry is not None and entry.recipe else ""
    try:
        files = [
            hf_hub_download(
                repo_id, filename, revision=revision, cache_dir=cache_dir, local_files_only=local_files_only
            )
            for filename in (CONFIG_NAME, WEIGHTS_NAME)
        ]
    except LocalEntryNotFoundError as err:
        raise ModelNotFoundError(
            f"weights of {repo_id!r} are not in the local Hugging Face cache and the Hub cannot be reached "
            f"(offline mode or no network). Connect once to download them, or copy a checkpoint directory "
            f"and pass its path.{how_to_train}"
        ) from err
    except (RepositoryNotFoundError, EntryNotFoundError) as err:
        raise ModelNotFoundError(
            f"the Hub has no checkpoint at {repo_id!r} (revision {revision or 'main'}): the weights are not "
            f"published there.{how_to_train}"
        ) from err
    except (HfHubHTTPError, OSError) as err:
        raise ModelNotFoundError(f"could not download {repo_id!r} from the Hub: {err}.{how_to_train}") from err
    return Path(files[1]).parent
