"""Audio in: loading, validation, dtype conversion, downmixing and resampling, all in one place.

Everything a user can hand to ``encode`` goes through :func:`to_mono_items`, which returns one 1-D
float32 tensor per item at the model's sample rate, or raises :class:`AudioInputError` /
:class:`AudioFileError` naming the item and saying what to do.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import soundfile as sf
import soxr
import torch
from torch import Tensor

from .atomic import atomic_write
from .errors import AudioFileError, AudioInputError, OutputPathError

AudioLike = Tensor | np.ndarray | str | os.PathLike | Sequence
MIN_SAMPLE_RATE, MAX_SAMPLE_RATE = 1_000, 384_000
MAX_CHANNELS = 16  # more than this on a channel axis is almost surely a layout mistake
AUDIO_EXTENSIONS = (".wav", ".flac", ".ogg", ".mp3", ".opus", ".aiff", ".aif", ".au")
WRITE_SUBTYPE = "PCM_16"  # what save_audio writes; a format must support it to be an output
_FORMAT_ALIASES = {"AIF": "AIFF"}  # extension -> soundfile format name, where they differ

# Integer PCM is scaled by its full-scale value; int64 and unsigned wide types have no audio convention.
_INT_SCALE = {torch.int8: 2.0**7, torch.int16: 2.0**15, torch.int32: 2.0**31}


def check_sample_rate(sample_rate: object) -> int:
    if isinstance(sample_rate, bool) or not isinstance(sample_rate, (int, float, np.integer, np.floating)):
        raise AudioInputError(f"sample_rate must be a number of Hz, got {sample_rate!r}.")
    if not np.isfinite(sample_rate) or int(sample_rate) != sample_rate:
        raise AudioInputError(f"sample_rate must be a whole number of Hz, got {sample_rate!r}.")
    if not MIN_SAMPLE_RATE <= sample_rate <= MAX_SAMPLE_RATE:
        raise AudioInputError(
            f"sample_rate {sample_rate} Hz is outside [{MIN_SAMPLE_RATE}, {MAX_SAMPLE_RATE}]; "
            "pass the rate the audio was recorded at (e.g. 16000, 44100)."
        )
    return int(sample_rate)


def load_audio(path: str | os.PathLike) -> tuple[Tensor, int]:
    """Read a file as ``[C, S]`` float32 in [-1, 1] and its sample rate."""
    path = Path(path)
    if not path.is_file():
        raise AudioFileError(f"audio file not found: {path} (check the path; directories are not audio files).")
    try:
        data, sample_rate = sf.read(str(path), dtype="float32", always_2d=True)
    except Exception as err:  # soundfile raises LibsndfileError, RuntimeError or TypeError by format
        reason = str(err).rstrip(".")  # libsndfile's own text ends with a period ("Format not recognised.")
        raise AudioFileError(f"cannot read audio file {path}: {reason}. Is it a corrupt or unsupported file?") from err
    if data.size == 0:
        raise AudioFileError(f"audio file {path} contains no samples.")
    return torch.from_numpy(np.ascontiguousarray(data.T)), int(sample_rate)


def _writable_format(suffix: str) -> str | None:
    """The soundfile format for a file extension, or None if it cannot be written as :data:`WRITE_SUBTYPE`."""
    name = suffix.lstrip(".").upper() or "WAV"
    name = _FORMAT_ALIASES.get(name, name)
    if name not in sf.available_formats() or not sf.check_format(name, WRITE_SUBTYPE):
        return None
    return name


def writable_extensions() -> list[str]:
    """The audio extensions :func:`save_audio` can write (``.wav``, ``.flac``, ...)."""
    return [ext for ext in AUDIO_EXTENSIONS if _writable_format(ext)]


def output_format(path: str | os.PathLike) -> str:
    """The soundfile format :func:`save_audio` writes ``path`` in (by extension; none means WAV).

    Raises :class:`OutputPathError` for an extension it cannot write (mp3, ogg, opus, ...), so a caller can
    check an output path before doing the work that produces the audio.
    """
    path = Path(path)
    fmt = _writable_format(path.suffix)
    if fmt is None:
        *most, last = writable_extensions()
        raise OutputPathError(
            f"cannot write audio to {path}: 16-bit PCM audio is written only as {', '.join(most)} or {last} files, "
            f"not {path.suffix}; give the output one of those extensions (e.g. {path.with_suffix('.wav').name})."
        )
    return fmt


def save_audio(path: str | os.PathLike, waveform: Tensor, sample_rate: int) -> None:
    """Write a ``[S]`` waveform as 16-bit PCM (wav/flac/aiff/au by extension), via a temporary file and rename.

    Raises :class:`OutputPathError` before writing anything if the extension is not one of those.
    """
    path = Path(path)
    fmt = output_format(path)
    data = waveform.detach().float().clamp(-1, 1).cpu().numpy()
    with atomic_write(path) as f:
        sf.write(f, data, sample_rate, subtype=WRITE_SUBTYPE, format=fmt)


def resample(waveform: Tensor, from_rate: int, to_rate: int) -> Tensor:
    """``[C, S] -> [C, S']`` with soxr's high-quality resampler (CPU; result back on the input's device)."""
    if from_rate == to_rate:
        return waveform
    out = soxr.resample(waveform.detach().cpu().double().numpy().T, from_rate, to_rate, quality="HQ")
    return torch.from_numpy(np.ascontiguousarray(out.T)).float().to(waveform.device)


def to_float(waveform: Tensor, where: str) -> Tensor:
    """Any real dtype -> float32 in [-1, 1] (integer PCM scaled by full scale)."""
    if waveform.dtype in _INT_SCALE:
        return waveform.float() / _INT_SCALE[waveform.dtype]
    if waveform.dtype == torch.uint8:
        return (waveform.float() - 128.0) / 128.0
    if waveform.is_complex() or waveform.dtype in (torch.bool, torch.int64) or not waveform.is_floating_point():
        raise AudioInputError(
            f"{where}: audio of dtype {waveform.dtype} is not supported; pass float samples in [-1, 1] "
            "or integer PCM (int8/int16/int32/uint8)."
        )
    return waveform.float()


def _as_tensor(item: object, where: str) -> Tensor:
    if isinstance(item, Tensor):
        return item
    if isinstance(item, np.ndarray):
        if item.dtype == object:
            raise AudioInputError(f"{where}: an object array cannot be audio; pass a numeric array.")
        return torch.from_numpy(np.ascontiguousarray(item))
    raise AudioInputError(
        f"{where}: expected a tensor, numpy array or file path, got {type(item).__name__}."
    )


def _check_values(waveform: Tensor, where: str) -> Tensor:
    if waveform.shape[-1] == 0:
        raise AudioInputError(f"{where}: audio is empty (0 samples); drop it or pass at least one sample.")
    if not torch.isfinite(waveform).all():
        raise AudioInputError(f"{where}: audio contains NaN or inf; clean or drop this item.")
    peak = waveform.abs().max().item()
    if peak > 1.0:
        warnings.warn(
            f"{where}: samples reach {peak:.3g}, beyond [-1, 1]; they are clipped. Normalise the audio "
            "(float audio is expected in [-1, 1]).",
            stacklevel=4,
        )
        waveform = waveform.clamp(-1.0, 1.0)
    return waveform


def _channels_first(waveform: Tensor, where: str) -> Tensor:
    """``[C, S]`` with few channels; refuses the channels-last layout ``[S, C]``."""
    channels, samples = waveform.shape
    if channels == 0:
        raise AudioInputError(f"{where}: audio has 0 channels (shape {tuple(waveform.shape)}); pass [channels, samples].")
    if channels > MAX_CHANNELS:
        if samples <= MAX_CHANNELS:
            raise AudioInputError(
                f"{where}: shape {tuple(waveform.shape)} looks channels-last [samples, channels]; "
                "transpose it to [channels, samples] (e.g. wav.T)."
            )
        raise AudioInputError(
            f"{where}: {channels} channels is too many for audio [channels, samples]; "
            "pass a batch as a list or as [B, C, S]."
        )
    return waveform


def _mono(waveform: Tensor, sample_rate: int, target_rate: int, where: str) -> Tensor:
    """``[C, S]`` of any dtype -> ``[S]`` float32 at ``target_rate``."""
    waveform = _check_values(to_float(waveform, where), where)
    waveform = resample(waveform.mean(0, keepdim=True), sample_rate, target_rate)[0]
    if waveform.numel() == 0:
        raise AudioInputError(f"{where}: audio is too short to resample to {target_rate} Hz.")
    return waveform


def _check_batch_layout(waveform: Tensor) -> None:
    """``[B, S]`` is read as a batch; refuse the common stereo mistake ``[S, C]`` (e.g. soundfile's output)."""
    batch, samples = waveform.shape
    if samples <= MAX_CHANNELS < batch:
        raise AudioInputError(
            f"audio of shape {tuple(waveform.shape)} looks channels-last [samples, channels]; transpose it to "
            "[channels, samples] and wrap it as [1, C, S] (or pass a list of clips if these are really "
            f"{batch} clips of {samples} samples)."
        )


def _is_path(item: object) -> bool:
    return isinstance(item, (str, os.PathLike))


def to_mono_items(audio: AudioLike, sample_rate: int | None, target_rate: int) -> list[Tensor]:
    """Every accepted input form -> a list of ``[S_i]`` float32 tensors at ``target_rate``.

    Accepted: a path or list of paths (their own rates are used); ``[S]``; ``[B, S]``; ``[B, C, S]``
    (channels averaged); a list of ``[S]`` or ``[C, S]`` items of different lengths. Tensors or numpy
    arrays of float or integer PCM. ``sample_rate`` (default: ``target_rate``) applies to arrays.
    """
    if audio is None:
        raise AudioInputError("audio is None; pass a waveform, a list of waveforms, or file path(s).")
    rate = target_rate if sample_rate is None else check_sample_rate(sample_rate)
    if _is_path(audio):
        return [_item(audio, rate, target_rate, "audio")]
    if isinstance(audio, (list, tuple)):
        if len(audio) == 0:
            raise AudioInputError("the list of audio items is empty; pass at least one item.")
        return [_item(x, rate, target_rate, f"item {i}") for i, x in enumerate(audio)]
    waveform = _as_tensor(audio, "audio")
    if waveform.dim() == 1:
        return [_mono(waveform[None], rate, target_rate, "audio")]
    if waveform.dim() in (2, 3) and waveform.shape[0] == 0:
        raise AudioInputError(f"audio batch of shape {tuple(waveform.shape)} is empty (B = 0); pass at least one item.")
    if waveform.dim() == 2:
        _check_batch_layout(waveform)
        return [_mono(row[None], rate, target_rate, f"item {i}") for i, row in enumerate(waveform)]
    if waveform.dim() == 3:
        return [
            _mono(_channels_first(item, f"item {i}"), rate, target_rate, f"item {i}")
            for i, item in enumerate(waveform)
        ]
    raise AudioInputError(
        f"audio of shape {tuple(waveform.shape)} has {waveform.dim()} dims; pass [S], [B, S] or [B, C, S]."
    )


def _item(item: object, rate: int, target_rate: int, where: str) -> Tensor:
    if _is_path(item):
        try:
            waveform, file_rate = load_audio(item)
        except AudioFileError as err:
            raise AudioFileError(f"{where}: {err}") from err
        return _mono(waveform, file_rate, target_rate, f"{where} ({item})")
    waveform = _as_tensor(item, where)
    if waveform.dim() == 1:
        waveform = waveform[None]
    elif waveform.dim() != 2:
        raise AudioInputError(f"{where}: shape {tuple(waveform.shape)}; list items must be [S] or [C, S].")
    return _mono(_channels_first(waveform, where), rate, target_rate, where)


def list_audio_files(path: str | os.PathLike) -> list[Path]:
    """A file, or every audio file under a directory (recursively, sorted)."""
    path = Path(path)
    if path.is_dir():
        return sorted(p for p in path.rglob("*") if p.suffix.lower() in AUDIO_EXTENSIONS and p.is_file())
    if not path.exists():
        raise AudioFileError(f"no such file or directory: {path}")
    return [path]
