"""What the demo page shows, computed from uploaded audio: token streams, a spectrogram and decoded audio.

Everything the page needs comes back as JSON-ready dicts (numbers, lists, base64 strings), so the server only
routes requests and the page only draws. Audio goes to the model through :func:`hac_tokenizer.audio.load_mono`,
the library's one audio reader: the demo refuses exactly the files ``encode`` refuses, with the same messages.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass

import torch
from torch import Tensor

from ..audio import audio_bytes_duration, decode_audio_bytes, to_mono_items, wav_bytes
from ..errors import AudioInputError
from ..nn.dsp import mel_filterbank, mel_spectrogram
from ..tokenizer import HACTokenizer
from ..tokens import HACTokens

SPECTROGRAM_BANDS = 80
SPECTROGRAM_WINDOW = 1024
SPECTROGRAM_RANGE_DB = 80.0  # quieter than the loudest bin by more than this is drawn black


@dataclass(frozen=True)
class Upload:
    """One uploaded file: its bytes and the name the browser gave it (used in messages, and for its extension)."""

    filename: str
    data: bytes


def read_upload(upload: Upload, sample_rate: int, max_seconds: float) -> Tensor:
    """``[S]`` float32 mono at ``sample_rate`` from an uploaded file, or :class:`AudioFileError` /
    :class:`AudioInputError` saying what is wrong with it (naming the upload)."""
    where = upload.filename
    seconds = audio_bytes_duration(upload.data, where)  # from the header: a long file is refused before decoding
    if seconds > max_seconds:
        raise AudioInputError(
            f"{where!r} is {seconds:.1f} s long; this demo takes at most {max_seconds:g} s. "
            "Upload a shorter clip, or start the demo with a larger --max-seconds."
        )
    samples, rate = decode_audio_bytes(upload.data, where)
    return to_mono_items([samples], rate, sample_rate)[0]


def wav_data_url(waveform: Tensor, sample_rate: int) -> str:
    """A ``[S]`` waveform as a ``data:audio/wav;base64,...`` URL of 16-bit PCM (what every browser plays)."""
    return "data:audio/wav;base64," + base64.b64encode(wav_bytes(waveform, sample_rate)).decode("ascii")


def spectrogram(waveform: Tensor, sample_rate: int, hop_length: int) -> dict:
    """Log-mel spectrogram of ``[S]`` as ``{"bands", "frames", "data"}``: ``data`` is base64 of uint8 ``[bands, frames]``
    (row 0 the lowest band), 0 = ``SPECTROGRAM_RANGE_DB`` below the loudest bin, 255 = the loudest."""
    filters = mel_filterbank(sample_rate, SPECTROGRAM_WINDOW, SPECTROGRAM_BANDS)
    # reflect padding needs more samples than half a window: pad a very short clip with silence first
    padded = torch.nn.functional.pad(waveform, (0, max(0, SPECTROGRAM_WINDOW // 2 + 1 - len(waveform))))
    mel = mel_spectrogram(padded[None, None], filters, hop_length)[0]  # [bands, frames]
    db = 20 * torch.log10(mel.clamp_min(1e-5))
    scaled = ((db - db.max()) / SPECTROGRAM_RANGE_DB + 1).clamp(0, 1) * 255
    data = scaled.round().to(torch.uint8).numpy()
    return {"bands": data.shape[0], "frames": data.shape[1], "data": base64.b64encode(data.tobytes()).decode("ascii")}


def stream_rows(tokens: HACTokens) -> dict[str, list[list[int]]]:
    """Item 0's valid frames as rows of ids per stream: one row for lexical and phonetic, one per RVQ layer."""
    item = tokens[0].trim()
    rows: dict[str, list[list[int]]] = {}
    for name, ids in item.streams().items():
        ids = ids[0]  # [T] or [N, T]
        rows[name] = (ids[None] if ids.dim() == 1 else ids).tolist()
    return rows


def partial_decodes(tok: HACTokenizer, tokens: HACTokens) -> dict[str, Tensor]:
    """``[S]`` audio decoded from the content streams only and from the acoustic stream only (those the model has)."""
    content = tuple(s for s in tok.config.streams if s != "acoustic")
    subsets = {"content_only": content, "acoustic_only": ("acoustic",) if "acoustic" in tok.config.streams else ()}
    return {
        kind: tok.decode_streams(tokens, streams).unbatch()[0]
        for kind, streams in subsets.items()
        if streams and len(streams) < len(tok.config.streams)
    }


def analyze(tok: HACTokenizer, upload: Upload, max_seconds: float) -> dict:
    """The page's view of one upload: tokens per stream, spectrogram, input, reconstruction and partial decodes."""
    waveform = read_upload(upload, tok.sample_rate, max_seconds)
    tokens = tok.encode(waveform, sample_rate=tok.sample_rate)
    audio = {"input": waveform, "reconstruction": tok.decode(tokens).unbatch()[0], **partial_decodes(tok, tokens)}
    config = tok.config
    return {
        "model": tok.name,
        "filename": upload.filename,
        "sample_rate": tok.sample_rate,
        "frame_rate": tok.frame_rate,
        "seconds": len(waveform) / tok.sample_rate,
        "frames": int(tokens.lengths[0]),
        "vocab_sizes": config.vocab_sizes(),
        "bitrate": config.bitrate,
        "streams": stream_rows(tokens),
        "spectrogram": spectrogram(waveform, tok.sample_rate, tok.hop_length),
        "audio": {kind: wav_data_url(w, tok.sample_rate) for kind, w in audio.items()},
    }


def convert(tok: HACTokenizer, source: Upload, reference: Upload, max_seconds: float, fit: str = "loop") -> dict:
    """The source's content in the reference's voice (:meth:`HACTokenizer.convert_voice`), as a WAV data URL."""
    content = read_upload(source, tok.sample_rate, max_seconds)
    voice = read_upload(reference, tok.sample_rate, max_seconds)
    converted = tok.convert_voice(content, voice, sample_rate=tok.sample_rate, fit=fit).unbatch()[0]
    return {
        "source": source.filename,
        "reference": reference.filename,
        "audio": {"converted": wav_data_url(converted, tok.sample_rate)},
    }
