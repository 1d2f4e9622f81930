"""Clip loading for training: random frame-aligned crops of manifest utterances, length-bucketed, in workers.

:class:`ClipLoader` is endless: epoch after epoch, each reshuffled from ``(seed, epoch)``. Everything
random about a clip (which batch it is in, where it is cropped, its augmentation) is drawn in the main
process from ``(seed, epoch, utterance index)`` and travels with the request to the workers
(:class:`ClipKey`), so batches are identical for any ``num_workers``. ``state_dict`` records the epoch and
the number of this rank's batches already handed out; a loader restored from it continues with exactly
the batches an uninterrupted run would have produced next.

Length bucketing: utterances are shuffled, then sorted by length within pools of ``BUCKET_POOL`` batches,
so a batch holds utterances of similar length. A batch is as long as its longest member, at most
``clip_seconds``: a batch of short utterances is not padded up to the full clip length.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import numpy as np
import torch
from einops import rearrange
from torch.utils.data import DataLoader, Dataset

from ...audio import read_segment
from ...manifest import Interval, ManifestEntry
from ..errors import DataError
from .augment import Channel
from .batch import Batch

BUCKET_POOL = 32  # batches per sorting pool: larger pools bucket more tightly but shuffle less


@dataclass(frozen=True)
class ClipKey:
    """Everything a worker needs to cut one clip, decided in the main process."""

    index: int  # position of the utterance in the loader's entries
    frame_offset: int  # crop start, in frames of hop_length samples
    num_samples: int  # clip length of the batch, a multiple of hop_length
    augment_seed: tuple[int, ...] | None  # seed of the channel augmentation, None: no augmentation


def slice_intervals(intervals: Sequence[Interval], start: float, end: float) -> tuple[Interval, ...]:
    """Intervals overlapping ``[start, end)`` seconds, clipped to it and shifted to start at 0."""
    return tuple(
        Interval(max(i.start, start) - start, min(i.end, end) - start, i.label)
        for i in intervals
        if i.end > start and i.start < end
    )


class ClipDataset(Dataset):
    """Map-style dataset indexed by :class:`ClipKey`; returns a one-item :class:`Batch`."""

    def __init__(self, entries: Sequence[ManifestEntry], sample_rate: int, hop_length: int, channel: Channel | None):
        self.entries, self.sample_rate, self.hop_length, self.channel = list(entries), sample_rate, hop_length, channel

    def __len__(self) -> int:
        return len(self.entries)

    def __getitem__(self, key: ClipKey) -> Batch:
        entry = self.entries[key.index]
        start = key.frame_offset * self.hop_length
        audio = read_segment(entry.audio, start, key.num_samples, self.sample_rate)  # [S]
        begin, end = start / self.sample_rate, (start + key.num_samples) / self.sample_rate
        # augment the speech only: padding stays digital silence, so it is recognisably padding
        valid = min(key.num_samples, max(0, round(entry.duration * self.sample_rate) - start))
        if self.channel is not None and key.augment_seed is not None and valid > 0:
            rng = np.random.default_rng(key.augment_seed)
            audio[:valid] = torch.from_numpy(self.channel(audio[:valid].numpy(), self.sample_rate, rng))
        return Batch(
            audio=rearrange(audio, "s -> 1 1 s"),
            ids=[entry.id],
            frame_offsets=[key.frame_offset],
            words=[slice_intervals(entry.words, begin, end)],
            phones=[slice_intervals(entry.phones, begin, end)],
            languages=[entry.language],
            speakers=[entry.speaker],
            valid_frames=[-(-valid // self.hop_length)],
        )


def collate(items: Sequence[Batch]) -> Batch:
    """One-item batches of equal length -> one batch; audio ``[B, 1, S]``."""
    return Batch(
        audio=torch.cat([b.audio for b in items]),
        ids=[i for b in items for i in b.ids],
        frame_offsets=[f for b in items for f in b.frame_offsets],
        words=[w for b in items for w in b.words],
        phones=[p for b in items for p in b.phones],
        languages=[x for b in items for x in b.languages],
        speakers=[s for b in items for s in b.speakers],
        valid_frames=[f for b in items for f in b.valid_frames],
    )


class EpochPlan:
    """Which clips make up each of this rank's batches in an epoch, from (seed, epoch) only."""

    def __init__(
        self,
        lengths: np.ndarray,
        batch_size: int,
        clip_samples: int,
        hop_length: int,
        seed: int,
        rank: int,
        world_size: int,
        augment: bool,
    ) -> None:
        self.lengths = lengths  # [N] utterance lengths in samples
        self.batch_size, self.clip_samples, self.hop_length = batch_size, clip_samples, hop_length
        self.seed, self.rank, self.world_size, self.augment = seed, rank, world_size, augment
        self.batches_per_epoch = len(lengths) // batch_size // world_size

    def _global_batches(self, rng: np.random.Generator) -> np.ndarray:
        """``[num_batches, batch_size]`` utterance indices: shuffled, length-bucketed, batch order shuffled."""
        order = rng.permutation(len(self.lengths))
        clipped = np.minimum(self.lengths, self.clip_samples)
        pool = self.batch_size * BUCKET_POOL
        bucketed = np.concatenate(
            [
                chunk[np.argsort(clipped[chunk], kind="stable")]
                for chunk in np.split(order, range(pool, len(order), pool))
            ]
        )
        usable = len(bucketed) // self.batch_size * self.batch_size
        batches = rearrange(bucketed[:usable], "(n b) -> n b", b=self.batch_size)
        return batches[rng.permutation(len(batches))]

    def batches(self, epoch: int) -> list[list[ClipKey]]:
        """This rank's batches of ``epoch``, in order."""
        rng = np.random.default_rng([self.seed, epoch])
        # offsets for every utterance are drawn up front, so a clip does not depend on batch composition
        max_frames = np.maximum(0, (self.lengths - self.clip_samples) // self.hop_length)
        offsets = np.floor(rng.random(len(self.lengths)) * (max_frames + 1)).astype(np.int64)
        batches = self._global_batches(rng)[: self.batches_per_epoch * self.world_size][self.rank :: self.world_size]
        plan = []
        for batch in batches:
            longest = max(min(int(self.lengths[i]) - offsets[i] * self.hop_length, self.clip_samples) for i in batch)
            num_samples = max(self.hop_length, math.ceil(longest / self.hop_length) * self.hop_length)
            plan.append(
                [
                    ClipKey(int(i), int(offsets[i]), num_samples, (self.seed, epoch, int(i)) if self.augment else None)
                    for i in batch
                ]
            )
        return plan


class ClipLoader:
    """Endless, resumable, DDP-sharded iterator of :class:`Batch` clips cut from manifest entries.

    Clips are ``clip_seconds`` long at the model's ``sample_rate`` (rounded down to whole frames of its
    ``hop_length`` samples), start on a frame boundary (``Batch.frame_offsets``, in frames) and carry the words
    and phones inside them, with times relative to the clip start. Utterances shorter than a clip are zero-padded
    at the end.
    Each rank (``rank`` of ``world_size``) gets disjoint batches, the same number per epoch.
    """

    def __init__(
        self,
        entries: list[ManifestEntry],
        batch_size: int,
        *,
        sample_rate: int,
        hop_length: int,
        clip_seconds: float = 3.8,
        seed: int = 0,
        num_workers: int = 0,
        rank: int = 0,
        world_size: int = 1,
        augment: bool = False,
    ) -> None:
        if not 0 <= rank < world_size:
            raise DataError(f"rank {rank} must be in [0, world_size={world_size}).")
        if len(entries) < batch_size * world_size:
            raise DataError(
                f"{len(entries)} utterances cannot fill one batch of {batch_size} on each of {world_size} ranks; "
                "use a smaller batch_size or more data."
            )
        clip_samples = int(clip_seconds * sample_rate) // hop_length * hop_length
        if clip_samples < hop_length:
            raise DataError(f"clip_seconds={clip_seconds} is shorter than one frame ({hop_length} samples).")
        lengths = np.array([round(e.duration * sample_rate) for e in entries], dtype=np.int64)
        self.plan = EpochPlan(lengths, batch_size, clip_samples, hop_length, seed, rank, world_size, augment)
        self.dataset = ClipDataset(entries, sample_rate, hop_length, Channel() if augment else None)
        self.num_workers = num_workers
        self.epoch, self.position = 0, 0

    def __len__(self) -> int:
        """Batches per epoch on this rank."""
        return self.plan.batches_per_epoch

    def _keys(self, epoch: int, position: int) -> Iterator[list[ClipKey]]:
        while True:
            yield from self.plan.batches(epoch)[position:]
            epoch, position = epoch + 1, 0

    def __iter__(self) -> Iterator[Batch]:
        loader = DataLoader(
            self.dataset,
            batch_sampler=self._keys(self.epoch, self.position),
            collate_fn=collate,
            num_workers=self.num_workers,
        )
        for batch in loader:
            # counted when handed out, not when prefetched, so a checkpoint taken now resumes right after it
            self.position += 1
            if self.position == self.plan.batches_per_epoch:
                self.epoch, self.position = self.epoch + 1, 0
            yield batch

    def state_dict(self) -> dict:
        return {"epoch": self.epoch, "position": self.position}

    def load_state_dict(self, state: dict) -> None:
        position = int(state["position"])
        if not 0 <= position < self.plan.batches_per_epoch:
            raise DataError(
                f"data position {position} is outside an epoch of {self.plan.batches_per_epoch} batches: the "
                "manifest, batch_size or world_size differ from the run that saved it."
            )
        self.epoch, self.position = int(state["epoch"]), position
