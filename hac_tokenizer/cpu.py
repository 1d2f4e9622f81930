"""The CPU this process runs on, as Linux's ``/proc/cpuinfo`` names it: model and instruction flags.

One reader for everything that depends on the CPU: training picks its precision from the flags (bf16 autocast only
where the CPU multiplies bf16 in hardware; ``training.runtime``), and every benchmark names the CPU its figures came
from, since the workplace's machines differ (AMD EPYC, Intel Xeon with AMX). Where there is no ``/proc/cpuinfo``
(macOS, Windows) the model comes from :mod:`platform` and the flags are unknown (empty).
"""

from __future__ import annotations

import functools
import platform
from dataclasses import dataclass
from pathlib import Path

BF16_FLAGS = frozenset({"avx512_bf16", "amx_bf16", "bf16"})  # x86 AVX512-BF16 and AMX, Arm BF16
CPUINFO = Path("/proc/cpuinfo")


@dataclass(frozen=True)
class CpuInfo:
    model: str  # "model name" of the first core (x86); the platform's processor or machine name elsewhere
    flags: frozenset[str]  # the first core's "flags" (x86) or "Features" (Arm); empty where unknown

    @property
    def has_bf16(self) -> bool:
        """Whether the CPU multiplies bf16 in hardware (False where the flags are unknown)."""
        return bool(BF16_FLAGS & self.flags)


def read_cpu_info(cpuinfo: Path = CPUINFO) -> CpuInfo:
    """The CPU as ``cpuinfo`` describes it (its first core; all cores of a machine report the same)."""
    fields: dict[str, str] = {}
    try:
        lines = cpuinfo.read_text().splitlines()
    except OSError:
        lines = []
    for line in lines:
        key, _, value = line.partition(":")
        fields.setdefault(key.strip(), value.strip())
    model = fields.get("model name") or platform.processor() or platform.machine()
    return CpuInfo(model, frozenset((fields.get("flags") or fields.get("Features") or "").split()))


@functools.cache
def cpu_info() -> CpuInfo:
    """This machine's CPU, read once per process."""
    return read_cpu_info()
