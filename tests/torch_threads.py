"""A fixture that runs a test module with one torch thread.

The CI machine's two cores are shared by other jobs; torch's default of one OpenMP thread per core then
spins against them and slows the tiny models of these tests about tenfold (measured: 40 files through
the CLI took 31 s with the default threads, 4.6 s with one).
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import torch


@pytest.fixture(scope="module")
def one_torch_thread() -> Iterator[None]:
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)
