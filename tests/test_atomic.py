import numpy as np
import pytest
import torch

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
    with pytest.raises(OSError, match="No space left"):
        with atomic_write(target) as f:
            f.write(b"half of the new")
            raise OSError(28, "No space left on device")
    assert target.read_bytes() == b"old" and [p.name for p in tmp_path.iterdir()] == ["x.npz"]


def test_temporary_name_is_hidden_from_suffix_globs(tmp_path):
    with atomic_write(tmp_path / "x.npz") as f:
        f.write(b"...")
        assert list(tmp_path.glob("*.npz")) == [] and len(list(tmp_path.iterdir())) == 1


@pytest.mark.parametrize("suffix", [".wav", ".flac"])
def test_save_audio_through_a_file_object(tmp_path, suffix):
    wave = torch.from_numpy(np.linspace(-0.5, 0.5, 800, dtype=np.float32))
    save_audio(tmp_path / f"a{suffix}", wave, 16000)
    back, rate = load_audio(tmp_path / f"a{suffix}")
    assert rate == 16000 and back.shape == (1, 800)
    torch.testing.assert_close(back[0], wave, atol=1 / 2**14, rtol=0)
