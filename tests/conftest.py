"""Shared fixtures: a tiny random model with the full structure (fast on CPU)."""

from __future__ import annotations

import pytest
import torch

from hac_tokenizer import HACTokenizer
from hac_tokenizer.config import tiny_config


@pytest.fixture(scope="session")
def tiny_tokenizer() -> HACTokenizer:
    torch.manual_seed(0)
    return HACTokenizer.from_config(tiny_config())
