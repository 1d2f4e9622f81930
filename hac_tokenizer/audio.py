"""Audio in: loading, validation, dtype conversion, downmixing and resampling, all in one place.

Everything a user can hand to ``encode`` goes through :func:`to_mono_items`, which returns one 1-D
float32 tensor per item at the model's sample rate, or raises :class:`AudioInputError` /
:class:`AudioFileError` naming the item and saying what to do.

Files are read only through :class:`AudioFile`, whole or a stretch at a time; :class:`FileReader` (window by
window at another rate), :func:`read_segment` (training clips) and :func:`load_mono` (whole utterances) build on
it. Every read, like every array, passes :func:`check_values`: NaN or inf is refused, and float samples beyond
full scale are clipped to [-1, 1] with a warning. So a file gives the same samples whichever way it is read.
"""

from __future__ import annotations

import io
import math
import os
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import BinaryIO

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


def _unreadable(path: Path, err: Exception) -> AudioFileError:
    reason = str(err).rstrip(".")  # libsndfile's own text ends with a period ("Format not recognised.")
    return AudioFileError(f"cannot read audio file {path}: {reason}. Is it a corrupt or unsupported file?")


class AudioFile:
    """An audio file, opened and checked once, read whole or a stretch at a time at its own rate.

    Opening raises :class:`AudioFileError` for a missing, unreadable or empty file. Every read passes
    :func:`check_values` (NaN or inf raises :class:`AudioInputError` naming ``where``, default the path;
    samples beyond full scale are clipped, with one warning per file), so a stretch read on its own equals
    the same stretch of the whole file.
    """

    def __init__(self, path: str | os.PathLike, where: str | None = None) -> None:
        self.path = Path(path)
        if not self.path.is_file():
            raise AudioFileError(
                f"audio file not found: {self.path} (check the path; directories are not audio files)."
            )
        try:
            info = sf.info(str(self.path))
        except Exception as err:  # soundfile raises LibsndfileError, RuntimeError or TypeError by format
            raise _unreadable(self.path, err) from err
        if info.frames == 0:
            raise AudioFileError(f"audio file {self.path} contains no samples.")
        self.sample_rate, self.num_samples, self.channels = int(info.samplerate), int(info.frames), int(info.channels)
        self.where = str(self.path) if where is None else where
        self._warned = False

    @property
    def duration(self) -> float:
        """Seconds."""
        return self.num_samples / self.sample_rate

    def read(self, start: int = 0, stop: int | None = None) -> Tensor:
        """Samples ``[start, stop)`` as float32 ``[C, stop - start]``, zeros outside the file; no ``stop``: the whole file."""
        if stop is None:
            data = self._frames(0, None)
            if data.size == 0:
                raise AudioFileError(f"audio file {self.path} contains no samples.")
        else:
            data = np.zeros((stop - start, self.channels), dtype=np.float32)
            lo, hi = max(start, 0), min(stop, self.num_samples)
            if hi > lo:
                frames = self._frames(lo, hi)  # fewer than asked if the header overstates the length
                data[lo - start : lo - start + len(frames)] = frames
        waveform = torch.from_numpy(np.ascontiguousarray(data.T))
        checked = check_values(waveform, self.where, warn=not self._warned)
        self._warned |= checked is not waveform  # a new tensor means it was clipped: warned once per file
        return checked

    def _frames(self, start: int, stop: int | None) -> np.ndarray:  # -> [n, C] float32
        try:
            data, _ = sf.read(str(self.path), start=start, stop=stop, dtype="float32", always_2d=True)
        except Exception as err:  # soundfile raises LibsndfileError, RuntimeError or TypeError by format
            raise _unreadable(self.path, err) from err
        return data


def decode_audio_bytes(data: bytes, where: str) -> tuple[Tensor, int]:
    """An encoded audio file held in memory (wav, flac, ogg, mp3, ...) -> ``[C, S]`` float32 and its sample rate.

    For audio that arrives as bytes (a ``datasets`` column, an upload): decoded by libsndfile and checked as
    :class:`AudioFile` reads are; errors name ``where``.
    """
    try:
        samples, rate = sf.read(io.BytesIO(data), dtype="float32", always_2d=True)  # [S, C]
    except Exception as err:  # soundfile raises LibsndfileError, RuntimeError or TypeError by format
        raise AudioFileError(
            f"{where}: cannot decode the audio ({_reason(err)}); is it a corrupt or unsupported file?"
        ) from err
    if samples.size == 0:
        raise AudioFileError(f"{where} contains no samples.")
    return check_values(torch.from_numpy(np.ascontiguousarray(samples.T)), where), int(rate)


