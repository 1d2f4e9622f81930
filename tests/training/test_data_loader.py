"""ClipLoader: crops and alignment slices, determinism, resume, worker independence, DDP sharding, bucketing."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
import soundfile as sf
import torch
from corpus_fixtures import tiny_entries, write_audio_array

from hac_tokenizer.manifest import Interval
from hac_tokenizer.training.data.loader import ClipLoader, read_segment, slice_intervals
from hac_tokenizer.training.errors import DataError

HOP, RATE = 320, 16000
GRID = {"sample_rate": RATE, "hop_length": HOP}  # the model's, as the trainer passes them
DURATIONS = [0.3, 0.45, 0.6, 0.8, 1.0, 1.25, 1.5, 1.9, 2.2, 2.6, 0.5, 1.7]


@pytest.fixture(scope="module")
def entries(tmp_path_factory):
    return tiny_entries(tmp_path_factory.mktemp("clips"), DURATIONS)


def take(loader: ClipLoader, count: int) -> list:
    return list(itertools.islice(iter(loader), count))


def same(a, b) -> bool:
    return a.ids == b.ids and a.frame_offsets == b.frame_offsets and torch.equal(a.audio, b.audio) \
        and a.words == b.words and a.phones == b.phones


def test_slice_intervals_clips_and_shifts():
    intervals = (Interval(0.0, 0.5, "a"), Interval(0.5, 1.2, "b"), Interval(1.2, 2.0, "c"), Interval(2.5, 3.0, "d"))
    assert slice_intervals(intervals, 1.0, 2.2) == (Interval(0.0, pytest.approx(0.2), "b"),
                                                   Interval(pytest.approx(0.2), pytest.approx(1.0), "c"))
    assert slice_intervals(intervals, 2.0, 2.5) == ()


def test_clips_are_frame_aligned_crops_with_their_alignments(entries):
    loader = ClipLoader(entries, batch_size=3, clip_seconds=1.0, seed=1, **GRID)
    by_id = {e.id: e for e in entries}
    clip = RATE // HOP * HOP
    for batch in take(loader, 2 * len(loader)):
        samples = batch.audio.shape[-1]
        assert batch.audio.shape[:2] == (3, 1) and samples % HOP == 0 and samples <= clip
        for b, utt in enumerate(batch.ids):
            entry, start = by_id[utt], batch.frame_offsets[b] * HOP
            data, _ = sf.read(str(entry.audio), dtype="float32")
            assert start + min(samples, clip) <= max(len(data), clip)  # crops stay inside the utterance
            expected = np.zeros(samples, np.float32)
            piece = data[start:start + samples]
            expected[:len(piece)] = piece  # short utterances are zero-padded at the end
            assert np.array_equal(batch.audio[b, 0].numpy(), expected)
            begin, end = start / RATE, (start + samples) / RATE
            assert batch.words[b] == slice_intervals(entry.words, begin, end)
            assert batch.phones[b] == slice_intervals(entry.phones, begin, end)
            assert batch.words[b][0].label == entry.words[int(begin / 0.2 + 1e-9)].label
            assert all(0 <= w.start < w.end <= samples / RATE + 1e-9 for w in batch.words[b])
            assert batch.speakers[b] == entry.speaker and batch.languages[b] == "xx"


def test_long_utterances_are_cropped_at_varied_offsets(entries):
    loader = ClipLoader(entries, batch_size=2, clip_seconds=0.4, seed=0, **GRID)
    offsets = {o for batch in take(loader, 3 * len(loader)) for o in batch.frame_offsets}
    assert len(offsets) > 5 and max(offsets) <= (2.6 * RATE - 0.4 * RATE) // HOP


def test_length_bucketing_trims_padding(entries):
    loader = ClipLoader(entries, batch_size=2, clip_seconds=3.0, seed=0, **GRID)
    lengths = {e.id: round(e.duration * RATE) for e in entries}
    for batch in take(loader, len(loader)):
        longest = max(lengths[i] for i in batch.ids)
        assert batch.audio.shape[-1] == -(-longest // HOP) * HOP  # as long as the longest member, no more
    shortest_pair = sorted(DURATIONS)[:2]
    assert any(batch.audio.shape[-1] <= shortest_pair[1] * RATE + HOP for batch in take(loader, len(loader)))


def test_deterministic_reshuffled_per_epoch_and_seed(entries):
    a, b = (take(ClipLoader(entries, 4, clip_seconds=0.5, seed=3, **GRID), 6) for _ in range(2))
    assert all(same(x, y) for x, y in zip(a, b))
    per_epoch = len(ClipLoader(entries, 4, clip_seconds=0.5, **GRID))
    assert [x.ids for x in a[:per_epoch]] != [x.ids for x in a[per_epoch:2 * per_epoch]]
    other = take(ClipLoader(entries, 4, clip_seconds=0.5, seed=4, **GRID), 3)
    assert [x.ids for x in other] != [x.ids for x in a[:3]]


def test_resume_mid_epoch_continues_exactly(entries):
    reference = ClipLoader(entries, batch_size=2, clip_seconds=0.5, seed=5, **GRID)
    stream = iter(reference)
    before = [next(stream) for _ in range(4)]
    state = reference.state_dict()
    after = [next(stream) for _ in range(len(reference))]  # crosses into the next epoch
    assert state == {"epoch": 0, "position": 4} and before

    resumed = ClipLoader(entries, batch_size=2, clip_seconds=0.5, seed=5, **GRID)
    resumed.load_state_dict(state)
    assert all(same(x, y) for x, y in zip(after, take(resumed, len(after))))
    assert resumed.state_dict() == reference.state_dict() == {"epoch": 1, "position": 4}
    with pytest.raises(DataError, match="outside an epoch"):
        resumed.load_state_dict({"epoch": 0, "position": 999})


def test_worker_count_does_not_change_batches(entries):
    inline = take(ClipLoader(entries, batch_size=3, clip_seconds=0.5, seed=2, augment=True, **GRID), 5)
    workers = take(ClipLoader(entries, batch_size=3, clip_seconds=0.5, seed=2, augment=True, num_workers=2, **GRID), 5)
    assert all(same(x, y) for x, y in zip(inline, workers))


def test_ddp_ranks_get_disjoint_equal_shards(entries):
    ranks = [ClipLoader(entries, 2, clip_seconds=0.5, seed=9, rank=r, world_size=2, **GRID) for r in range(2)]
    assert len(ranks[0]) == len(ranks[1]) == len(entries) // 2 // 2
    ids = [[i for batch in take(loader, len(loader)) for i in batch.ids] for loader in ranks]
    assert not set(ids[0]) & set(ids[1]) and len(set(ids[0]) | set(ids[1])) == len(ids[0]) + len(ids[1])
    with pytest.raises(DataError, match="rank"):
        ClipLoader(entries, batch_size=2, rank=2, world_size=2, **GRID)
    with pytest.raises(DataError, match="cannot fill"):
        ClipLoader(entries[:3], batch_size=2, world_size=2, **GRID)


def test_augmentation_is_seeded_and_leaves_padding_silent(entries):
    plain = take(ClipLoader(entries, batch_size=4, clip_seconds=3.0, seed=1, **GRID), 2)
    noisy = take(ClipLoader(entries, batch_size=4, clip_seconds=3.0, seed=1, augment=True, **GRID), 2)
    assert [b.ids for b in plain] == [b.ids for b in noisy]
    assert not torch.equal(plain[0].audio, noisy[0].audio)
    for p, n in zip(plain, noisy):
        lengths = [round(e.duration * RATE) for i in n.ids for e in entries if e.id == i]
        for b, length in enumerate(lengths):
            assert torch.all(n.audio[b, 0, length:] == 0)


def test_other_sample_rates_are_resampled(tmp_path):
    signal = np.sin(np.arange(8000) * 0.05).astype(np.float32) * 0.5
    write_audio_array(tmp_path / "low.wav", signal, 8000)
    audio = read_segment(tmp_path / "low.wav", 3200, 6400, RATE)
    assert audio.shape == (6400,)
    reference = np.sin(np.arange(1600, 4800) * 0.05) * 0.5  # the same stretch at 8 kHz
    assert np.abs(audio[::2].numpy() - reference).max() < 0.02
    assert torch.all(read_segment(tmp_path / "low.wav", 15000, 2000, RATE)[1000:] == 0)
