"""Generator-side losses of DAC/HAC training: multi-scale mel L1, level, adversarial (hinge / least-squares), feature matching.

:class:`MelLoss` is DAC's ``MelSpectrogramLoss`` (Kumar et al. 2023; descript-audio-codec 1.0.0,
``dac/nn/loss.py``) with the settings of its ``conf/base.yml``: seven STFT scales with windows
``[32, 64, ..., 2048]`` samples (hop = window / 4), ``[5, 10, ..., 320]`` mel bands, magnitude (``pow`` 1) mels
clamped at ``1e-5`` before ``log10``, no linear-magnitude term (``mag_weight`` 0), and the L1 distances of the
seven scales summed. The spectrograms come from :mod:`hac_tokenizer.nn.dsp` (window, padding and mel filters are
stated there); ``hac_tokenizer.evaluation.reconstruction.mel_distance`` is the same quantity per item. The
short windows resolve transients, the long ones pitch harmonics; few mel bands at short windows keep every band
covering at least one FFT bin. At 16 kHz the 2048-sample window is 128 ms, the 32-sample one 2 ms.

:func:`level_loss` is not DAC's: the absolute RMS level difference in dB between decode and input. The log-mel
L1 distance alone left the bundled model's decodes 2.7 dB (synthetic) to 6.3 dB (real speech) quieter than their
inputs after 7,200 steps (MODEL_CARD.md); this term asks for the level directly. Its weight is 0 in the paper's
recipes.

Adversarial losses take the list of :class:`DiscriminatorOutput` of a :class:`MultiDiscriminator` and sum the
per-discriminator means (as DAC does), so adding a discriminator adds a term rather than diluting the others.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ..nn.dsp import level_db, mel_filterbank, mel_spectrogram
from .discriminators import DiscriminatorOutput
from .errors import LossConfigError

MEL_WINDOWS = (32, 64, 128, 256, 512, 1024, 2048)
MEL_BANDS = (5, 10, 20, 40, 80, 160, 320)


class MelLoss(nn.Module):
    """Multi-scale log-mel L1 distance: ``sum_s mean |log10 mel_s(x_hat) - log10 mel_s(x)|``."""

    def __init__(
        self,
        sample_rate: int,
        window_lengths: Sequence[int] = MEL_WINDOWS,
        n_mels: Sequence[int] = MEL_BANDS,
        clamp_eps: float = 1e-5,
    ) -> None:
        super().__init__()
        if len(window_lengths) != len(n_mels):
            raise LossConfigError(
                f"MelLoss needs one n_mels per window length, got {len(window_lengths)} windows and {len(n_mels)} "
                "band counts; pass lists of equal length."
            )
        self.window_lengths = tuple(window_lengths)
        self.clamp_eps = clamp_eps
        for i, (window, bands) in enumerate(zip(window_lengths, n_mels)):
            self.register_buffer(f"filters_{i}", mel_filterbank(sample_rate, window, bands), persistent=False)

    def log_mel(self, x: Tensor, scale: int) -> Tensor:
        """``x [B, 1, S] -> [B, n_mels, T]`` log10 mel magnitudes at one scale."""
        return mel_spectrogram(x.float(), getattr(self, f"filters_{scale}")).clamp(min=self.clamp_eps).log10()

    def forward(self, x_hat: Tensor, x: Tensor) -> Tensor:
        """``x_hat, x [B, 1, S] -> scalar``, in fp32 even under autocast (log10 of small bf16 mels is coarse)."""
        with torch.autocast(x.device.type, enabled=False):
            return sum(
                F.l1_loss(self.log_mel(x_hat, scale), self.log_mel(x, scale))
                for scale in range(len(self.window_lengths))
            )


def level_loss(x_hat: Tensor, x: Tensor) -> Tensor:
    """``x_hat, x [B, 1, S] -> scalar``: mean over items of ``|level of x_hat against x|`` in dB, in fp32."""
    with torch.autocast(x.device.type, enabled=False):
        return level_db(x.float(), x_hat.float()).abs().mean()


def _check_kind(kind: str) -> None:
    if kind not in ("hinge", "ls"):
        raise LossConfigError(f"unknown adversarial loss kind {kind!r}; use 'hinge' or 'ls' (least-squares).")


def discriminator_loss(
    real: Sequence[DiscriminatorOutput], fake: Sequence[DiscriminatorOutput], kind: str = "hinge"
) -> Tensor:
    """Loss of the discriminators, summed over them. Pass ``fake`` computed on detached generator audio.

    hinge: ``mean relu(1 - D(x)) + mean relu(1 + D(x_hat))``; ls: ``mean (D(x) - 1)^2 + mean D(x_hat)^2``.
    The GAN losses are taken in fp32 whatever the discriminators ran in (a bf16 value keeps 3 significant digits).
    """
    _check_kind(kind)
    total = 0.0
    for r, f in zip(real, fake, strict=True):
        real_logits, fake_logits = r.logits.float(), f.logits.float()
        if kind == "hinge":
            total = total + F.relu(1 - real_logits).mean() + F.relu(1 + fake_logits).mean()
        else:
            total = total + (real_logits - 1).pow(2).mean() + fake_logits.pow(2).mean()
    return total


def generator_loss(fake: Sequence[DiscriminatorOutput], kind: str = "hinge") -> Tensor:
    """Adversarial loss of the generator, summed over discriminators.

    hinge: ``-mean D(x_hat)``; ls: ``mean (D(x_hat) - 1)^2``.
    """
    _check_kind(kind)
    if kind == "hinge":
        return sum(-f.logits.float().mean() for f in fake)
    return sum((f.logits.float() - 1).pow(2).mean() for f in fake)


def feature_matching_loss(real: Sequence[DiscriminatorOutput], fake: Sequence[DiscriminatorOutput]) -> Tensor:
    """L1 between the intermediate features of real and generated audio, summed over discriminators and layers.

    Real features are detached: this loss trains the generator only.
    """
    return sum(
        F.l1_loss(f_feat.float(), r_feat.detach().float())
        for r, f in zip(real, fake, strict=True)
        for r_feat, f_feat in zip(r.features, f.features, strict=True)
    )


def adversarial_terms(
    discriminator: nn.Module, real: Tensor, fake: Tensor, kind: str = "hinge"
) -> tuple[Tensor, Tensor]:
    """The generator's ``(adversarial, feature matching)`` terms for ``real, fake [B, 1, S]``.

    Real audio only gives feature-matching targets, so it runs without a graph: one pass over real and fake
    together made the backward carry the real half through every discriminator layer too (1.7x the CPU time of
    this part on the bundled recipe, with the same terms and gradient; ``benchmarks/gan_step.py``). Freeze the
    discriminator around the call (``runtime.frozen``) so that only the generator gets gradients.
    """
    with torch.no_grad():
        real_out = discriminator(real)
    fake_out = discriminator(fake)
    return generator_loss(fake_out, kind), feature_matching_loss(real_out, fake_out)
