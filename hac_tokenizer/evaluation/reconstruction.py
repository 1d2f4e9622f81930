"""Reconstruction metrics between a reference waveform and its decoded version, both ``[S]`` at one rate.

Exact settings (fixed, so numbers compare across checkpoints). The two spectral distances are DAC's evaluation
metrics exactly, computed here at the model's 16 kHz instead of DAC's 22.05/44.1 kHz. Source: DAC's
``scripts/evaluate.py`` reports ``MelSpectrogramLoss`` and ``MultiScaleSTFTLoss`` of ``dac/nn/loss.py``
(github.com/descriptinc/descript-audio-codec, release 1.0.0) with the settings of its ``conf/base.yml``, reading
audio through ``AudioSignal.stft`` / ``mel_spectrogram`` of descript-audiotools 0.7.2 (DAC requires >= 0.7.2;
those methods are unchanged through 0.7.4):

- **Mel distance** (lower is better; ``MelSpectrogramLoss`` with ``n_mels`` [5, 10, 20, 40, 80, 160, 320],
  ``window_lengths`` [32, 64, 128, 256, 512, 1024, 2048], ``mel_fmin`` 0, ``mel_fmax`` None = Nyquist, ``pow``
  1.0, ``clamp_eps`` 1e-5, ``mag_weight`` 0.0, ``log_weight`` 1.0, ``loss_fn`` L1 with mean reduction): sum over
  the 7 scales of ``mean |log10 max(M_x, 1e-5) - log10 max(M_y, 1e-5)|``, ``M`` the magnitude (power 1) mel
  spectrogram with FFT size = window, hop = window / 4 and librosa's default (Slaney) mel filters.
- **STFT distance** (lower is better; ``MultiScaleSTFTLoss`` with ``window_lengths`` [2048, 512] and its
  defaults ``clamp_eps`` 1e-5, ``pow`` 2.0, ``log_weight`` 1.0, ``mag_weight`` 1.0, L1 with mean reduction):
  sum over the 2 windows (hop = window / 4) of ``mean |log10 max(|X|, 1e-5)^2 - log10 max(|Y|, 1e-5)^2| +
  mean | |X| - |Y| |``.
- Both use :func:`hac_tokenizer.nn.dsp.stft` (``window_type`` None = audiotools' default ``"hann"``,
  ``match_stride`` False): a periodic Hann window and centred frames with reflect padding, so signals need more
  than 1024 samples (half the longest window); shorter ones raise :class:`EvaluationError`.
  ``benchmarks/reference/dac_distances.py`` checks both against DAC's own code.
- **SI-SDR** in dB (higher is better; Le Roux et al. 2019): both signals made zero-mean,
  ``s_t = (<y, x> / <x, x>) x``, ``SI-SDR = 10 log10(|s_t|^2 / |y - s_t|^2)``, in float64.
- **Level difference** in dB (0 is best): ``10 log10(mean y^2 / mean x^2)``, the decode's RMS level against the
  reference's (negative: quieter).
- **Lag** in ms (0 is best): the shift of ``y`` against ``x`` that maximises their cross-correlation, searched
  within +-``MAX_LAG_MS`` (positive: ``y`` late). A decoder that reproduces the waveform only roughly still peaks
  at its true delay; where it does not reproduce phase at all the peak is weak but still marks any delay.
- **PESQ** wide-band (ITU-T P.862.2, ``pesq`` package) at 16 kHz (audio resampled with soxr if needed); 1.04 .. 4.64.
- **STOI** (Taal et al. 2011, ``pystoi``, not the extended variant); 0 .. 1.
- **ViSQOL** v3 speech mode at 16 kHz (MOS-LQO 1 .. 5), only when Google's ``visqol`` Python bindings are installed.

``x`` is the reference, ``y`` the estimate throughout.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass

import numpy as np
import torch
from torch import Tensor

from ..audio import resample
from ..nn.dsp import level_db, mel_filterbank, mel_spectrogram, stft_magnitude
from .errors import EvaluationError, require

MEL_WINDOWS = (32, 64, 128, 256, 512, 1024, 2048)
MEL_BANDS = (5, 10, 20, 40, 80, 160, 320)
STFT_WINDOWS = (2048, 512)
CLAMP = 1e-5
PESQ_RATE = 16000
MIN_SAMPLES = max(MEL_WINDOWS + STFT_WINDOWS) // 2 + 1  # reflect padding of the longest window

Metric = Callable[[Tensor, Tensor, int], float]


@functools.lru_cache(maxsize=32)
def mel_filters(sample_rate: int, n_fft: int, n_mels: int) -> Tensor:
    """:func:`hac_tokenizer.nn.dsp.mel_filterbank`, cached (do not modify the returned tensor in place)."""
    return mel_filterbank(sample_rate, n_fft, n_mels)


def _per_item(transform: Callable[[Tensor], Tensor], audio: Tensor) -> Tensor:
    """Apply a ``[N, 1, S] -> [N, A, B]`` transform of :mod:`hac_tokenizer.nn.dsp` to ``[..., S]``: ``[..., A, B]``."""
    out = transform(audio.reshape(-1, 1, audio.shape[-1]).float())
    return out.reshape(*audio.shape[:-1], *out.shape[-2:])


def magnitude(audio: Tensor, window: int) -> Tensor:
    """``[..., S] -> [..., window // 2 + 1, S // (window // 4) + 1]`` |STFT| (:func:`hac_tokenizer.nn.dsp.stft`)."""
    return _per_item(functools.partial(stft_magnitude, window_length=window), audio)


def _batch_shape(reference: Tensor, estimate: Tensor) -> torch.Size:
    """Leading shape of a comparison; one reference ``[S]`` may be compared with several estimates ``[K, S]``."""
    if reference.shape[-1] != estimate.shape[-1]:
        raise EvaluationError(
            f"reference has {reference.shape[-1]} samples and estimate {estimate.shape[-1]}; trim both to one length."
        )
    if reference.shape[-1] == 0:
        raise EvaluationError("cannot score empty audio.")
    try:
        return torch.broadcast_shapes(reference.shape[:-1], estimate.shape[:-1])
    except RuntimeError as err:
        raise EvaluationError(
            f"reference {tuple(reference.shape)} and estimate {tuple(estimate.shape)} do not broadcast."
        ) from err


def _spectral_batch_shape(reference: Tensor, estimate: Tensor) -> torch.Size:
    shape = _batch_shape(reference, estimate)
    if reference.shape[-1] < MIN_SAMPLES:
        raise EvaluationError(
            f"the spectral distances need at least {MIN_SAMPLES} samples (DAC's reflect-padded 2048-sample "
            f"window), got {reference.shape[-1]}."
        )
    return shape


def _check_pair(reference: Tensor, estimate: Tensor) -> None:
    if reference.dim() != 1 or reference.shape != estimate.shape:
        raise EvaluationError(
            f"expected two [S] signals of one length, got {tuple(reference.shape)} and {tuple(estimate.shape)}."
        )
    if reference.shape[-1] == 0:
        raise EvaluationError("cannot score empty audio.")


def _log_l1(x: Tensor, y: Tensor, power: float) -> Tensor:
    """``[..., F, T]`` -> ``[...]``: mean |log10 max(x, eps)^power - log10 max(y, eps)^power|."""
    diff = power * (x.clamp_min(CLAMP).log10() - y.clamp_min(CLAMP).log10())
    return diff.abs().mean(dim=(-2, -1))


def mel_distance(reference: Tensor, estimate: Tensor, sample_rate: int) -> Tensor:
    """DAC's Mel distance ``[..., S], [..., S] -> [...]`` (broadcast; definition in the module docstring)."""
    total = torch.zeros(_spectral_batch_shape(reference, estimate), device=reference.device)
    for window, bands in zip(MEL_WINDOWS, MEL_BANDS):
        filters = mel_filters(sample_rate, window, bands).to(reference.device)
        to_mel = functools.partial(mel_spectrogram, filters=filters)
        mel_x, mel_y = _per_item(to_mel, reference), _per_item(to_mel, estimate)
        total = total + _log_l1(mel_x, mel_y, power=1.0)
    return total


def stft_distance(reference: Tensor, estimate: Tensor, sample_rate: int) -> Tensor:
    """DAC's STFT distance ``[..., S], [..., S] -> [...]`` (broadcast; definition in the module docstring)."""
    del sample_rate  # the windows are in samples, as in DAC
    total = torch.zeros(_spectral_batch_shape(reference, estimate), device=reference.device)
    for window in STFT_WINDOWS:
        mag_x, mag_y = magnitude(reference, window), magnitude(estimate, window)
        total = total + _log_l1(mag_x, mag_y, power=2.0) + (mag_x - mag_y).abs().mean(dim=(-2, -1))
    return total


def si_sdr(reference: Tensor, estimate: Tensor, sample_rate: int | None = None) -> Tensor:
    """Scale-invariant SDR in dB, ``[..., S], [..., S] -> [...]`` (broadcast)."""
    del sample_rate
    _batch_shape(reference, estimate)
    x = reference.double() - reference.double().mean(-1, keepdim=True)
    y = estimate.double() - estimate.double().mean(-1, keepdim=True)
    eps = torch.finfo(torch.float64).tiny
    scale = (x * y).sum(-1, keepdim=True) / ((x * x).sum(-1, keepdim=True) + eps)
    target = scale * x
    residual = y - target
    ratio = (target.pow(2).sum(-1) + eps) / (residual.pow(2).sum(-1) + eps)
    return (10 * torch.log10(ratio)).float()


MAX_LAG_MS = 50.0


def level_difference(reference: Tensor, estimate: Tensor, sample_rate: int | None = None) -> Tensor:
    """RMS level of the estimate against the reference in dB, ``[..., S], [..., S] -> [...]`` (broadcast)."""
    del sample_rate
    _batch_shape(reference, estimate)
    return level_db(reference.double(), estimate.double(), eps=torch.finfo(torch.float64).tiny).float()


def lag_ms(reference: Tensor, estimate: Tensor, sample_rate: int) -> Tensor:
    """Delay of the estimate (ms, positive: late) at the cross-correlation peak, ``[..., S], [..., S] -> [...]``."""
    _batch_shape(reference, estimate)
    size = reference.shape[-1]
    n = 1 << (2 * size - 1).bit_length()  # linear (not circular) correlation through one FFT
    spectrum = torch.fft.rfft(estimate.double(), n) * torch.fft.rfft(reference.double(), n).conj()
    correlation = torch.fft.irfft(spectrum, n)  # [..., n]: lag k at index k, lag -k at index n - k
    reach = min(size - 1, int(MAX_LAG_MS * sample_rate / 1000))
    lags = torch.cat([correlation[..., n - reach :], correlation[..., : reach + 1]], dim=-1)  # lags -reach..reach
    best = lags.argmax(-1) - reach
    return (best.double() * 1000 / sample_rate).float()


def _numpy_at(audio: Tensor, sample_rate: int, target_rate: int) -> np.ndarray:
    return resample(audio.detach().float().cpu()[None], sample_rate, target_rate)[0].double().numpy()


def pesq_wb(reference: Tensor, estimate: Tensor, sample_rate: int) -> float:
    """Wide-band PESQ of ``[S]`` signals; raises :class:`EvaluationError` where PESQ finds no speech."""
    _check_pair(reference, estimate)
    pesq = require("pesq", "pesq", "PESQ")
    ref, est = _numpy_at(reference, sample_rate, PESQ_RATE), _numpy_at(estimate, sample_rate, PESQ_RATE)
    try:
        return float(pesq.pesq(PESQ_RATE, ref, est, "wb"))
    except pesq.PesqError as err:
        raise EvaluationError(f"PESQ cannot score this pair ({type(err).__name__}: {err}).") from err


def stoi(reference: Tensor, estimate: Tensor, sample_rate: int) -> float:
    """Short-time objective intelligibility of ``[S]`` signals."""
    _check_pair(reference, estimate)
    pystoi = require("pystoi", "pystoi", "STOI")
    ref = reference.detach().double().cpu().numpy()
    return float(pystoi.stoi(ref, estimate.detach().double().cpu().numpy(), sample_rate, extended=False))


class Visqol:
    """ViSQOL v3 in speech mode (16 kHz); needs Google's ``visqol`` bindings (built from github.com/google/visqol)."""

    MODEL = "lattice_tcditugenmeetpackhref_ls2_nl60_lr12_bs2048_learn.005_ep2400_train1_7_raw.tflite"

    def __init__(self) -> None:
        lib = require("visqol.visqol_lib_py", "visqol", "ViSQOL")
        config_pb2 = require("visqol.pb2.visqol_config_pb2", "visqol", "ViSQOL")
        config = config_pb2.VisqolConfig()
        config.audio.sample_rate = PESQ_RATE
        config.options.use_speech_scoring = True
        config.options.svr_model_path = os.path.join(os.path.dirname(lib.__file__), "model", self.MODEL)
        self._api = lib.VisqolApi()
        self._api.Create(config)

    def __call__(self, reference: Tensor, estimate: Tensor, sample_rate: int) -> float:
        _check_pair(reference, estimate)
        ref, est = _numpy_at(reference, sample_rate, PESQ_RATE), _numpy_at(estimate, sample_rate, PESQ_RATE)
        return float(self._api.Measure(ref, est).moslqo)


BatchedMetric = Callable[[Tensor, Tensor, int], Tensor]


@dataclass(frozen=True)
class ReconstructionMetrics:
    """Metrics by report name: ``batched`` ones compare one reference ``[S]`` with all estimates ``[K, S]`` at
    once (a handful of large tensor ops instead of many small ones); ``pairwise`` ones take one pair."""

    batched: Mapping[str, BatchedMetric]
    pairwise: Mapping[str, Metric]

    def score(self, reference: Tensor, estimates: Tensor, sample_rate: int) -> list[dict[str, float | None]]:
        """``[S]`` vs ``[K, S]`` -> one ``{metric: value}`` per estimate; None where a metric cannot score it."""
        scores: list[dict[str, float | None]] = [{} for _ in estimates]
        for name, metric in self.batched.items():
            try:
                values = metric(reference, estimates, sample_rate).tolist()
            except EvaluationError:
                values = [None] * len(scores)  # e.g. audio too short for the spectral distances' longest window
            for row, value in zip(scores, values):
                row[name] = value
        for name, metric in self.pairwise.items():
            for row, estimate in zip(scores, estimates):
                try:
                    row[name] = metric(reference, estimate, sample_rate)
                except EvaluationError:
                    row[name] = None  # e.g. PESQ finds no speech in a silent decode; reported as a failure
        return scores


def default_metrics() -> ReconstructionMetrics:
    """The reconstruction metrics of ``hac-eval``; ViSQOL only when its bindings are installed."""
    pairwise: dict[str, Metric] = {"pesq_wb": pesq_wb, "stoi": stoi}
    if visqol_available():
        pairwise["visqol"] = Visqol()
    return ReconstructionMetrics(
        {
            "mel_distance": mel_distance,
            "stft_distance": stft_distance,
            "si_sdr": si_sdr,
            "level_db": level_difference,
            "lag_ms": lag_ms,
        },
        pairwise,
    )


def visqol_available() -> bool:
    import importlib.util

    try:
        return importlib.util.find_spec("visqol") is not None
    except ValueError:
        return False
