"""Test signals shared by the test modules."""

from __future__ import annotations

import numpy as np
import torch


def chirp(num_samples: int, sample_rate: int = 16000, seed: int = 0) -> torch.Tensor:
    """A speech-like test signal: a gliding tone with noise, amplitude below 0.5."""
    rng = np.random.default_rng(seed)
    t = np.arange(num_samples) / sample_rate
    f = 120 + 200 * t / max(t[-1], 1e-3) if num_samples > 1 else np.array([120.0])
    signal = 0.3 * np.sin(2 * np.pi * np.cumsum(f) / sample_rate) + 0.05 * rng.standard_normal(num_samples)
    return torch.from_numpy(signal.astype(np.float32))


def rms(audio: np.ndarray, rate: int, start: float, end: float) -> float:
    """Root mean square of ``audio`` ``[S]`` between ``start`` and ``end`` seconds (0 for an empty span)."""
    segment = audio[int(start * rate) : int(end * rate)].astype(np.float64)
    return float(np.sqrt(np.mean(segment**2))) if len(segment) else 0.0
