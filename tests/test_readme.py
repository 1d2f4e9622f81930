"""The README's Python snippets run as written, in order, in one namespace (as a reader pastes them)."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


def snippets() -> list[str]:
    return re.findall(r"```python\n(.*?)```", (REPO / "README.md").read_text(), re.DOTALL)


@pytest.mark.slow
def test_readme_python_snippets_run_as_written(tmp_path, monkeypatch):
    blocks = snippets()
    assert len(blocks) >= 4
    (tmp_path / "examples").symlink_to(REPO / "examples")  # the snippets read examples/audio/*.wav
    monkeypatch.chdir(tmp_path)  # and write out.wav, tokens.npz: into the test's directory, not the checkout
    namespace: dict = {}
    for i, block in enumerate(blocks):
        try:
            exec(compile(block, f"README.md python block {i}", "exec"), namespace)  # noqa: S102
        except Exception as err:
            raise AssertionError(f"README python block {i} fails: {err!r}\n{block}") from err
    assert {"out.wav", "tokens.npz"} <= set(os.listdir(tmp_path))
