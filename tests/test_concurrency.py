"""One HACTokenizer shared by threads gives exactly what sequential calls give (encode/decode hold a lock)."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
import torch
from signals import chirp

from hac_tokenizer import HACTokens
from hac_tokenizer.errors import AudioInputError, TokenError

THREADS = 4
JOBS = [chirp(n, seed=i) for i, n in enumerate((4000, 320, 1, 3000, 641, 2500, 1200, 999))]


def _same(a: HACTokens, b: HACTokens) -> bool:
    return torch.equal(a.lengths, b.lengths) and all(
        torch.equal(x, y) for x, y in zip(a.streams().values(), b.streams().values())
    )


def _start_together(fn):
    """Wrap ``fn`` so every worker begins at the same moment, maximising overlap."""
    barrier = threading.Barrier(THREADS)

    def run(arg):
        if arg[0] < THREADS:
            barrier.wait(timeout=30)
        return fn(arg[1])

    return run


def test_threaded_encode_equals_sequential(tiny_tokenizer):
    sequential = [tiny_tokenizer.encode(x) for x in JOBS]
    jobs = list(enumerate(JOBS * 2))
    with ThreadPoolExecutor(THREADS) as pool:
        threaded = list(pool.map(_start_together(tiny_tokenizer.encode), jobs))
    assert all(_same(got, sequential[i % len(JOBS)]) for i, got in enumerate(threaded))


def test_threaded_decode_equals_sequential(tiny_tokenizer):
    tokens = [tiny_tokenizer.encode(x) for x in JOBS]
    sequential = [tiny_tokenizer.decode(t).waveform for t in tokens]
    with ThreadPoolExecutor(THREADS) as pool:
        threaded = list(pool.map(_start_together(tiny_tokenizer.decode), enumerate(tokens)))
    assert all(torch.equal(got.waveform, want) for got, want in zip(threaded, sequential))


def test_mixed_batches_and_stream_subsets_in_threads(tiny_tokenizer):
    """Different batch shapes and ``streams`` per call: nothing leaks from one call into another."""
    calls = [
        lambda: tiny_tokenizer.encode(JOBS[:3]),
        lambda: tiny_tokenizer.encode(JOBS[3], streams=("phonetic",)),
        lambda: tiny_tokenizer.encode(torch.stack([JOBS[0], JOBS[0]])),
        lambda: tiny_tokenizer.encode(JOBS[6], streams=("acoustic",)),
    ]
    sequential = [call() for call in calls]
    with ThreadPoolExecutor(THREADS) as pool:
        threaded = list(pool.map(_start_together(lambda call: call()), enumerate(calls * 3)))
    assert all(_same(got, sequential[i % len(calls)]) for i, got in enumerate(threaded))


def test_a_failing_call_does_not_block_or_disturb_others(tiny_tokenizer):
    good = tiny_tokenizer.encode(JOBS[0])
    bad_tokens = HACTokens(**{**vars(good), "lexical": good.lexical + 1000})

    def call(kind):
        if kind == "bad-audio":
            with pytest.raises(AudioInputError):
                tiny_tokenizer.encode(torch.full((100,), float("nan")))
            return None
        if kind == "bad-tokens":
            with pytest.raises(TokenError):
                tiny_tokenizer.decode(bad_tokens)
            return None
        return tiny_tokenizer.encode(JOBS[0])

    kinds = ["bad-audio", "good", "bad-tokens", "good"] * 3
    with ThreadPoolExecutor(THREADS) as pool:
        results = list(pool.map(_start_together(call), enumerate(kinds)))
    assert sum(r is not None for r in results) == 6 and all(_same(r, good) for r in results if r is not None)