def audio_bytes_duration(data: bytes, where: str) -> float:
    """Seconds of an encoded audio file held in memory, from its header alone (so a long one is refused undecoded)."""
    try:
        return float(sf.info(io.BytesIO(data)).duration)
    except Exception as err:  # soundfile raises LibsndfileError, RuntimeError or TypeError by format
        raise AudioFileError(
            f"{where}: cannot read the audio header ({_reason(err)}); is it a corrupt or unsupported file?"
        ) from err


def _reason(err: Exception) -> str:
    # libsndfile's own words, without soundfile's "Error opening <_io.BytesIO object at 0x...>:" in front
    return str(getattr(err, "error_string", err)).rstrip(".")


def load_audio(path: str | os.PathLike) -> tuple[Tensor, int]:
    """Read a whole file as ``[C, S]`` float32 in [-1, 1] and its sample rate (checked as :class:`AudioFile` says)."""
    file = AudioFile(path)
    return file.read(), file.sample_rate


def load_mono(path: str | os.PathLike, target_rate: int, where: str | None = None) -> Tensor:
    """A whole file as ``[S]`` float32 at ``target_rate``: channels averaged, resampled, checked.

    ``where`` (e.g. ``"item 3"``) prefixes file errors and, with the path, value errors.
    """
    label = str(path) if where is None else f"{where} ({path})"
    try:
        file = AudioFile(path, label)
        waveform = file.read()
    except AudioFileError as err:
        if where is None:
            raise
        raise AudioFileError(f"{where}: {err}") from err
    return _mono(waveform, file.sample_rate, target_rate, label)


class FileReader:
    """An audio file read window by window, mono at ``target_rate``, so an hour-long file is never in memory at once.

    Channels are averaged. Other sample rates are resampled per window with soxr: each read takes a
    margin of source samples on both sides (longer than the resampler's filter) and starts on the grid
    where source and target sample times coincide, so consecutive reads line up sample-exactly. At the
    file's own rate a read is exactly that stretch of :func:`load_mono`'s result.
    """

    _MARGIN_SECONDS = 0.05

    def __init__(self, path: str | os.PathLike, target_rate: int) -> None:
        self.file = AudioFile(path)
        self.rate, self.target_rate = self.file.sample_rate, target_rate
        self.num_samples = math.ceil(self.file.num_samples * target_rate / self.rate)
        common = math.gcd(self.rate, target_rate)
        self._grid_source, self._grid_target = self.rate // common, target_rate // common

    def read(self, start: int, stop: int) -> Tensor:
        """Samples ``[start, stop)`` at ``target_rate`` as float32 ``[stop - start]``, zeros past the end."""
        if self.rate == self.target_rate:
            return downmix(self.file.read(start, stop))[0]
        margin = math.ceil(self._MARGIN_SECONDS * self.target_rate / self._grid_target) * self._grid_target
        first = (start - margin) // self._grid_target * self._grid_target  # target sample on the shared grid
        source_first = first // self._grid_target * self._grid_source
        source_stop = math.ceil((stop + margin) * self.rate / self.target_rate)
        source = downmix(self.file.read(source_first, source_stop))
        piece = resample(source, self.rate, self.target_rate)[0, start - first : stop - first]
        piece = torch.nn.functional.pad(piece, (0, stop - start - piece.shape[-1]))
        # Past the file's end the reader promises zeros, as whole-file encoding pads with zeros.
        valid = max(0, min(stop, self.num_samples) - start)
        piece[valid:] = 0.0
        return piece


def read_segment(path: str | os.PathLike, start: int, num_samples: int, target_rate: int) -> Tensor:
    """``[num_samples]`` mono float32 from sample ``start`` at ``target_rate``, zeros past the end (reads only that stretch)."""
    return FileReader(path, target_rate).read(start, start + num_samples)


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
    with atomic_write(path) as f:
        _write_pcm(f, waveform, sample_rate, fmt)


def wav_bytes(waveform: Tensor, sample_rate: int) -> bytes:
    """A ``[S]`` waveform as an in-memory 16-bit PCM WAV file (what every browser plays), written as files are."""
    buffer = io.BytesIO()
    _write_pcm(buffer, waveform, sample_rate, "WAV")
    return buffer.getvalue()


