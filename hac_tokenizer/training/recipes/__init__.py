"""The training recipes that ship inside the package: the paper's zoo, the bundled default and ``tiny``.

They travel in the wheel so that a user who ran ``pip install hac-tokenizer[train]`` can reproduce any
checkpoint without a clone: ``hac-train --config hac-14-l16`` finds a recipe by name, ``hac-train recipes``
lists them, ``hac-train --print-config NAME`` shows one to copy and edit. A path to a YAML file of one's own
is accepted wherever a name is.
"""

from __future__ import annotations

import os
from pathlib import Path

from ...errors import ConfigError

RECIPE_DIR = Path(__file__).resolve().parent


def recipe_names() -> list[str]:
    """Names of the packaged recipes, sorted."""
    return sorted(path.stem for path in RECIPE_DIR.glob("*.yaml"))


def recipe_path(name_or_path: str | os.PathLike) -> Path:
    """The YAML file of a packaged recipe ``NAME``, or ``name_or_path`` itself when it names a file.

    A file on disk wins over a packaged recipe of the same name, so a local edit is never shadowed. Anything
    that looks like a path (a directory part or a ``.yaml`` suffix) is never looked up by name.
    """
    path = Path(name_or_path)
    if path.is_file():
        return path
    looks_like_path = path.suffix in (".yaml", ".yml") or len(path.parts) > 1
    if not looks_like_path and (RECIPE_DIR / f"{path.name}.yaml").is_file():
        return RECIPE_DIR / f"{path.name}.yaml"
    what = f"no such recipe file {str(path)!r}" if looks_like_path else f"no recipe named {str(path)!r}"
    raise ConfigError(
        f"{what}. Packaged recipes: {', '.join(recipe_names())} (`hac-train recipes` describes them); "
        "or pass the path of a YAML file."
    )
