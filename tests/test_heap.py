"""The C heap policy of CPU calls: freed blocks are reused inside, and handed back to the OS after the outermost."""

from __future__ import annotations

import resource
import threading
import time

import pytest
import torch

from hac_tokenizer import heap

BLOCK = 96 << 20  # above glibc's largest mmap threshold (32 MiB): outside the policy every such block is a fresh mmap
PAGES = BLOCK // 4096

glibc_only = pytest.mark.skipif(heap._glibc() is None, reason="the policy is glibc's mallopt/malloc_trim")


@pytest.fixture(autouse=True)
def _idle_heap():
    """Start each test from an idle heap: an earlier use's pending trim (and its settings) has happened."""
    timer = heap._trim_timer
    if timer is not None:
        timer.join(60)


def _faults_touching_a_fresh_block() -> int:
    before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    block = torch.empty(BLOCK, dtype=torch.uint8)
    block.fill_(1)  # touch every page
    after = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    del block
    return after - before


def _resident_bytes() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * 4096


@glibc_only
def test_a_freed_block_is_reused_inside_and_faulted_in_anew_outside():
    outside = min(_faults_touching_a_fresh_block() for _ in range(3))
    with heap.reusing_heap():
        # the heap settles within a few blocks (torch's aligned allocations move the first ones around)
        inside = [_faults_touching_a_fresh_block() for _ in range(6)]
    assert outside > PAGES // 2  # every page faulted in anew (fewer if the kernel maps huge pages)
    assert max(inside[-3:]) < PAGES // 20


def _resident_after(seconds: float) -> int:
    time.sleep(seconds)
    return _resident_bytes()


@glibc_only
def test_the_freed_heap_goes_back_once_idle(monkeypatch):
    monkeypatch.setattr(heap, "IDLE_SECONDS", 0.3)
    with heap.reusing_heap():
        with heap.reusing_heap():
            _faults_touching_a_fresh_block()
        assert heap.in_use()
    held = _resident_bytes()  # the outermost end keeps the freed block for the next call...
    assert not heap.in_use()
    deadline = time.monotonic() + 10
    while held - _resident_after(0.1) < BLOCK // 2:  # ...until no call has begun for IDLE_SECONDS
        assert time.monotonic() < deadline, "the idle heap was not handed back"


@glibc_only
class _CountingLibc:
    """glibc's mallopt as is, with malloc_trim calls counted (and still made)."""

    def __init__(self, libc) -> None:
        self.libc, self.trims = libc, 0
        self.mallopt = libc.mallopt

    def malloc_trim(self, pad: int) -> int:
        self.trims += 1
        return self.libc.malloc_trim(pad)


@glibc_only
def test_back_to_back_uses_do_not_trim_and_idle_trims_once(monkeypatch):
    # whether glibc then serves the next use from those pages depends on the heap's layout (benchmarks/
    # heap_policy.py measures it: 3-4 k faults per call instead of 40-145 k); what the policy owes is not to trim
    libc = _CountingLibc(heap._glibc())
    monkeypatch.setattr(heap, "_glibc", lambda: libc)
    monkeypatch.setattr(heap, "IDLE_SECONDS", 2.0)  # far longer than the uses below take
    for _ in range(6):  # separate uses, back to back
        with heap.reusing_heap():
            _faults_touching_a_fresh_block()
    assert libc.trims == 0  # each use cancelled the trim the previous one scheduled
    monkeypatch.setattr(heap, "IDLE_SECONDS", 0.1)
    with heap.reusing_heap():
        pass
    heap._trim_timer.join(10)
    assert libc.trims == 1  # once idle, the heap goes back exactly once


def test_concurrent_uses_share_one_setting_until_the_last_ends():
    inside, leave = threading.Event(), threading.Event()

    def hold():
        with heap.reusing_heap():
            inside.set()
            leave.wait(10)

    thread = threading.Thread(target=hold)
    thread.start()
    inside.wait(10)
    with heap.reusing_heap():
        pass
    assert heap.in_use()  # the other thread's use goes on
    leave.set()
    thread.join(10)
    assert not heap.in_use()


def test_tokenizer_runs_the_model_under_the_policy_on_cpu(tiny_tokenizer):
    seen = []
    model = tiny_tokenizer.model
    hooks = [part.register_forward_pre_hook(lambda *_: seen.append(heap.in_use())) for part in (model.encoder, model.decoder)]
    try:
        tokens = tiny_tokenizer.encode(torch.randn(16000) * 0.1, sample_rate=16000)
        tiny_tokenizer.decode(tokens)
    finally:
        for hook in hooks:
            hook.remove()
    assert seen == [True, True]
    assert not heap.in_use()
