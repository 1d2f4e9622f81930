import os
import re
from pathlib import Path

import numpy as np
import pytest
import torch

import hac_tokenizer
from hac_tokenizer import atomic
from hac_tokenizer.atomic import atomic_write
from hac_tokenizer.audio import load_audio, save_audio


def test_complete_write_replaces_the_target(tmp_path):
    target = tmp_path / "sub" / "x.npz"
    with atomic_write(target) as f:
        f.write(b"new")
    assert target.read_bytes() == b"new" and [p.name for p in target.parent.iterdir()] == ["x.npz"]


def test_failed_write_leaves_the_old_file_and_no_temporary(tmp_path):
    target = tmp_path / "x.npz"
    target.write_bytes(b"old")
    with pytest.raises(OSError, match="No space left"), atomic_write(target) as f:
        f.write(b"half of the new")
        raise OSError(28, "No space left on device")
    assert target.read_bytes() == b"old" and [p.name for p in tmp_path.iterdir()] == ["x.npz"]


def test_temporary_name_is_hidden_from_suffix_globs(tmp_path):
    with atomic_write(tmp_path / "x.npz") as f:
        f.write(b"...")
        assert list(tmp_path.glob("*.npz")) == [] and len(list(tmp_path.iterdir())) == 1


def test_the_file_then_its_directory_are_synced_around_the_rename(tmp_path, monkeypatch):
    events = []
    real_fsync, real_replace = atomic.os.fsync, atomic.os.replace

    def fsync(fd: int) -> None:
        events.append(("fsync", os.fstat(fd).st_ino))
        real_fsync(fd)

    def replace(source, destination) -> None:
        events.append(("replace", Path(destination)))
        real_replace(source, destination)

    monkeypatch.setattr(atomic.os, "fsync", fsync)
    monkeypatch.setattr(atomic.os, "replace", replace)
    target = tmp_path / "x.bin"
    with atomic_write(target) as f:
        f.write(b"data")
    assert events == [("fsync", target.stat().st_ino), ("replace", target), ("fsync", tmp_path.stat().st_ino)]


def test_text_mode_writes_utf8_as_given(tmp_path):
    with atomic_write(tmp_path / "m.jsonl", "w") as f:
        f.write("é\r\n")
    assert (tmp_path / "m.jsonl").read_bytes() == "é\r\n".encode()
    with pytest.raises(ValueError, match="'wb' or 'w'"), atomic_write(tmp_path / "a.txt", "a"):
        pass


def test_a_write_killed_half_way_is_replaced_by_the_next_one(tmp_path):
    target = tmp_path / "x.npz"
    (tmp_path / ".x.npz.tmp").write_bytes(b"half")  # what a SIGKILL during a write leaves
    with atomic_write(target) as f:
        f.write(b"whole")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["x.npz"]


def test_every_rename_in_the_package_is_the_atomic_writer():
    """One atomic writer: files are never renamed into place anywhere else (find them: os.replace, .rename)."""
    package = Path(hac_tokenizer.__file__).parent
    pattern = re.compile(r"os\.replace\(|os\.rename\(|\.rename\(|\.replace\(tmp|\.tmp\b")
    stray = [
        f"{path.relative_to(package)}:{number}: {line.strip()}"
        for path in package.rglob("*.py") if path.name != "atomic.py"
        for number, line in enumerate(path.read_text().splitlines(), 1) if pattern.search(line)
    ]
    assert not stray


@pytest.mark.parametrize("suffix", [".wav", ".flac"])
def test_save_audio_through_a_file_object(tmp_path, suffix):
    wave = torch.from_numpy(np.linspace(-0.5, 0.5, 800, dtype=np.float32))
    save_audio(tmp_path / f"a{suffix}", wave, 16000)
    back, rate = load_audio(tmp_path / f"a{suffix}")
    assert rate == 16000 and back.shape == (1, 800)
    torch.testing.assert_close(back[0], wave, atol=1 / 2**14, rtol=0)
