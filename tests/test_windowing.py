"""Windowed encode/decode: window planning, exactness below one window, agreement and seams above it."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
import soundfile as sf
import soxr
import torch
from signals import chirp

from hac_tokenizer.audio import FileReader
from hac_tokenizer import windowing
from hac_tokenizer.errors import WindowError
from hac_tokenizer.windowing import (
    TensorReader,
    decode_windowed,
    encode_windowed,
    plan_windows,
    window_frames,
)

STREAMS = ("lexical", "phonetic", "acoustic")


@pytest.mark.parametrize("num_frames", [1, 7, 50, 51, 99, 100, 101, 333, 1000])
@pytest.mark.parametrize(("window", "overlap"), [(50, 0), (50, 10), (50, 48), (64, 20)])
def test_kept_parts_tile_the_input_with_context(num_frames: int, window: int, overlap: int) -> None:
    windows = plan_windows(num_frames, window, overlap)
    assert windows[0].keep_start == 0 and windows[-1].keep_end == num_frames
    for before, after in itertools.pairwise(windows):
        assert before.keep_end == after.keep_start
    for w in windows:
        assert 0 <= w.start and w.stop <= num_frames and w.length == min(window, num_frames)
        assert w.start <= w.keep_start < w.keep_end <= w.stop
        # Away from the item's edges, every kept frame has at least overlap/2 frames of context.
        if w.keep_start > 0:
            assert w.keep_start - w.start >= overlap // 2
        if w.keep_end < num_frames:
            assert w.stop - w.keep_end >= overlap // 2


def test_window_sizes_are_validated() -> None:
    assert window_frames(30.0, 5.0, 50.0) == (1500, 250)
    with pytest.raises(WindowError, match="overlap_seconds"):
        window_frames(2.0, 2.0, 50.0)
    with pytest.raises(WindowError, match="window_seconds"):
        window_frames(0.0, 0.0, 50.0)


def test_windowed_encode_equals_whole_encode_below_one_window(tiny_tokenizer) -> None:
    audio = chirp(16000 + 123)  # 51 frames, ragged last frame
    whole = tiny_tokenizer.encode(audio, window_seconds=None)
    with torch.inference_mode():
        windowed = encode_windowed(tiny_tokenizer.model, TensorReader(audio), STREAMS, window=60, overlap=20)
    for name in STREAMS:
        assert torch.equal(windowed[name], getattr(whole, name)), name


def test_windowed_tokens_equal_whole_on_long_input(tiny_tokenizer) -> None:
    """Each kept frame gets 25 frames of context on both sides here. That covers what can change its tokens:
    the CNN's receptive field (~7 frames) plus the transformer's bounded context (12 frames for the tiny
    config's 8-frame attention window), so every stream matches the whole-utterance encode."""
    assert tiny_tokenizer.model.config.phonetic.transformer.context_frames == 12
    audio = chirp(16000 * 6, seed=1)
    whole = tiny_tokenizer.encode(audio, window_seconds=None)
    windowed = tiny_tokenizer.encode(audio, window_seconds=1.5, overlap_seconds=1.0)
    assert windowed.lengths.tolist() == whole.lengths.tolist()
    for name in STREAMS:
        assert torch.equal(getattr(windowed, name), getattr(whole, name)), name


def test_batch_mixing_windowed_and_whole_items_equals_each_alone(tiny_tokenizer) -> None:
    long, short = chirp(16000 * 3, seed=2), chirp(5000, seed=3)
    batch = tiny_tokenizer.encode([short, long], window_seconds=1.0, overlap_seconds=0.4)
    alone = [tiny_tokenizer.encode(x, window_seconds=1.0, overlap_seconds=0.4) for x in (short, long)]
    for i, single in enumerate(alone):
        for name in STREAMS:
            assert torch.equal(getattr(batch[i], name), getattr(single, name)), (i, name)


def test_windowed_decode_has_no_seams(tiny_tokenizer) -> None:
    tokens = tiny_tokenizer.encode(chirp(16000 * 4, seed=4), window_seconds=None)
    whole = tiny_tokenizer.decode(tokens, window_seconds=None).waveform
    windowed = tiny_tokenizer.decode(tokens, window_seconds=1.0, overlap_seconds=0.5).waveform
    assert windowed.shape == whole.shape
    assert (windowed - whole).abs().max().item() < 1e-4


def test_decode_windowed_below_one_window_equals_whole(tiny_tokenizer) -> None:
    tokens = tiny_tokenizer.encode(chirp(8000, seed=5), window_seconds=None)
    whole = tiny_tokenizer.decode(tokens, window_seconds=None).waveform
    with torch.inference_mode():
        codes = {name: t.clamp_min(0) for name, t in tokens.streams().items()}
        windowed = decode_windowed(tiny_tokenizer.model, codes, window=100, overlap=10)
    assert torch.equal(windowed[0, 0, : whole.shape[-1]], whole[0])


def test_file_reader_at_model_rate_reads_the_samples(tmp_path) -> None:
    audio = chirp(16000 + 77, seed=6).numpy()
    path = tmp_path / "a.wav"
    sf.write(path, np.stack([audio, audio], axis=1), 16000, subtype="FLOAT")
    reader = FileReader(str(path), 16000)
    assert reader.num_samples == len(audio)
    np.testing.assert_array_equal(reader.read(-10, 100)[10:].numpy(), audio[:100])
    assert reader.read(len(audio) - 5, len(audio) + 5)[5:].abs().max() == 0


def test_file_reader_resamples_windows_like_the_whole_file(tmp_path) -> None:
    audio = chirp(44100 * 2, sample_rate=44100, seed=7).numpy()
    path = tmp_path / "b.wav"
    sf.write(path, audio, 44100, subtype="FLOAT")
    whole = soxr.resample(audio, 44100, 16000, "HQ")
    reader = FileReader(str(path), 16000)
    assert abs(reader.num_samples - len(whole)) <= 1
    stitched = torch.cat([reader.read(a, a + 4000) for a in range(0, 16000, 4000)]).numpy()
    assert np.abs(stitched[200:-200] - whole[200:16000 - 200]).max() < 1e-3


def test_encode_file_streams_a_long_file_like_in_memory_windows(tiny_tokenizer, tmp_path) -> None:
    audio = chirp(16000 * 3 + 50, seed=8)
    path = tmp_path / "long.wav"
    sf.write(path, audio.numpy(), 16000, subtype="FLOAT")
    from_file = tiny_tokenizer.encode_file(path, window_seconds=1.0, overlap_seconds=0.4)
    in_memory = tiny_tokenizer.encode(audio, window_seconds=1.0, overlap_seconds=0.4)
    assert from_file.sample_lengths.tolist() == [len(audio)]
    for name in STREAMS:
        assert torch.equal(getattr(from_file, name), getattr(in_memory, name)), name


def test_windowed_outputs_hold_nothing_of_their_window_batches(tiny_tokenizer, tmp_path) -> None:
    """Kept centres are copied out, not viewed: a view would keep its whole batch alive, and such long-lived
    blocks scattered through the heap are what made it grow with the input's length."""
    path = tmp_path / "long.wav"
    sf.write(path, chirp(16000 * 5, seed=2).numpy(), 16000, subtype="FLOAT")
    with torch.inference_mode():
        reader = FileReader(path, 16000)
        codes = encode_windowed(tiny_tokenizer.model, reader, STREAMS, window=50, overlap=20)  # 8 windows, 2 batches
        audio = decode_windowed(tiny_tokenizer.model, codes, window=50, overlap=20)
    assert all(c._base is None and c.is_contiguous() for c in codes.values())
    frames = -(-16000 * 5 // tiny_tokenizer.hop_length)
    assert audio._base is None and audio.shape == (1, 1, frames * tiny_tokenizer.hop_length)


@pytest.mark.parametrize("preset", ["tiny", "tiny-frame"])
def test_activation_estimates_bound_the_widest_tensor_an_op_makes(preset: str) -> None:
    """``activation_elements`` sizes window batches: it must cover the largest tensor any op of a forward pass
    produces (seen at the dispatcher, so inside helpers too), without overstating it (which only shrinks batches)."""
    from torch.utils._python_dispatch import TorchDispatchMode

    from hac_tokenizer.config import tiny_config, tiny_frame_config
    from hac_tokenizer.model import HACModel

    class Widest(TorchDispatchMode):
        elements = 0

        def __torch_dispatch__(self, func, types, args=(), kwargs=None):
            out = func(*args, **(kwargs or {}))
            for tensor in out if isinstance(out, (tuple, list)) else (out,):
                if torch.is_tensor(tensor):
                    self.elements = max(self.elements, tensor.numel() * (2 if tensor.is_complex() else 1))
            return out

    config = tiny_config() if preset == "tiny" else tiny_frame_config()
    model = HACModel(config).eval()
    samples = 50 * config.hop_length
    for part, given in ((model.encoder, torch.randn(1, 1, samples)), (model.decoder, torch.randn(1, config.latent_dim, 50))):
        with torch.inference_mode(), Widest() as seen:
            part(given)
        estimate = part.activation_elements(samples)
        assert seen.elements <= estimate <= 2 * seen.elements, (type(part).__name__, seen.elements, estimate)


class _Part(torch.nn.Module):
    """An encoder/decoder stand-in whose widest activation is 1000 elements per sample (4 kB in fp32)."""

    def activation_elements(self, num_samples: int) -> int:
        return 1000 * num_samples


def test_item_groups_keep_each_padded_batch_within_the_budget(monkeypatch):
    monkeypatch.setattr(windowing, "BATCH_ACTIVATION_BYTES", 4000 * 100)  # 100 samples' worth
    samples = [30, 30, 30, 50, 10, 200, 20]
    groups = windowing.item_groups(_Part(), range(len(samples)), samples)
    # in order; a group padded to its longest item stays within 100 samples' worth; an oversized item runs alone
    assert groups == [[0, 1, 2], [3, 4], [5], [6]]
    assert windowing.item_groups(_Part(), [4, 6, 0], samples) == [[4, 6, 0]]
    assert windowing.item_groups(_Part(), [], samples) == []


def test_item_groups_are_even_when_that_takes_no_more_groups(monkeypatch):
    monkeypatch.setattr(windowing, "BATCH_ACTIVATION_BYTES", 4000 * 130)  # 13 items of 10 samples
    assert [len(g) for g in windowing.item_groups(_Part(), range(16), [10] * 16)] == [8, 8]
    assert [len(g) for g in windowing.item_groups(_Part(), range(27), [10] * 27)] == [9, 9, 9]
    # evening out these would take a fourth group ([0, 1] [2, 3] [4] [5] [6]... ): the fewest groups win
    samples = [30, 30, 30, 50, 10, 200, 20]
    monkeypatch.setattr(windowing, "BATCH_ACTIVATION_BYTES", 4000 * 100)
    assert windowing.item_groups(_Part(), range(len(samples)), samples) == [[0, 1, 2], [3, 4], [5], [6]]


def test_split_batches_give_the_single_item_results(tiny_tokenizer, monkeypatch):
    # a budget of ~1.3 items forces every whole-item batch apart: tokens and audio stay those of the items alone
    per_item = 4 * tiny_tokenizer.model.decoder.activation_elements(8000)
    monkeypatch.setattr(windowing, "BATCH_ACTIVATION_BYTES", int(1.3 * per_item))
    generator = torch.Generator().manual_seed(5)
    items = [0.1 * torch.randn(n, generator=generator) for n in (8000, 5000, 6400)]
    assert len(windowing.item_groups(tiny_tokenizer.model.decoder, [0, 1, 2], [8000, 5000, 6400])) == 3
    batch = tiny_tokenizer.encode(items, sample_rate=16000)
    audio = tiny_tokenizer.decode(batch)
    for i, item in enumerate(items):
        alone = tiny_tokenizer.encode(item, sample_rate=16000)
        for name, codes in alone.streams().items():
            frames = int(alone.lengths[0])
            assert torch.equal(batch.streams()[name][i : i + 1, ..., :frames], codes), name
        decoded = tiny_tokenizer.decode(alone).waveform[0]
        torch.testing.assert_close(audio.waveform[i, : len(decoded)], decoded, atol=1e-5, rtol=0)
