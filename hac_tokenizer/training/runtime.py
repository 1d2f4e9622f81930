"""Where a training process runs: its device, its rank among ``torchrun`` processes, mixed precision.

``torchrun`` sets ``RANK``, ``WORLD_SIZE`` and ``LOCAL_RANK``; a process started without them is a
single-process run. GPUs communicate through NCCL, CPU processes through gloo (used by the tests).

Mixed precision (``amp``) autocasts the forward passes; the weights, the optimiser state and the losses that
need the range (multi-scale mel, distillation cosines) stay fp32. On CPU only bf16 is offered, and only where the
CPU multiplies bf16 in hardware (AVX512-BF16, AMX or Arm's BF16): there oneDNN's bf16 matrix products take
~0.4x the fp32 time and a GAN step of the bundled recipe 0.6-0.8x the CPU time (MODEL_CARD.md); elsewhere bf16 is
emulated and slower than fp32, so such a CPU trains in fp32 and says so.
"""

from __future__ import annotations

import contextlib
import logging
import os
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import torch
import torch.distributed as dist
from torch import Tensor

from ..cpu import cpu_info
from ..errors import ConfigError

_AMP_DTYPES = {"bf16": torch.bfloat16, "fp16": torch.float16}

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Runtime:
    rank: int
    world_size: int
    device: torch.device
    amp: str  # what the forward passes run in: "none", "bf16" or "fp16" ("fp16" on CUDA only)

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    @property
    def distributed(self) -> bool:
        return self.world_size > 1

    def autocast(self) -> contextlib.AbstractContextManager:
        """Mixed precision for the forward passes (a no-op with ``amp: none``)."""
        if self.amp == "none":
            return contextlib.nullcontext()
        return torch.autocast(device_type=self.device.type, dtype=_AMP_DTYPES[self.amp])

    def barrier(self) -> None:
        if self.distributed:
            dist.barrier()

    def gather(self, obj: Any) -> list[Any]:
        """Every process's ``obj``, in rank order (a one-item list in a single-process run)."""
        if not self.distributed:
            return [obj]
        gathered: list[Any] = [None] * self.world_size
        dist.all_gather_object(gathered, obj)
        return gathered

    def mean(self, values: Tensor) -> Tensor:
        """Average a tensor over processes (for logging losses of the whole batch)."""
        if self.distributed:
            values = values.clone()
            dist.all_reduce(values)
            values /= self.world_size
        return values


def start_runtime(device: str, amp: str) -> Runtime:
    """Join the process group when launched by ``torchrun`` and pick this process's device."""
    world_size = int(os.environ.get("WORLD_SIZE", "1"))
    rank = int(os.environ.get("RANK", "0"))
    local_rank = int(os.environ.get("LOCAL_RANK", "0"))
    use_cuda = device == "cuda" or (device == "auto" and torch.cuda.is_available())
    if use_cuda and not torch.cuda.is_available():
        raise ConfigError("device: cuda was asked for but no CUDA device is visible; use device=cpu or device=auto.")
    if device not in ("auto", "cpu", "cuda"):
        raise ConfigError(f"device must be auto, cpu or cuda, got {device!r}.")
    if use_cuda:
        torch.cuda.set_device(local_rank)
        target = torch.device("cuda", local_rank)
    else:
        target = torch.device("cpu")
    if world_size > 1 and not dist.is_initialized():
        dist.init_process_group(backend="nccl" if use_cuda else "gloo")
    return Runtime(rank=rank, world_size=world_size, device=target, amp=amp if use_cuda else _cpu_amp(amp))


def _cpu_amp(amp: str) -> str:
    """The precision a CPU process trains in when ``amp`` is asked for."""
    if amp == "fp16":
        raise ConfigError("amp: fp16 needs CUDA; on CPU use amp=bf16 (CPUs with bf16 instructions) or amp=none.")
    if amp == "bf16" and not cpu_info().has_bf16:
        log.warning("amp: bf16 asked for, but this CPU has no bf16 instructions (AVX512-BF16, AMX): training in fp32")
        return "none"
    return amp


def stop_runtime(runtime: Runtime) -> None:
    if runtime.distributed and dist.is_initialized():
        dist.destroy_process_group()


@contextlib.contextmanager
def frozen(module: torch.nn.Module) -> Iterator[None]:
    """Parameters of ``module`` get no gradient inside (the discriminator during the generator step)."""
    flags = [p.requires_grad for p in module.parameters()]
    module.requires_grad_(False)
    try:
        yield
    finally:
        for p, flag in zip(module.parameters(), flags):
            p.requires_grad_(flag)
