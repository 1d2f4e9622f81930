"""Signal measures shared by the model, the training losses and evaluation: STFT, mel filters, overlap-add, level.

This is the one place that computes spectrograms; the conventions are stated here once:

* :func:`stft` (and :func:`stft_magnitude`, :func:`stft_complex`, :func:`mel_spectrogram` built on it) is DAC's
  analysis, that of ``AudioSignal.stft`` in descript-audiotools >= 0.7.2 (unchanged through 0.7.4) with DAC's
  settings: a **periodic Hann window** of ``window_length`` samples (scipy's ``get_window("hann", n)``, equal to
  ``torch.hann_window(n)``), FFT size = window length, hop = window / 4 unless given, **centred frames with
  reflect padding** of window / 2 samples at both ends (``torch.stft(center=True, pad_mode="reflect")``), so
  ``S`` samples give ``S // hop + 1`` frames. Reflect padding needs ``S > window_length // 2``. The mel loss,
  the STFT discriminator and the evaluation's Mel / STFT distances all read audio through it.
* :func:`mel_filterbank` is librosa's default filterbank (``librosa.filters.mel``: Slaney mel scale, Slaney
  area normalisation, 0 Hz .. Nyquist), which DAC uses through audiotools' ``AudioSignal.get_mel_filters``.
* :func:`level_db` is the RMS level of one signal against another, the level term of training and evaluation.
* :func:`frame_stft` and :func:`overlap_add` are the frame-rate model's analysis and synthesis. Unlike
  :func:`stft`, frame ``t`` is centred on the middle of hop ``t`` and the signal is zero-padded, so ``S`` samples
  give exactly ``S / hop`` frames and an item of a padded batch sees the same zeros past its end as it would
  alone: batched and single-item results agree bit for bit.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from einops import rearrange
from torch import Tensor


def stft(x: Tensor, window_length: int, hop_length: int | None = None) -> Tensor:
    """``x [B, 1, S] -> [B, window_length // 2 + 1, S // hop + 1]`` complex STFT (DAC's: see the module docstring)."""
    hop_length = hop_length or window_length // 4
    window = torch.hann_window(window_length, device=x.device, dtype=x.dtype)
    return torch.stft(
        x.squeeze(1),
        n_fft=window_length,
        hop_length=hop_length,
        window=window,
        center=True,
        pad_mode="reflect",
        return_complex=True,
    )


def stft_magnitude(x: Tensor, window_length: int, hop_length: int | None = None) -> Tensor:
    """``x [B, 1, S] -> |STFT| [B, F, T]`` (the magnitude DAC's losses compare)."""
    return stft(x, window_length, hop_length).abs()


def stft_complex(x: Tensor, window_length: int, hop_length: int | None = None) -> Tensor:
    """``x [B, 1, S] -> [B, 2, T, F]``: real and imaginary STFT parts as channels (the STFT discriminator's input)."""
    spec = torch.view_as_real(stft(x, window_length, hop_length))  # [B, F, T, 2]
    return rearrange(spec, "b f t c -> b c t f")


def mel_spectrogram(x: Tensor, filters: Tensor, hop_length: int | None = None) -> Tensor:
    """``x [B, 1, S] -> [B, n_mels, T]`` magnitude (power 1) mel spectrogram, as audiotools' ``mel_spectrogram``.

    ``filters [n_mels, window_length // 2 + 1]`` from :func:`mel_filterbank`; its width sets the window length.
    """
    window_length = 2 * (filters.shape[-1] - 1)
    return torch.einsum("mf,bft->bmt", filters, stft_magnitude(x, window_length, hop_length))


def level_db(reference: Tensor, estimate: Tensor, eps: float = 1e-10) -> Tensor:
    """RMS level of ``estimate`` against ``reference`` in dB, ``10 log10(mean y^2 / mean x^2)``: ``[..., S] -> [...]``.

    ``eps`` is added to both mean powers (1e-10: -100 dB, far below any recording's noise floor), so silence
    against silence reads 0 dB and the value stays differentiable. Computed in the inputs' dtype.
    """
    power_x, power_y = reference.pow(2).mean(-1), estimate.pow(2).mean(-1)
    return 10 * torch.log10((power_y + eps) / (power_x + eps))


def _hz_to_mel(hz: Tensor) -> Tensor:
    """Slaney mel scale: linear below 1 kHz (3 mels per 200 Hz), logarithmic above."""
    linear = hz / (200.0 / 3.0)
    log = 15.0 + torch.log(hz.clamp(min=1e-10) / 1000.0) / (math.log(6.4) / 27.0)
    return torch.where(hz >= 1000.0, log, linear)


def _mel_to_hz(mel: Tensor) -> Tensor:
    linear = mel * (200.0 / 3.0)
    log = 1000.0 * torch.exp((mel - 15.0) * (math.log(6.4) / 27.0))
    return torch.where(mel >= 15.0, log, linear)


def mel_filterbank(sample_rate: int, n_fft: int, n_mels: int) -> Tensor:
    """``[n_mels, n_fft // 2 + 1]`` triangular filters on the Slaney mel scale, Slaney area-normalised.

    0 Hz .. Nyquist; equal to ``librosa.filters.mel(sr=sample_rate, n_fft=n_fft, n_mels=n_mels)``.
    """
    fft_hz = torch.linspace(0.0, sample_rate / 2, n_fft // 2 + 1, dtype=torch.float64)
    edges_mel = torch.linspace(0.0, float(_hz_to_mel(torch.tensor(sample_rate / 2.0))), n_mels + 2, dtype=torch.float64)
    edges_hz = _mel_to_hz(edges_mel)
    lower, centre, upper = edges_hz[:-2, None], edges_hz[1:-1, None], edges_hz[2:, None]
    rising = (fft_hz[None, :] - lower) / (centre - lower)
    falling = (upper - fft_hz[None, :]) / (upper - centre)
    filters = torch.clamp(torch.minimum(rising, falling), min=0.0)
    # area normalisation: each triangle integrates to the same energy whatever its width
    filters = filters * (2.0 / (upper - lower))
    return filters.float()


def frame_stft(x: Tensor, n_fft: int, hop_length: int) -> Tensor:
    """``x [B, 1, S] -> [B, n_fft // 2 + 1, S / hop]`` complex STFT, frame ``t`` centred on hop ``t``'s middle.

    ``S`` must be a multiple of ``hop_length`` and ``n_fft - hop_length`` even. Zero padding (not reflect): see
    the module docstring.
    """
    pad = (n_fft - hop_length) // 2
    window = torch.hann_window(n_fft, device=x.device, dtype=x.dtype)
    return torch.stft(
        F.pad(x.squeeze(1), (pad, pad)),
        n_fft=n_fft,
        hop_length=hop_length,
        window=window,
        center=False,
        return_complex=True,
    )


def overlap_add(spectrum: Tensor, n_fft: int, hop_length: int, frame_mask: Tensor | None = None) -> Tensor:
    """Inverse of :func:`frame_stft`: ``[B, n_fft // 2 + 1, T]`` complex -> ``[B, 1, T * hop]``.

    Windowed inverse FFT of every frame, overlap-added and divided by the summed squared window of the frames
    that exist: with ``frame_mask [B, 1, T]`` the padded frames of a batch count neither in the sum nor in the
    normalisation, so each item equals its own single-item synthesis.
    """
    frames, num_frames = spectrum.shape[0], spectrum.shape[-1]
    window = torch.hann_window(n_fft, device=spectrum.device, dtype=torch.float32)
    pieces = torch.fft.irfft(spectrum, n=n_fft, dim=1) * window[:, None]  # [B, n_fft, T]
    weights = window.pow(2)[None, :, None].expand(frames, n_fft, num_frames)
    if frame_mask is not None:
        keep = frame_mask.to(pieces.dtype)
        pieces, weights = pieces * keep, weights * keep
    length = (num_frames - 1) * hop_length + n_fft
    fold = {"output_size": (1, length), "kernel_size": (1, n_fft), "stride": (1, hop_length)}
    signal = F.fold(pieces, **fold)  # [B, 1, 1, length]
    envelope = F.fold(weights, **fold)
    pad = (n_fft - hop_length) // 2
    signal = rearrange(signal / envelope.clamp(min=1e-8), "b c 1 s -> b c s")
    return signal[..., pad : pad + num_frames * hop_length]