def _write_pcm(target: BinaryIO, waveform: Tensor, sample_rate: int, fmt: str) -> None:
    sf.write(
        target, waveform.detach().float().clamp(-1, 1).cpu().numpy(), sample_rate, subtype=WRITE_SUBTYPE, format=fmt
    )


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
    raise AudioInputError(f"{where}: expected a tensor, numpy array or file path, got {type(item).__name__}.")


def check_values(waveform: Tensor, where: str, warn: bool = True) -> Tensor:
    """The value check of all audio in: NaN or inf raises :class:`AudioInputError`; float samples beyond
    full scale come back clipped to [-1, 1] (a new tensor, with a warning unless ``warn`` is False)."""
    if not torch.isfinite(waveform).all():
        raise AudioInputError(f"{where}: audio contains NaN or inf; clean or drop this item.")
    peak = waveform.abs().max().item() if waveform.numel() else 0.0
    if peak <= 1.0:
        return waveform
    if warn:
        warnings.warn(
            f"{where}: samples reach {peak:.3g}, beyond [-1, 1]; they are clipped. Normalise the audio "
            "(float audio is expected in [-1, 1]).",
            stacklevel=4,
        )
    return waveform.clamp(-1.0, 1.0)


def downmix(waveform: Tensor) -> Tensor:
    """``[C, S] -> [1, S]``: the channels' mean (one function, so every reader mixes alike)."""
    return waveform.mean(0, keepdim=True)


def _channels_first(waveform: Tensor, where: str) -> Tensor:
    """``[C, S]`` with few channels; refuses the channels-last layout ``[S, C]``."""
    channels, samples = waveform.shape
    if channels == 0:
        raise AudioInputError(
            f"{where}: audio has 0 channels (shape {tuple(waveform.shape)}); pass [channels, samples]."
        )
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
    """Checked ``[C, S]`` float32 -> ``[S]`` float32 at ``target_rate``."""
    waveform = resample(downmix(waveform), sample_rate, target_rate)[0]
    if waveform.numel() == 0:
        raise AudioInputError(f"{where}: audio is too short to resample to {target_rate} Hz.")
    return waveform


def _array_mono(waveform: Tensor, sample_rate: int, target_rate: int, where: str) -> Tensor:
    """``[C, S]`` of any dtype -> ``[S]`` float32 at ``target_rate``."""
    waveform = to_float(waveform, where)
    if waveform.shape[-1] == 0:
        raise AudioInputError(f"{where}: audio is empty (0 samples); drop it or pass at least one sample.")
    return _mono(check_values(waveform, where), sample_rate, target_rate, where)


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
        return [_array_mono(waveform[None], rate, target_rate, "audio")]
    if waveform.dim() in (2, 3) and waveform.shape[0] == 0:
        raise AudioInputError(f"audio batch of shape {tuple(waveform.shape)} is empty (B = 0); pass at least one item.")
    if waveform.dim() == 2:
        _check_batch_layout(waveform)
        return [_array_mono(row[None], rate, target_rate, f"item {i}") for i, row in enumerate(waveform)]
    if waveform.dim() == 3:
        return [
            _array_mono(_channels_first(item, f"item {i}"), rate, target_rate, f"item {i}")
            for i, item in enumerate(waveform)
        ]
    raise AudioInputError(
        f"audio of shape {tuple(waveform.shape)} has {waveform.dim()} dims; pass [S], [B, S] or [B, C, S]."
    )


def _item(item: object, rate: int, target_rate: int, where: str) -> Tensor:
    if _is_path(item):
        return load_mono(item, target_rate, where)
    waveform = _as_tensor(item, where)
    if waveform.dim() == 1:
        waveform = waveform[None]
    elif waveform.dim() != 2:
        raise AudioInputError(f"{where}: shape {tuple(waveform.shape)}; list items must be [S] or [C, S].")
    return _array_mono(_channels_first(waveform, where), rate, target_rate, where)


def list_audio_files(path: str | os.PathLike) -> list[Path]:
    """A file, or every audio file under a directory (recursively, sorted)."""
    path = Path(path)
    if path.is_dir():
        return sorted(p for p in path.rglob("*") if p.suffix.lower() in AUDIO_EXTENSIONS and p.is_file())
    if not path.exists():
        raise AudioFileError(f"no such file or directory: {path}")
    return [path]
