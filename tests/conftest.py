"""Shared fixtures: a tiny random model with the full structure (fast on CPU)."""

from __future__ import annotations

import os

# Tiny models, often several processes at once, on 2 shared cores: a second intra-op thread per process
# costs more in contention than it gains (measured: 40 files through the CLI took 31 s with torch's
# default threads, 4.6 s with one). Set before torch loads so that subprocesses inherit it too.
os.environ.setdefault("OMP_NUM_THREADS", "1")

import pytest
import torch

from hac_tokenizer import HACTokenizer
from hac_tokenizer.config import tiny_config

torch.set_num_threads(int(os.environ["OMP_NUM_THREADS"]))


@pytest.fixture(scope="session")
def tiny_tokenizer() -> HACTokenizer:
    torch.manual_seed(0)
    return HACTokenizer.from_config(tiny_config())
