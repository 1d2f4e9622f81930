"""Codebook health during training: usage, perplexity, and replacement of dead codes.

:class:`CodebookMonitor` keeps an exponential moving average of how often each code is picked per update
(bias-corrected, so the first updates are plain averages rather than decayed zeros). From it:

* ``usage`` — the fraction of codes that are alive (not dead, below);
* ``perplexity`` — ``exp(entropy)`` of the code distribution: the number of equally used codes that would give
  the same entropy (``K`` for a uniform codebook, 1 for a collapsed one);
* ``dead_codes`` — codes picked at less than ``dead_ratio`` times the uniform rate ``1 / K``.

:func:`replace_dead_codes` re-seeds dead entries of a :class:`FactorizedVQ` with encoder latents of the current
batch, the remedy of Zeghidour et al. (SoundStream) and Dhariwal et al. (Jukebox): a code that lies among real
latents is picked again at the next step. The factorized, L2-normalised lookup already keeps usage high (DAC);
replacement is the safety net for the large 16384-entry stream codebooks. Under DDP, pass every rank the same
gathered latents and a generator with the same seed so that the ranks' codebooks stay identical.
"""

from __future__ import annotations

import torch
from einops import rearrange
from torch import Tensor

from ..quantization import FactorizedVQ
from .errors import CodebookError


class CodebookMonitor:
    """Moving statistics of the codes of one codebook (``num_codebooks=1``) or of each layer of an RVQ."""

    def __init__(
        self, codebook_size: int, num_codebooks: int = 1, decay: float = 0.99, dead_ratio: float = 0.03
    ) -> None:
        self.codebook_size = codebook_size
        self.num_codebooks = num_codebooks
        self.decay = decay
        self.dead_ratio = dead_ratio
        self.steps = 0
        self._ema = torch.zeros(num_codebooks, codebook_size, dtype=torch.float64)  # [N, K] picks per update

    def update(self, codes: Tensor, mask: Tensor | None = None) -> None:
        """Count the codes of one batch: ``codes [B, T]`` (one codebook) or ``[B, N, T]``; ``mask [B, T]`` valid frames."""
        if codes.dim() == 2:
            codes = rearrange(codes, "b t -> b 1 t")
        if codes.shape[1] != self.num_codebooks:
            raise CodebookError(
                f"codes have {codes.shape[1]} codebooks, the monitor was built for {self.num_codebooks}; "
                "build one CodebookMonitor(codebook_size, num_codebooks=N) per quantizer."
            )
        counts = torch.zeros_like(self._ema)
        for layer in range(self.num_codebooks):
            layer_codes = codes[:, layer]
            if mask is not None:
                layer_codes = layer_codes[mask.bool()]
            counts[layer] = torch.bincount(layer_codes.flatten().cpu(), minlength=self.codebook_size).double()
        self._ema.mul_(self.decay).add_(counts, alpha=1 - self.decay)
        self.steps += 1

    def counts(self) -> Tensor:
        """``[N, K]`` bias-corrected average picks of each code per update."""
        if self.steps == 0:
            return self._ema.clone()
        return self._ema / (1 - self.decay**self.steps)

    def probabilities(self) -> Tensor:
        """``[N, K]`` the codes' share of picks (uniform before any update)."""
        counts = self.counts()
        total = counts.sum(dim=1, keepdim=True)
        return torch.where(total > 0, counts / total.clamp(min=1e-12), 1.0 / self.codebook_size)

    def dead_codes(self) -> Tensor:
        """``[N, K]`` bool: codes picked at under ``dead_ratio / K`` of the picks (none before any update)."""
        if self.steps == 0:
            return torch.zeros(self.num_codebooks, self.codebook_size, dtype=torch.bool)
        return self.probabilities() < self.dead_ratio / self.codebook_size

    def layer_usage(self) -> Tensor:
        """``[N]`` fraction of live codes in each codebook."""
        return 1.0 - self.dead_codes().double().mean(dim=1)

    def layer_perplexity(self) -> Tensor:
        """``[N]`` ``exp(entropy)`` of each codebook's code distribution."""
        p = self.probabilities()
        entropy = -(p * p.clamp(min=1e-12).log()).sum(dim=1)
        return entropy.exp()

    def usage(self) -> float:
        """Fraction of live codes, averaged over codebooks."""
        return float(self.layer_usage().mean())

    def perplexity(self) -> float:
        """Perplexity averaged over codebooks."""
        return float(self.layer_perplexity().mean())

    def revive(self, replaced: Tensor) -> None:
        """Credit just-replaced codes (``[N, K]`` bool) with the average count, so they count as alive.

        Without it a re-seeded code would stay "dead" until the moving average caught up with its new use, and
        be re-seeded again at the next replacement before it had a chance to be picked.
        """
        mean = self._ema.mean(dim=1, keepdim=True).expand_as(self._ema)
        self._ema = torch.where(replaced.to(self._ema.device), mean, self._ema)

    def state_dict(self) -> dict[str, Tensor]:
        """Tensors only, so a resume loads it with ``torch.load(..., weights_only=True)``."""
        return {"ema": self._ema.clone(), "steps": torch.tensor(self.steps)}

    def load_state_dict(self, state: dict[str, Tensor]) -> None:
        self._ema = state["ema"].clone().double()
        self.steps = int(state["steps"])


@torch.no_grad()
def replace_dead_codes(
    vq: FactorizedVQ, latents: Tensor, dead: Tensor, generator: torch.Generator, mask: Tensor | None = None
) -> int:
    """Overwrite the dead entries of ``vq``'s codebook with latents drawn at random from the batch.

    ``latents [B, d, T]`` are the projected encoder latents (``VQOutput.latent``, one RVQ layer's slice
    ``latent[:, n]``); ``dead [K]`` bool; ``mask [B, T]`` valid frames. Draws without replacement while the batch
    has enough frames. Returns how many codes were replaced. Adam moments of the replaced rows are left to the
    optimiser: they are small next to a fresh latent and decay within a few hundred steps.
    """
    dead_index = dead.nonzero().flatten().to(vq.codebook.weight.device)
    if dead_index.numel() == 0:
        return 0
    pool = rearrange(latents, "b d t -> (b t) d")
    if mask is not None:
        pool = pool[rearrange(mask.bool(), "b t -> (b t)")]
    if pool.shape[0] == 0:
        return 0
    count = dead_index.numel()
    if pool.shape[0] >= count:
        picks = torch.randperm(pool.shape[0], generator=generator, device=generator.device)[:count]
    else:
        picks = torch.randint(pool.shape[0], (count,), generator=generator, device=generator.device)
    vq.codebook.weight[dead_index] = pool[picks.to(pool.device)].to(vq.codebook.weight.dtype)
    return count
