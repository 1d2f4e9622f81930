"""The one audio reader: whole-file and windowed reads of a file give the same samples and refuse the same files.

``encode(path)`` loads the whole file; ``encode_file(path)``, the training loader and the teacher cache read it
through the same :class:`AudioFile`, so NaN/inf is refused and float samples beyond full scale are clipped
the same way everywhere, and a file of at most one window gives bit-identical tokens either way.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import soundfile as sf
import torch
from signals import chirp

from hac_tokenizer.audio import AudioFile, FileReader, load_audio, load_mono, read_segment, to_mono_items
from hac_tokenizer.errors import AudioFileError, AudioInputError

STREAMS = ("lexical", "phonetic", "acoustic")


def _write(path, data: np.ndarray, rate: int = 16000, subtype: str = "FLOAT"):
    sf.write(str(path), data, rate, subtype=subtype)
    return path


def _stereo(num_samples: int, gain: float = 1.0) -> np.ndarray:
    """``[S, 2]`` float32: two different channels (their mean is not either of them)."""
    return gain * np.stack([chirp(num_samples, seed=1).numpy(), chirp(num_samples, seed=2).numpy()], axis=1)


def _same_tokens(a, b) -> bool:
    return a.lengths.tolist() == b.lengths.tolist() and a.sample_lengths.tolist() == b.sample_lengths.tolist() \
        and all(torch.equal(getattr(a, name), getattr(b, name)) for name in STREAMS)


@pytest.mark.parametrize(
    ("name", "data", "subtype"),
    [
        ("mono-float", chirp(16000 + 123).numpy(), "FLOAT"),
        ("stereo-pcm16", _stereo(9001), "PCM_16"),
        ("stereo-float-beyond-full-scale", _stereo(9001, gain=3.0), "FLOAT"),  # peaks near 1.1
    ],
)
def test_encode_file_equals_encode_bit_for_bit_within_one_window(tiny_tokenizer, tmp_path, name, data, subtype):
    path = _write(tmp_path / f"{name}.wav", data, subtype=subtype)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the loud file warns; test_loud_file_* checks the warning
        whole = tiny_tokenizer.encode(path)
        windowed = tiny_tokenizer.encode_file(path)
    assert windowed.lengths.tolist() == [-(-len(data) // 320)] and _same_tokens(whole, windowed)


def test_loud_float_file_is_clipped_alike_by_every_reader_with_one_warning(tiny_tokenizer, tmp_path):
    loud = chirp(16000 * 3, seed=3).numpy() * 4  # peaks near 1.4: float files may exceed full scale
    path = _write(tmp_path / "loud.wav", loud)
    clipped = torch.from_numpy(loud).clamp(-1, 1)
    with pytest.warns(UserWarning, match="beyond \\[-1, 1\\]; they are clipped") as caught:
        from_file = tiny_tokenizer.encode_file(path, window_seconds=1.0, overlap_seconds=0.4)  # 4 windows
    assert len(caught) == 1  # once per file, not once per window
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        from_array = tiny_tokenizer.encode(clipped, window_seconds=1.0, overlap_seconds=0.4)
    assert _same_tokens(from_file, from_array)
    with pytest.warns(UserWarning, match="clipped"):
        assert torch.equal(load_mono(path, 16000), clipped)
    with pytest.warns(UserWarning, match="clipped"):
        assert torch.equal(read_segment(path, 8000, 4000, 16000), clipped[8000:12000])


@pytest.mark.parametrize("bad", [float("nan"), float("inf"), -float("inf")])
def test_nan_or_inf_in_a_file_is_refused_by_every_reader(tiny_tokenizer, tmp_path, bad):
    data = chirp(16000 * 3, seed=4).numpy()
    data[int(2.5 * 16000)] = bad  # in the last window only
    path = _write(tmp_path / "bad.wav", data)
    calls = {
        "encode": lambda: tiny_tokenizer.encode(path),
        "encode_file": lambda: tiny_tokenizer.encode_file(path),
        "encode_file windowed": lambda: tiny_tokenizer.encode_file(path, window_seconds=1.0, overlap_seconds=0.4),
        "load_audio": lambda: load_audio(path),
        "load_mono": lambda: load_mono(path, 16000),
        "read_segment": lambda: read_segment(path, 16000 * 2, 16000, 16000),
        "read_segment resampled": lambda: read_segment(path, 22050 * 2, 22050, 22050),
    }
    for name, call in calls.items():
        with pytest.raises(AudioInputError, match="NaN or inf") as info:
            call()
        assert "bad.wav" in str(info.value), name
    assert read_segment(path, 0, 16000, 16000).shape == (16000,)  # a stretch without it reads fine


def test_a_stretch_equals_that_part_of_the_whole_file(tmp_path):
    data = _stereo(5000)
    path = _write(tmp_path / "s.wav", data)
    file = AudioFile(path)
    assert (file.sample_rate, file.num_samples, file.channels) == (16000, 5000, 2)
    assert file.duration == pytest.approx(5000 / 16000)
    whole = file.read()
    assert torch.equal(whole, torch.from_numpy(data.T.copy()))
    assert torch.equal(file.read(1000, 3000), whole[:, 1000:3000])
    edge = file.read(-10, 10)
    assert edge.shape == (2, 20) and edge[:, :10].abs().max() == 0 and torch.equal(edge[:, 10:], whole[:, :10])
    assert file.read(4990, 5010)[:, 10:].abs().max() == 0
    mono = load_mono(path, 16000)
    assert torch.equal(FileReader(path, 16000).read(1000, 3000), mono[1000:3000])
    assert torch.equal(mono, to_mono_items(str(path), None, 16000)[0])


def test_training_clips_at_another_rate_match_the_whole_file_resampled(tmp_path):
    data = chirp(22050 * 2, sample_rate=22050, seed=5).numpy()
    path = _write(tmp_path / "r.wav", data, rate=22050)
    whole = load_mono(path, 16000)
    clip = read_segment(path, 8000, 8000, 16000)
    assert (clip - whole[8000:16000]).abs().max() < 1e-3


@pytest.mark.parametrize(
    ("make", "fragment"),
    [
        (lambda d: d / "missing.wav", "not found"),
        (lambda d: (d / "t.wav").write_text("not audio") and d / "t.wav", "corrupt or unsupported"),
        (lambda d: _write(d / "e.wav", np.zeros(0, dtype=np.float32)), "contains no samples"),
    ],
)
def test_unusable_files_are_refused_by_every_reader(tmp_path, make, fragment):
    path = make(tmp_path)
    for call in (lambda: AudioFile(path), lambda: load_mono(path, 16000), lambda: read_segment(path, 0, 100, 16000)):
        with pytest.raises(AudioFileError, match=fragment):
            call()
