"""HACTokenizer: the user-facing object. Audio in, three token streams out, and back to audio."""

from __future__ import annotations

import os
import threading
import warnings
from collections.abc import Sequence
from pathlib import Path

import torch
from torch import Tensor

from . import hub
from .audio import AudioLike, to_mono_items
from .checkpoint import load_checkpoint, save_checkpoint
from .config import HACConfig
from .errors import AudioInputError
from .model import HACModel
from .nn.layers import length_mask
from .token_checks import check_tokens
from .tokens import PAD_ID, STREAMS, HACAudio, HACTokens


class HACTokenizer:
    """Hierarchical Audio Codec tokenizer.

    >>> tok = HACTokenizer.from_pretrained()            # bundled default, offline
    >>> tokens = tok.encode(wav, sample_rate=16000)      # wav: [S], [B, S], [B, C, S], list, or paths
    >>> tokens.lexical.shape, tokens.acoustic.shape      # [B, T], [B, N, T]
    >>> audio = tok.decode(tokens)                       # HACAudio: waveform [B, S]

    One instance may be shared by threads: ``encode``/``decode`` hold a lock, so calls run one at a
    time (the model itself already uses every core for one call).
    """

    def __init__(self, model: HACModel, name: str | None = None) -> None:
        self.model = model.eval().requires_grad_(False)
        self.name = name or model.config.name
        self._lock = threading.Lock()

    # -- construction ---------------------------------------------------------------------------
    @classmethod
    def from_pretrained(
        cls,
        name_or_path: str | os.PathLike | None = None,
        *,
        revision: str | None = None,
        cache_dir: str | os.PathLike | None = None,
        local_files_only: bool = False,
        device: torch.device | str | None = None,
        dtype: torch.dtype | None = None,
    ) -> HACTokenizer:
        """Load the bundled default (no argument), a registry name, a local directory or a Hub repo id."""
        directory, entry = hub.resolve(
            name_or_path, revision=revision, cache_dir=cache_dir, local_files_only=local_files_only
        )
        verify = entry is not None and entry.sha256 is not None and (entry.bundled or revision in (None, entry.revision))
        model = load_checkpoint(directory, expected_sha256=entry.sha256 if verify else None)
        name = entry.name if entry is not None else model.config.name
        if entry is not None and entry.placeholder:
            warnings.warn(
                f"{name} is an UNTRAINED PLACEHOLDER with random weights: its tokens carry no linguistic "
                "meaning and decoded audio is noise. It only lets the API run until the trained bundled "
                "checkpoint ships.",
                UserWarning,
                stacklevel=2,
            )
        return cls(model, name=name).to(device, dtype)

    @classmethod
    def from_config(cls, config: HACConfig) -> HACTokenizer:
        """A randomly initialised model of ``config`` (for training or speed tests; its tokens mean nothing)."""
        return cls(HACModel(config))

    @staticmethod
    def available_models() -> dict[str, str]:
        """Registry names and what each is; the bundled default is marked ``[bundled default]``."""
        return {
            name: f"[bundled default] {e.description}" if name == hub.DEFAULT_MODEL else e.description
            for name, e in hub.REGISTRY.items()
        }

    def save_pretrained(self, directory: str | os.PathLike, dtype: torch.dtype = torch.float32) -> Path:
        """Write ``config.json`` + ``model.safetensors`` loadable by ``from_pretrained(directory)``."""
        return save_checkpoint(self.model, directory, dtype)

    # -- properties -----------------------------------------------------------------------------
    @property
    def config(self) -> HACConfig:
        return self.model.config

    @property
    def sample_rate(self) -> int:
        return self.config.sample_rate

    @property
    def frame_rate(self) -> float:
        return self.config.frame_rate

    @property
    def hop_length(self) -> int:
        return self.config.hop_length

    @property
    def device(self) -> torch.device:
        return next(self.model.decoder.parameters()).device

    @property
    def dtype(self) -> torch.dtype:
        """Compute dtype of the convolutional and transformer parts (quantizers always run in fp32)."""
        return next(self.model.decoder.parameters()).dtype

    def num_parameters(self) -> int:
        return sum(p.numel() for p in self.model.parameters())

    def to(self, device: torch.device | str | None = None, dtype: torch.dtype | None = None) -> HACTokenizer:
        """Move to ``device`` and/or cast to ``dtype`` (float16/bfloat16/float32); returns self.

        Nearest-code search stays in fp32 so reduced precision changes tokens only where two codes
        are nearly equidistant.
        """
        if dtype is not None and dtype not in (torch.float32, torch.float16, torch.bfloat16):
            raise TypeError(f"dtype must be torch.float32, float16 or bfloat16, got {dtype}.")
        self.model.to(device=device, dtype=dtype)
        for quantizer in self.model.quantizers():
            quantizer.float()
        return self

    # -- encode ---------------------------------------------------------------------------------
    def encode(
        self,
        audio: AudioLike,
        sample_rate: int | None = None,
        streams: Sequence[str] | None = None,
    ) -> HACTokens:
        """Audio -> tokens.

        Args:
            audio: ``[S]``, ``[B, S]`` or ``[B, C, S]`` tensor/array (float, or integer PCM), a list of
                ``[S]``/``[C, S]`` items of different lengths, or file path(s). Channels are averaged;
                audio is resampled to 16 kHz with soxr.
            sample_rate: rate of array input in Hz (default: the model's, 16000). Files carry their own.
            streams: subset of ``("lexical", "phonetic", "acoustic")`` to compute; others are None and
                their work is skipped (no RVQ for content-only streams, never the decoder).

        Returns:
            ``HACTokens`` with ``lexical``/``phonetic [B, T]``, ``acoustic [B, N, T]``, ``lengths [B]``
            (``T_b = ceil(S_b / 320)`` at 16 kHz), padding set to ``PAD_ID``.
        """
        wanted = self._check_streams(streams)
        items = to_mono_items(audio, sample_rate, self.sample_rate)
        sample_lengths = torch.tensor([len(x) for x in items])
        frame_lengths = -(-sample_lengths // self.hop_length)  # ceil division
        batch = torch.zeros(len(items), 1, int(frame_lengths.max()) * self.hop_length)
        for i, item in enumerate(items):
            batch[i, 0, : len(item)] = item
        ragged = bool((frame_lengths != frame_lengths.max()).any())
        with self._lock, torch.inference_mode():
            frame_mask = length_mask(frame_lengths, batch.shape[-1] // self.hop_length).to(self.device) if ragged else None
            codes = self.model.encode(batch.to(self.device, self.dtype), frame_mask, wanted)
        lengths = frame_lengths.to(self.device)
        valid = torch.arange(batch.shape[-1] // self.hop_length, device=self.device)[None, :] < lengths[:, None]
        for name, c in codes.items():
            codes[name] = c.masked_fill(~(valid[:, None] if c.dim() == 3 else valid), PAD_ID)
        return HACTokens(
            lexical=codes.get("lexical"),
            phonetic=codes.get("phonetic"),
            acoustic=codes.get("acoustic"),
            lengths=lengths,
            sample_lengths=sample_lengths.to(self.device),
            sample_rate=self.sample_rate,
            frame_rate=self.frame_rate,
            model=self.name,
            vocab_sizes=self.config.vocab_sizes(),
        )

    def _check_streams(self, streams: Sequence[str] | None) -> tuple[str, ...]:
        available = self.config.streams
        if streams is None:
            return available
        if isinstance(streams, str):
            streams = (streams,)
        unknown = [s for s in streams if s not in available]
        if unknown or not streams:
            raise AudioInputError(f"streams must be a non-empty subset of {available}, got {tuple(streams)}.")
        return tuple(s for s in available if s in streams)

    # -- decode ---------------------------------------------------------------------------------
    def decode(self, tokens: HACTokens) -> HACAudio:
        """Tokens -> audio ``HACAudio(waveform [B, S], lengths [B], sample_rate)``, trimmed per item.

        Every stream of the model must be present (use the same model that encoded them).
        """
        codes = self._check_tokens(tokens)
        frame_lengths = tokens.lengths.to(self.device)
        num_frames = tokens.num_frames
        ragged = bool((frame_lengths != num_frames).any())
        frame_mask = length_mask(frame_lengths, num_frames) if ragged else None
        with self._lock, torch.inference_mode():
            # Padding ids are replaced by code 0 for the lookup; the mask then keeps them out of the audio.
            codes = {name: c.to(self.device).clamp_min(0) for name, c in codes.items()}
            audio = self.model.decode(self.model.embed(codes), frame_mask)
        lengths = tokens.sample_lengths.to(self.device)
        waveform = audio[:, 0].float()[:, : int(lengths.max())]
        steps = torch.arange(waveform.shape[-1], device=self.device)
        waveform = waveform.masked_fill(steps[None, :] >= lengths[:, None], 0.0)
        return HACAudio(waveform=waveform, lengths=lengths, sample_rate=self.sample_rate)

    def _check_tokens(self, tokens: HACTokens) -> dict[str, Tensor]:
        return check_tokens(tokens, self.config, self.name)

    def __repr__(self) -> str:
        c = self.config
        return (
            f"HACTokenizer(name={self.name!r}, streams={c.streams}, acoustic_layers={c.acoustic_layers}, "
            f"bitrate={c.bitrate:.0f} bps, params={self.num_parameters() / 1e6:.1f}M, device={self.device}, dtype={self.dtype})"
        )
