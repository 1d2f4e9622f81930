"""ABX discriminability of triphones, within and across speakers (Schatz 2016; ZeroSpeech CD task).

Items are the triphones of the manifest's phone alignments: three consecutive phone intervals of one
utterance (gaps between them under one frame), spanning the frames from the first phone's start to
the third's end (a frame belongs to an interval when its centre does, as in ``manifest.frame_labels``).
A triplet (A, B, X) has A and X of the same triphone, and B of the same context (left and right phone)
but another central phone. *Within* speaker: A, B and X come from one speaker. *Across* speaker: A and B
from one speaker, X from another.

Distance: frame-wise DTW between the two items' feature sequences, with the angular distance
``arccos(cos(u, v)) / pi`` between frames, averaged along the optimal path (ZeroSpeech's convention).
A triplet is an error when ``d(A, X) > d(B, X)`` (half an error on a tie). Errors are averaged in each
cell (central phones a, b; context; speaker(s)), cells are averaged per phone pair (a, b), and the
pairs are averaged: the ABX error rate in [0, 1], 0.5 for features that ignore phones.

Which features are scored is the caller's choice; ``hac-eval`` uses token embeddings (see ``runner``).
At most ``max_per_cell`` triplets are drawn per cell and ``max_triplets`` in all, with a fixed seed.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import permutations
from typing import Literal

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor

from ..manifest import Interval
from .errors import EvaluationError

Mode = Literal["within", "across"]


@dataclass(frozen=True)
class Triphone:
    """A triphone item: frames ``[start, end)`` of utterance ``utterance``."""

    utterance: int
    start: int
    end: int
    phone: str
    context: tuple[str, str]
    speaker: str


def frame_index(time: float, frame_rate: float) -> int:
    """First frame whose centre is at or after ``time`` (the convention of ``manifest.frame_labels``)."""
    return max(0, math.ceil(time * frame_rate - 0.5))


def triphones(
    utterance: int, phones: Sequence[Interval], speaker: str, num_frames: int, frame_rate: float
) -> list[Triphone]:
    """Every triphone of one utterance's phone alignment that covers at least one frame."""
    items = []
    for left, centre, right in zip(phones, phones[1:], phones[2:]):
        if centre.start - left.end >= 1 / frame_rate or right.start - centre.end >= 1 / frame_rate:
            continue
        start, end = frame_index(left.start, frame_rate), min(num_frames, frame_index(right.end, frame_rate))
        if end > start:
            items.append(Triphone(utterance, start, end, centre.label, (left.label, right.label), speaker))
    return items


@dataclass(frozen=True)
class Triplets:
    """Sampled triplets as item indices, and the phone pair / cell each one belongs to."""

    a: np.ndarray  # [M]
    b: np.ndarray  # [M]
    x: np.ndarray  # [M]
    cell: np.ndarray  # [M] cell id
    pair_of_cell: np.ndarray  # [cells] phone-pair id of each cell

    def __len__(self) -> int:
        return len(self.a)


def _cells(items: Sequence[Triphone], mode: Mode):
    """Yield (phone pair, As, Bs, Xs) per cell; A/B/X are lists of item indices."""
    index: dict[tuple[str, str], dict[str, dict[str, list[int]]]] = defaultdict(
        lambda: defaultdict(lambda: defaultdict(list))
    )
    for i, item in enumerate(items):
        index[item.context][item.speaker][item.phone].append(i)
    for by_speaker in index.values():
        for speaker, by_phone in by_speaker.items():
            for a, b in permutations(sorted(by_phone), 2):
                if mode == "within":
                    yield (a, b), by_phone[a], by_phone[b], by_phone[a]
                    continue
                for other_speaker, other in by_speaker.items():
                    if other_speaker != speaker and a in other:
                        yield (a, b), by_phone[a], by_phone[b], other[a]


def _draw(As: list[int], Bs: list[int], Xs: list[int], k: int, rng: np.random.Generator) -> list[tuple[int, int, int]]:
    """Up to ``k`` distinct (A, B, X) with A != X, uniformly from the cell's product."""
    total = len(As) * len(Bs) * len(Xs)
    # draw a few more than k because draws with A == X are dropped
    flat = rng.choice(total, size=min(total, 4 * k), replace=False)
    a, rest = np.divmod(flat, len(Bs) * len(Xs))
    b, x = np.divmod(rest, len(Xs))
    picked = [(As[i], Bs[j], Xs[m]) for i, j, m in zip(a, b, x) if As[i] != Xs[m]]
    return picked[:k]


