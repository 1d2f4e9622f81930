"""The machine a benchmark ran on, named the same way by every script: CPU model, its bf16/fp16 instructions,
torch's CPU kernel level, threads, and the GPU when one is used. Figures from different machines differ (the
workplace has AMD EPYC and Intel Xeon builders), so every printed table starts from this line. Also the one way
the scripts time a call on that machine (``timed``)."""

from __future__ import annotations

import time
from collections.abc import Callable

import torch

from hac_tokenizer.cpu import cpu_info

CPU_FLAGS = ("avx512_bf16", "amx_bf16", "avx512_fp16", "amx_fp16")  # which bf16/fp16 kernels the CPU can run


def cpu_description() -> str:
    """``"<model name> (avx512_bf16 yes, amx_bf16 no, ...; torch kernels AVX512)"``."""
    cpu = cpu_info()
    listed = ", ".join(f"{f} {'yes' if f in cpu.flags else 'no'}" for f in CPU_FLAGS) if cpu.flags else "flags unknown"
    return f"{cpu.model} ({listed}; torch kernels {torch.backends.cpu.get_cpu_capability()})"


def machine_description(device: str = "cpu") -> str:
    """The CPU line, and a GPU line when ``device`` is CUDA."""
    lines = [f"CPU: {cpu_description()}, {torch.get_num_threads()} threads, torch {torch.__version__}"]
    if device.startswith("cuda"):
        lines.append(f"GPU: {torch.cuda.get_device_name(torch.device(device))}, CUDA {torch.version.cuda}")
    return "\n".join(lines)


def timed(fn: Callable[[], object], device: str) -> tuple[float, object]:
    """``(wall seconds, fn())``; on CUDA the queue is drained before and after, so the time is the call's own."""
    if device.startswith("cuda"):
        torch.cuda.synchronize()
    start = time.perf_counter()
    out = fn()
    if device.startswith("cuda"):
        torch.cuda.synchronize()
    return time.perf_counter() - start, out
