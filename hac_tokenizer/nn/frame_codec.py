"""The frame-rate encoder and decoder kinds: a log-mel front end and a Vocos-style iSTFT head around ConvNeXt stacks.

The DAC CNN spends almost all of its compute at the waveform rate (16 kHz) to learn a filterbank; here a fixed STFT
does that part and every learned layer runs at the token rate (50 Hz), which makes the model cheap enough to train
on a CPU (Siuzdak 2023, Vocos: a ConvNeXt backbone at the frame rate predicting STFT magnitude and phase, inverted
by overlap-add). Both kinds take the same inputs and give the same shapes as the CNN kinds in ``encoder.py`` and
``decoder.py``. The analysis and synthesis window is four hops (80 ms at 16 kHz, hop 320), as in Vocos.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from .convnext import ConvNeXtStack
from .dsp import frame_stft, mel_filterbank, overlap_add
from .layers import apply_mask

MEL_BANDS = 80
WINDOW_HOPS = 4
_LOG_FLOOR = 1e-5  # magnitude floor before the log: -100 dB, below 16-bit quantisation noise
_MAX_LOG_MAGNITUDE = 6.0  # exp(6) ~ 400: above any bin of a full-scale signal with this window


def window_length(hop_length: int) -> int:
    return WINDOW_HOPS * hop_length


class MelEncoder(nn.Module):
    """``[B, 1, S] -> [B, D, S / hop]``: log-mel frames (80 bands) through a ConvNeXt stack."""

    def __init__(self, sample_rate: int, hop_length: int, dim: int, depth: int, latent_dim: int) -> None:
        super().__init__()
        self.hop_length = hop_length
        self.n_fft = window_length(hop_length)
        self.register_buffer("filters", mel_filterbank(sample_rate, self.n_fft, MEL_BANDS), persistent=False)
        self.stack = ConvNeXtStack(MEL_BANDS, dim, depth, latent_dim)

    def log_mel(self, x: Tensor) -> Tensor:
        """``x [B, 1, S] -> [B, 80, S / hop]`` natural-log mel magnitudes, computed in fp32."""
        magnitude = frame_stft(x.float(), self.n_fft, self.hop_length).abs()
        return torch.einsum("mf,bft->bmt", self.filters.float(), magnitude).clamp(min=_LOG_FLOOR).log()

    def forward(self, x: Tensor, mask: Tensor | None = None) -> Tensor:
        """``mask [B, 1, S]`` marks valid samples of a padded batch (None: no padding)."""
        frame_mask = None if mask is None else mask[..., :: self.hop_length]
        features = self.log_mel(x).to(self.stack.stem.weight.dtype)
        return self.stack(features, frame_mask)

    def activation_elements(self, num_samples: int) -> int:
        """Elements of the widest activation for one item of ``num_samples`` samples: the STFT's frames of
        ``n_fft`` samples, or the ConvNeXt's width, per frame."""
        return max(self.n_fft, self.stack.stem.out_channels) * (num_samples // self.hop_length + 1)


class ISTFTDecoder(nn.Module):
    """``[B, D, T] -> [B, 1, T * hop]``: a ConvNeXt stack predicts log-magnitude and phase of each STFT frame."""

    def __init__(self, latent_dim: int, hop_length: int, dim: int, depth: int) -> None:
        super().__init__()
        self.hop_length = hop_length
        self.n_fft = window_length(hop_length)
        self.bins = self.n_fft // 2 + 1
        self.stack = ConvNeXtStack(latent_dim, dim, depth, 2 * self.bins)

    def forward(self, z: Tensor, mask: Tensor | None = None) -> Tensor:
        """``mask [B, 1, T]`` marks valid frames of a padded batch (None: no padding)."""
        out = self.stack(z, mask).float()  # synthesis in fp32: exp and the phase are precision-hungry
        log_magnitude, phase = out.split(self.bins, dim=1)  # [B, F, T] each
        magnitude = log_magnitude.clamp(max=_MAX_LOG_MAGNITUDE).exp()
        spectrum = torch.polar(magnitude, phase)
        audio = overlap_add(spectrum, self.n_fft, self.hop_length, mask)
        sample_mask = None if mask is None else mask.repeat_interleave(self.hop_length, dim=-1)
        # handed back in the model's dtype, as the CNN decoder's output is: callers allocate audio in it
        return apply_mask(audio.clamp(-1.0, 1.0), sample_mask).to(z.dtype)

    def activation_elements(self, num_samples: int) -> int:
        """Elements of the widest activation for one item decoded to ``num_samples`` samples: the overlap-add's
        frames of ``n_fft`` samples, the complex spectrum, or the ConvNeXt's width, per frame."""
        widest = max(self.n_fft, 2 * self.bins, self.stack.stem.out_channels)
        return widest * (num_samples // self.hop_length + 1)