def sample_triplets(
    items: Sequence[Triphone], mode: Mode, max_per_cell: int = 5, max_triplets: int = 20000, seed: int = 0
) -> Triplets:
    """Draw up to ``max_per_cell`` triplets (A != X) from every cell, then at most ``max_triplets`` in all."""
    rng = np.random.default_rng(seed)
    rows, pair_ids, pairs = [], [], {}
    for pair, As, Bs, Xs in _cells(items, mode):
        drawn = _draw(As, Bs, Xs, max_per_cell, rng)
        if not drawn:
            continue
        cell = len(pair_ids)
        pair_ids.append(pairs.setdefault(pair, len(pairs)))
        rows += [(*triplet, cell) for triplet in drawn]
    if not rows:
        raise EvaluationError(
            f"no {mode}-speaker ABX triplet: needs two triphones sharing a context with different central phones"
            + (" and a second speaker" if mode == "across" else "")
            + " (use more or longer utterances)."
        )
    table = np.asarray(rows, dtype=np.int64)
    if len(table) > max_triplets:
        table = table[np.sort(rng.choice(len(table), size=max_triplets, replace=False))]
    return Triplets(table[:, 0], table[:, 1], table[:, 2], table[:, 3], np.asarray(pair_ids))


def dtw_distance(first: Sequence[Tensor], second: Sequence[Tensor], device: torch.device | str = "cpu") -> Tensor:
    """Path-averaged DTW distance of each pair ``first[i] [F_i, D]``, ``second[i] [G_i, D]`` -> ``[P]``.

    Batched over pairs by anti-diagonals: cell (i, j) needs only cells of the two previous diagonals.
    """
    count = len(first)
    la = torch.tensor([len(f) for f in first], device=device)
    lb = torch.tensor([len(s) for s in second], device=device)
    u = F.normalize(torch.nn.utils.rnn.pad_sequence([f.float() for f in first], batch_first=True).to(device), dim=-1)
    v = F.normalize(torch.nn.utils.rnn.pad_sequence([s.float() for s in second], batch_first=True).to(device), dim=-1)
    cost = torch.arccos(torch.einsum("pid,pjd->pij", u, v).clamp(-1.0, 1.0)) / math.pi  # [P, La, Lb]
    rows, cols = cost.shape[1], cost.shape[2]
    total = torch.full((count, rows + 1, cols + 1), math.inf, device=device)
    steps = torch.zeros((count, rows + 1, cols + 1), device=device)
    total[:, 0, 0] = 0.0
    for diagonal in range(2, rows + cols + 1):
        i = torch.arange(max(1, diagonal - cols), min(rows, diagonal - 1) + 1, device=device)
        j = diagonal - i
        options = torch.stack([total[:, i - 1, j - 1], total[:, i - 1, j], total[:, i, j - 1]])  # [3, P, cells]
        lengths = torch.stack([steps[:, i - 1, j - 1], steps[:, i - 1, j], steps[:, i, j - 1]])
        best, choice = options.min(0)
        total[:, i, j] = best + cost[:, i - 1, j - 1]
        steps[:, i, j] = lengths.gather(0, choice[None])[0] + 1
    index = torch.arange(count, device=device)
    return (total[index, la, lb] / steps[index, la, lb]).cpu()


def _pair_distances(features: Sequence[Tensor], pairs: np.ndarray, device, chunk: int) -> dict[tuple[int, int], float]:
    # similar lengths in one chunk keep the padded DTW grid small
    order = sorted(range(len(pairs)), key=lambda k: (len(features[pairs[k, 0]]), len(features[pairs[k, 1]])))
    out = {}
    for begin in range(0, len(order), chunk):
        batch = pairs[order[begin : begin + chunk]]
        d = dtw_distance([features[i] for i in batch[:, 0]], [features[j] for j in batch[:, 1]], device)
        out.update({(int(i), int(j)): float(v) for (i, j), v in zip(batch, d)})
    return out


def abx_error(
    features: Sequence[Tensor], triplets: Triplets, device: torch.device | str = "cpu", chunk: int = 2048
) -> float:
    """ABX error rate of ``triplets`` with ``features[item] [F_item, D]``, aggregated as the module says."""
    pairs = np.unique(
        np.concatenate([np.stack([triplets.a, triplets.x], 1), np.stack([triplets.b, triplets.x], 1)]), axis=0
    )
    distance = _pair_distances(features, pairs, device, chunk)
    d_ax = np.array([distance[(a, x)] for a, x in zip(triplets.a, triplets.x)])
    d_bx = np.array([distance[(b, x)] for b, x in zip(triplets.b, triplets.x)])
    errors = (d_ax > d_bx) + 0.5 * (d_ax == d_bx)
    cells = len(triplets.pair_of_cell)
    per_cell = np.bincount(triplets.cell, minlength=cells)
    present = per_cell > 0  # subsampling to max_triplets can empty a cell
    cell_error = np.bincount(triplets.cell, weights=errors, minlength=cells)[present] / per_cell[present]
    pair_of_cell = triplets.pair_of_cell[present]
    pair_error = np.bincount(pair_of_cell, weights=cell_error) / np.bincount(pair_of_cell).clip(min=1)
    return float(pair_error[np.bincount(pair_of_cell) > 0].mean())
