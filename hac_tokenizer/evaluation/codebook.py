"""Codebook usage, perplexity and bitrate.

For one stream (or one RVQ layer) with codebook size K and the empirical frequency ``P(k)`` of each
code over all valid frames of the manifest (padding excluded):

- ``usage`` = #codes used at least once / K;
- ``entropy_bits`` = -sum_k P(k) log2 P(k);  ``perplexity`` = 2 ** entropy_bits (1 .. K; K when uniform);
- nominal bitrate = frame_rate * sum over streams/layers of log2 K (4900 bps for HAC-14);
- entropy bitrate = frame_rate * sum of ``entropy_bits``: the rate an ideal per-frame, per-stream
  entropy coder would reach with these unigram statistics (an upper bound of what a context model needs).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from .errors import EvaluationError


@dataclass(frozen=True)
class CodebookUsage:
    codebook_size: int
    used: int
    usage: float
    entropy_bits: float
    perplexity: float

    def to_dict(self) -> dict:
        return dict(self.__dict__)


def codebook_usage(codes: np.ndarray, codebook_size: int) -> CodebookUsage:
    """Usage statistics of ``codes [F]`` (valid frames only) for a codebook of ``codebook_size`` entries."""
    codes = np.asarray(codes).reshape(-1)
    if codes.size == 0:
        raise EvaluationError("no codes to count: the manifest produced no valid frames.")
    if codes.min() < 0 or codes.max() >= codebook_size:
        raise EvaluationError(f"codes must lie in [0, {codebook_size}); padding (-1) must be removed first.")
    counts = np.bincount(codes, minlength=codebook_size)
    p = counts[counts > 0] / codes.size
    entropy = float(-(p * np.log2(p)).sum())
    return CodebookUsage(codebook_size, int((counts > 0).sum()), float((counts > 0).mean()), entropy, 2.0**entropy)


@dataclass(frozen=True)
class Bitrate:
    nominal_bps: float
    entropy_bps: float

    def to_dict(self) -> dict:
        return dict(self.__dict__)


def bitrate(usages: Mapping[str, CodebookUsage], frame_rate: float) -> Bitrate:
    """Nominal and unigram-entropy bitrate of streams/layers sampled at ``frame_rate`` Hz."""
    nominal = frame_rate * sum(math.log2(u.codebook_size) for u in usages.values())
    return Bitrate(nominal, frame_rate * sum(u.entropy_bits for u in usages.values()))
