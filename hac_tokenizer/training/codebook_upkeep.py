"""Codebook upkeep during training: usage statistics of every quantizer, and dead-code replacement.

One :class:`CodebookMonitor` per quantizer (the acoustic RVQ counts per layer) sees the codes of every step.
Every ``replace_every`` steps, codes that have become dead are re-seeded with latents of the current batch.
Under DDP rank 0 decides and replaces, then broadcasts the codebooks, so the ranks' weights stay identical
(their optimiser states already are: gradients are averaged).
"""

from __future__ import annotations

import torch
import torch.distributed as dist
from einops import rearrange

from ..model import HACModel
from ..quantization import FactorizedVQ, VQOutput
from .codebook import CodebookMonitor, replace_dead_codes
from .config import CodebookConfig
from .runtime import Runtime


class CodebookUpkeep:
    def __init__(self, model: HACModel, config: CodebookConfig, seed: int) -> None:
        self.config = config
        self.quantizers: dict[str, list[FactorizedVQ]] = {"acoustic": list(model.acoustic.layers)}
        self.quantizers |= {name: [stream.vq] for name, stream in model.streams().items()}
        decay = 1.0 - 1.0 / max(config.usage_window, 1)
        self.monitors = {
            name: CodebookMonitor(vqs[0].codebook_size, len(vqs), decay=decay, dead_ratio=config.dead_ratio)
            for name, vqs in self.quantizers.items()
        }
        self.generator = torch.Generator().manual_seed(seed)

    def observe(self, quantized: dict[str, VQOutput], frame_mask: torch.Tensor | None = None) -> None:
        """Count this step's codes (``[B, T]`` per stream, ``[B, N, T]`` for the acoustic RVQ) on ``frame_mask [B, T]``."""
        for name, monitor in self.monitors.items():
            monitor.update(quantized[name].codes.detach(), frame_mask)

    def metrics(self) -> dict[str, float]:
        """Live-code fraction and perplexity of each stream (mean over RVQ layers for the acoustic one)."""
        values = {}
        for name, monitor in self.monitors.items():
            values[f"usage_{name}"] = monitor.usage()
            values[f"perplexity_{name}"] = monitor.perplexity()
        return values

    def due(self, step: int) -> bool:
        return self.config.replace_every > 0 and step % self.config.replace_every == 0

    @torch.no_grad()
    def replace(self, quantized: dict[str, VQOutput], runtime: Runtime, frame_mask: torch.Tensor | None = None) -> int:
        """Re-seed dead codes from this batch's latents (rank 0), then share the codebooks; returns the count.

        ``frame_mask [B, T]`` marks frames of real audio: padding would seed codes that only silence picks.
        Re-seeded codes are credited as alive (:meth:`CodebookMonitor.revive`), so they get ``usage_window`` steps
        to be picked before they can be replaced again.
        """
        replaced = 0
        if runtime.is_main:
            for name, vqs in self.quantizers.items():
                latents = quantized[name].latent.detach()
                layers = rearrange(latents, "b n d t -> n b d t") if name == "acoustic" else latents[None]
                dead = self.monitors[name].dead_codes()  # [N, K]
                revived = torch.zeros_like(dead)
                for layer, (vq, layer_latents) in enumerate(zip(vqs, layers)):
                    count = replace_dead_codes(vq, layer_latents.float(), dead[layer], self.generator, frame_mask)
                    revived[layer] = dead[layer] if count else False
                    replaced += count
                self.monitors[name].revive(revived)
        if runtime.distributed:
            for vqs in self.quantizers.values():
                for vq in vqs:
                    dist.broadcast(vq.codebook.weight.data, src=0)
        return replaced

    def state_dict(self) -> dict:
        return {
            "monitors": {name: m.state_dict() for name, m in self.monitors.items()},
            "generator": self.generator.get_state(),
        }

    def load_state_dict(self, state: dict) -> None:
        for name, monitor in self.monitors.items():
            monitor.load_state_dict(state["monitors"][name])
        self.generator.set_state(state["generator"])
