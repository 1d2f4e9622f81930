"""Linear probes: how much speaker identity and phone identity each stream's embeddings hold.

- **Speaker probe**: one sample per utterance, the stream's embedding averaged over the utterance's
  valid frames (time pooling); label = the manifest's ``speaker``. Split by utterance, per speaker:
  ``test_fraction`` of each speaker's utterances (at least one, if the speaker has two or more) are held out.
- **Phone probe**: one sample per labelled frame, the stream's embedding of that frame; label = the frame's
  phone. Split by utterance: frames of held-out utterances form the test set.

The probe is multinomial logistic regression (one linear layer + softmax) on features standardised
with the training set's mean and std, trained full-batch with L-BFGS (``steps`` iterations, L2
penalty ``weight_decay``) from zero weights, so a run is deterministic given the split ``seed``.
Reported: test accuracy with its 95 % Wilson interval (a speaker probe tests a few dozen utterances, where
one utterance moves the accuracy by a few points), and the chance level of always answering the training
set's most frequent class. Test labels never seen in training count as errors.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor

from .errors import EvaluationError


def wilson_interval(hits: int, trials: int, z: float = 1.96) -> tuple[float, float]:
    """95 % Wilson score interval of the share ``hits / trials`` (``trials`` > 0).

    Unlike the normal approximation it stays inside [0, 1] and keeps its coverage near 0 and 1, where
    chance-level accuracies and voice-conversion transfer rates live.
    """
    share, spread = hits / trials, z * z / trials
    centre = (share + spread / 2) / (1 + spread)
    half = z / (1 + spread) * (share * (1 - share) / trials + spread / (4 * trials)) ** 0.5
    return max(0.0, centre - half), min(1.0, centre + half)


@dataclass(frozen=True)
class ProbeResult:
    accuracy: float
    chance: float
    num_train: int
    num_test: int
    num_classes: int

    @property
    def accuracy_95(self) -> tuple[float, float]:
        """95 % Wilson interval of ``accuracy`` over the ``num_test`` test samples."""
        return wilson_interval(round(self.accuracy * self.num_test), self.num_test)

    def to_dict(self) -> dict:
        return dict(self.__dict__) | {"accuracy_95": self.accuracy_95}


def _encode_labels(train: Sequence[str], test: Sequence[str]) -> tuple[Tensor, Tensor, int]:
    names = {name: i for i, name in enumerate(sorted(set(train)))}
    return (
        torch.tensor([names[y] for y in train]),
        torch.tensor([names.get(y, -1) for y in test]),  # -1: unseen in training, always wrong
        len(names),
    )


def linear_probe(
    train_x: Tensor,
    train_y: Sequence[str],
    test_x: Tensor,
    test_y: Sequence[str],
    steps: int = 100,
    weight_decay: float = 1e-4,
) -> ProbeResult:
    """Fit on ``train_x [N, D]`` and score on ``test_x [M, D]`` (see the module docstring)."""
    if len(train_x) == 0 or len(test_x) == 0:
        raise EvaluationError("a probe needs samples in both its training and test sets; use more utterances.")
    y_train, y_test, classes = _encode_labels(train_y, test_y)
    if classes < 2:
        raise EvaluationError("a probe needs at least two classes in its training set.")
    mean, std = train_x.mean(0), train_x.std(0).clamp_min(1e-6)
    x_train, x_test = (train_x - mean) / std, (test_x - mean) / std
    y_train, y_test = y_train.to(train_x.device), y_test.to(train_x.device)
    weight = torch.zeros(x_train.shape[1], classes, device=train_x.device, requires_grad=True)
    bias = torch.zeros(classes, device=train_x.device, requires_grad=True)
    optimizer = torch.optim.LBFGS([weight, bias], max_iter=steps, line_search_fn="strong_wolfe")

    def closure() -> Tensor:
        optimizer.zero_grad()
        loss = F.cross_entropy(x_train @ weight + bias, y_train) + weight_decay * weight.pow(2).sum()
        loss.backward()
        return loss

    with torch.enable_grad():
        optimizer.step(closure)
    with torch.no_grad():
        predicted = (x_test @ weight + bias).argmax(-1)
    majority = torch.bincount(y_train, minlength=classes).argmax()
    return ProbeResult(
        accuracy=float((predicted == y_test).float().mean()),
        chance=float((y_test == majority).float().mean()),
        num_train=len(x_train),
        num_test=len(x_test),
        num_classes=classes,
    )


def split_by_group(groups: Sequence[str], test_fraction: float, seed: int) -> np.ndarray:
    """``[U]`` bool, True for held-out utterances: ``test_fraction`` of each group's utterances, at least one
    from every group of two or more (a group is a speaker for the speaker probe, one group for the phone probe)."""
    rng = np.random.default_rng(seed)
    members: dict[str, list[int]] = defaultdict(list)
    for i, group in enumerate(groups):
        members[group].append(i)
    test = np.zeros(len(groups), dtype=bool)
    for indices in members.values():
        if len(indices) >= 2:
            count = min(len(indices) - 1, max(1, round(test_fraction * len(indices))))
            test[rng.choice(indices, size=count, replace=False)] = True
    return test


def speaker_probe(
    pooled: Tensor, speakers: Sequence[str], test_fraction: float = 0.3, seed: int = 0, **fit
) -> ProbeResult:
    """Speaker identity from time-pooled embeddings ``pooled [U, D]``, one row per utterance."""
    if len(set(speakers)) < 2:
        raise EvaluationError("the speaker probe needs at least two speakers in the manifest.")
    test = split_by_group(speakers, test_fraction, seed)
    labels = np.asarray(speakers)
    held_out = torch.from_numpy(test).to(pooled.device)
    return linear_probe(pooled[~held_out], labels[~test], pooled[held_out], labels[test], **fit)


def phone_probe(
    frames: Sequence[Tensor], labels: Sequence[Sequence[str | None]], test_fraction: float = 0.3, seed: int = 0, **fit
) -> ProbeResult:
    """Phone identity from frame embeddings ``frames[u] [F_u, D]`` with ``labels[u]`` (None: unlabelled, skipped)."""
    if len(frames) < 2:
        raise EvaluationError("the phone probe needs at least two utterances (one to train on, one to test).")
    test = split_by_group(["all"] * len(frames), test_fraction, seed)
    sets: dict[bool, tuple[list[Tensor], list[str]]] = {True: ([], []), False: ([], [])}
    for held_out, x, y in zip(test, frames, labels):
        keep = [t for t, label in enumerate(y) if label is not None]
        sets[bool(held_out)][0].append(x[keep])
        sets[bool(held_out)][1].extend(y[t] for t in keep)
    return linear_probe(torch.cat(sets[False][0]), sets[False][1], torch.cat(sets[True][0]), sets[True][1], **fit)
