"""HACTokenizer: the user-facing object. Audio in, three token streams out, and back to audio."""

from __future__ import annotations

import functools
import os
import tempfile
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager, nullcontext
from pathlib import Path
from typing import TYPE_CHECKING, Concatenate, ParamSpec, TypeVar

import torch
from torch import Tensor
from torch.nn.utils import parametrize

from . import hub, model_card
from .audio import AudioLike, FileReader, to_mono_items
from .checkpoint import save_checkpoint
from .config import HACConfig
from .errors import DeviceError, HACError, PrecisionError, StreamError
from .heap import reusing_heap
from .model import HACModel
from .model_card import ModelFigures
from .nn.layers import padding_mask
from .partial import decode_streams
from .token_checks import check_tokens
from .tokens import PAD_ID, HACAudio, HACTokens
from .voice import FrameFit, acoustic_mean, swap_acoustic
from .windowing import (
    DEFAULT_DECODE_OVERLAP_SECONDS,
    DEFAULT_OVERLAP_SECONDS,
    DEFAULT_WINDOW_SECONDS,
    TensorReader,
    decode_windowed,
    encode_windowed,
    item_groups,
    window_frames,
)

if TYPE_CHECKING:  # huggingface_hub's API classes are imported only when pushing
    from huggingface_hub import CommitInfo, HfApi

_P = ParamSpec("_P")
_R = TypeVar("_R")


def _locked(method: Callable[Concatenate[HACTokenizer, _P], _R]) -> Callable[Concatenate[HACTokenizer, _P], _R]:
    """Run ``method`` holding the tokenizer's lock: the thread-safety promise of every public method using the model.

    On the CPU the call also runs with freed activations kept for reuse (:func:`hac_tokenizer.heap.reusing_heap`).
    """

    @functools.wraps(method)
    def locked(self: HACTokenizer, *args: _P.args, **kwargs: _P.kwargs) -> _R:
        with self._lock, reusing_heap() if self.device.type == "cpu" else nullcontext():
            return method(self, *args, **kwargs)

    return locked


@contextmanager
def _naming_argument(name: str) -> Iterator[None]:
    """Prefix errors raised inside with the argument they concern (two audio arguments share one validator)."""
    try:
        yield
    except HACError as err:
        raise type(err)(f"{name}: {err}") from err


def _usable_device(device: torch.device | str | None) -> torch.device | None:
    """``device`` parsed and checked to exist here, so a typo or a CPU-only machine gets a clear error."""
    if device is None:
        return None
    try:
        parsed = torch.device(device)
    except (RuntimeError, TypeError) as err:
        raise DeviceError(f"{device!r} is not a torch device ({err}); use 'cpu', 'cuda', 'cuda:1' or 'mps'.") from err
    available = {"cuda": torch.cuda.is_available, "mps": torch.backends.mps.is_available}
    if parsed.type in available and not available[parsed.type]():
        raise DeviceError(
            f"device {parsed} is not available on this machine (no {parsed.type} support found); use 'cpu'."
        )
    if parsed.type == "cuda" and parsed.index is not None and parsed.index >= torch.cuda.device_count():
        raise DeviceError(
            f"device {parsed} does not exist: this machine has {torch.cuda.device_count()} CUDA device(s)."
        )
    return parsed


class HACTokenizer:
    """Hierarchical Audio Codec tokenizer.

    >>> tok = HACTokenizer.from_pretrained()            # bundled default, offline
    >>> tokens = tok.encode(wav, sample_rate=16000)      # wav: [S], [B, S], [B, C, S], list, or paths
    >>> tokens.lexical.shape, tokens.acoustic.shape      # [B, T], [B, N, T]
    >>> audio = tok.decode(tokens)                       # HACAudio: waveform [B, S]

    Precision: encode in float32 or float16; bfloat16 is for decoding only (``encode`` raises
    :class:`~hac_tokenizer.errors.PrecisionError`, see :meth:`to`).

    One instance may be shared by threads: every public method that runs, casts, compiles or saves the
    model holds one re-entrant lock for the whole call, so such calls run one at a time (the model itself
    already uses every core for one call) and each sees one device and dtype throughout.
    """

    def __init__(self, model: HACModel, name: str | None = None) -> None:
        self.model = model.eval().requires_grad_(False)
        self.name = name or model.config.name
        self._lock = threading.RLock()  # re-entrant: convert_voice, itself locked, calls encode and decode

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
        model, entry = hub.load_model(
            name_or_path, revision=revision, cache_dir=cache_dir, local_files_only=local_files_only
        )
        name = entry.name if entry is not None else model.config.name
        return cls(model, name=name).to(device, dtype)

    @classmethod
    def from_config(cls, config: HACConfig) -> HACTokenizer:
        """A randomly initialised model of ``config`` (for training or speed tests; its tokens mean nothing)."""
        return cls(HACModel(config))

    @staticmethod
    def available_models() -> dict[str, str]:
        """Registry names and what each is; ``[bundled default]`` and ``[no weights yet]`` say which load."""

        def mark(name: str, entry: hub.ModelEntry) -> str:
            if name == hub.DEFAULT_MODEL:
                return f"[bundled default] {entry.description}"
            if not entry.published:
                return f"[no weights yet: {entry.train_command()}] {entry.description}"
            return entry.description

        return {name: mark(name, e) for name, e in hub.REGISTRY.items()}

    @_locked
    def save_pretrained(
        self, directory: str | os.PathLike, dtype: torch.dtype = torch.float32, *, figures: ModelFigures | None = None
    ) -> Path:
        """Write a folder loadable by ``from_pretrained(directory)`` and ready for the Hub; returns ``directory``.

        Writes ``config.json`` + ``model.safetensors`` (weights in ``dtype``) and a Hub model card ``README.md``
        (YAML metadata: ``library_name: hac-tokenizer``, tags, pipeline tag and, with figures, licence,
        languages and the measured results; see :mod:`hac_tokenizer.model_card`). ``figures`` default to the
        measured figures shipped for exactly these weights (the bundled model's), if any; they are copied to
        ``figures.json``. Raises :class:`~hac_tokenizer.errors.ConfigError`, before writing anything, if
        ``figures`` were measured on other weights.
        """
        if figures is None:
            figures = model_card.bundled_figures(self.model, hub.BUNDLED_DIR, dtype)
        card = model_card.build_card(self.model, figures, dtype)
        save_checkpoint(self.model, directory, dtype)
        model_card.save_card(directory, card, figures)
        return Path(directory)

    def push_to_hub(
        self,
        repo_id: str,
        *,
        token: str | None = None,
        private: bool = False,
        commit_message: str = "Upload hac-tokenizer checkpoint",
        revision: str | None = None,
        create_pr: bool = False,
        dtype: torch.dtype = torch.float32,
        figures: ModelFigures | None = None,
        api: HfApi | None = None,
    ) -> CommitInfo:
        """Upload the :meth:`save_pretrained` folder to the Hub repo ``repo_id`` in one commit; returns its ``CommitInfo``.

        Creates the model repo if needed (``private`` applies only then) and the branch ``revision`` if it does
        not exist; ``create_pr=True`` opens a pull request instead of committing to the branch. ``token``
        defaults to the one huggingface_hub finds (``HF_TOKEN`` or a stored ``hf auth login``). ``api`` is the ``huggingface_hub.HfApi`` to talk
        through (default ``HfApi(token=token)``; pass one to set an endpoint). The result loads back with
        ``HACTokenizer.from_pretrained(repo_id, revision=...)``.
        """
        from huggingface_hub import CommitOperationAdd, HfApi

        api = api if api is not None else HfApi(token=token)
        with tempfile.TemporaryDirectory(prefix="hac-push-") as folder:
            # Saved under the lock; the upload runs outside it, so a slow network does not stall encode calls.
            self.save_pretrained(folder, dtype, figures=figures)
            operations = [
                CommitOperationAdd(path_in_repo=f.name, path_or_fileobj=f) for f in sorted(Path(folder).iterdir())
            ]
            api.create_repo(repo_id, token=token, private=private, repo_type="model", exist_ok=True)
            if revision is not None:
                api.create_branch(repo_id, branch=revision, token=token, repo_type="model", exist_ok=True)
            return api.create_commit(
                repo_id,
                operations,
                commit_message=commit_message,
                token=token,
                repo_type="model",
                revision=revision,
                create_pr=create_pr,
            )

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
        return self.model.device

    @property
    def dtype(self) -> torch.dtype:
        """Compute dtype of the convolutional and transformer parts (quantizers always run in fp32)."""
        return self.model.dtype

    def num_parameters(self) -> int:
        return sum(p.numel() for p in self.model.parameters())

    @_locked
    def to(self, device: torch.device | str | None = None, dtype: torch.dtype | None = None) -> HACTokenizer:
        """Move to ``device`` and/or cast to ``dtype`` (float16/bfloat16/float32); returns self.

        Nearest-code search and code embeddings stay in fp32 whatever ``dtype``, so reduced precision
        changes tokens only where the CNN encoder's or the transformers' rounding moves the latent
        across a near-tie between two codes.

        - float16 (11 mantissa bits): encode and decode. Tokens agree with fp32 on all but a few
          frames; figures per CPU/GPU are in ``benchmarks/README.md`` (``benchmarks/precision.py``).
        - bfloat16 (8 mantissa bits): decode only. :meth:`encode`, :meth:`encode_file` and
          :meth:`convert_voice` raise :class:`~hac_tokenizer.errors.PrecisionError`: bf16 token
          choice is fragile and depends on the hardware's kernels (bundled model, same speech: bf16
          lexical tokens agreed with fp32 on about 97 % of frames on an AMD EPYC, on 27 % on an
          Intel Xeon with AMX). To encode, cast with ``tok.to(dtype=torch.float16)`` (or float32);
          the cast is in place, so keep a second tokenizer to decode in bf16 meanwhile.
        """
        if dtype is not None and dtype not in (torch.float32, torch.float16, torch.bfloat16):
            raise PrecisionError(f"dtype must be torch.float32, float16 or bfloat16, got {dtype}.")
        self.model.to(device=_usable_device(device), dtype=dtype)
        for quantizer in self.model.quantizers():
            quantizer.float()
        return self

    @_locked
    def compile(self, **options: object) -> HACTokenizer:
        """Opt in to ``torch.compile`` for the encoder, the transformers and the decoder; returns self.

        ``options`` go to ``torch.compile`` (e.g. ``mode="max-autotune"``, ``dynamic=True``). The
        quantizers stay eager so nearest-code search keeps its fp32 matmul and argmax; tests check that
        compiled and eager models give identical tokens. The first call per input shape is slow
        (compilation); compile once, then encode many equal-length batches (see the dataset tool).
        """
        transformers = [s.transformer for s in self.model.streams().values() if s.transformer is not None]
        for module in (self.model.encoder, *transformers, self.model.decoder):
            module.compile(**options)
        return self

    # -- encode ---------------------------------------------------------------------------------
    @_locked
    def encode(
        self,
        audio: AudioLike,
        sample_rate: int | None = None,
        streams: Sequence[str] | None = None,
        window_seconds: float | None = DEFAULT_WINDOW_SECONDS,
        overlap_seconds: float = DEFAULT_OVERLAP_SECONDS,
    ) -> HACTokens:
        """Audio -> tokens.

        Args:
            audio: ``[S]``, ``[B, S]`` or ``[B, C, S]`` tensor/array (float, or integer PCM), a list of
                ``[S]``/``[C, S]`` items of different lengths, or file path(s). Channels are averaged;
                audio is resampled to the model's ``sample_rate`` (16 kHz in the model zoo) with soxr.
            sample_rate: rate of array input in Hz (default: the model's). Files carry their own.
            streams: subset of ``("lexical", "phonetic", "acoustic")`` to compute; others are None and
                their work is skipped (no RVQ for content-only streams, never the decoder).
            window_seconds: items longer than this are encoded in overlapping windows of this length
                (memory bounded whatever the length; see :mod:`hac_tokenizer.windowing`). Shorter items
                are encoded whole, so their tokens do not depend on it. None: always whole.
            overlap_seconds: overlap of consecutive windows; each window keeps its centre, with half
                the overlap of context on each side. Where that half covers the transformers'
                ``context_frames`` (plus the CNN's few frames), windowed tokens equal whole tokens.

        Returns:
            ``HACTokens`` with ``lexical``/``phonetic [B, T]``, ``acoustic [B, N, T]``, ``lengths [B]``
            (``T_b = ceil(S_b / hop_length)``, ``S_b`` at the model's rate), padding set to ``PAD_ID``.

        Raises:
            PrecisionError: the tokenizer is in bfloat16 (decode-only; encode in float16 or float32).
            StreamError: ``streams`` names a stream the model does not have, or none.
            WindowError: ``window_seconds`` / ``overlap_seconds`` cannot cut the audio into windows.
        """
        self._check_encode_precision()
        wanted = self._check_streams(streams)
        items = to_mono_items(audio, sample_rate, self.sample_rate)
        sample_lengths = torch.tensor([len(x) for x in items])
        frame_lengths = -(-sample_lengths // self.hop_length)  # ceil division
        windows = None if window_seconds is None else window_frames(window_seconds, overlap_seconds, self.frame_rate)
        long_items = [] if windows is None else [i for i, n in enumerate(frame_lengths.tolist()) if n > windows[0]]
        whole_items = [i for i in range(len(items)) if i not in long_items]
        parts: list[tuple[list[int], dict[str, Tensor]]] = []
        with torch.inference_mode(), parametrize.cached():
            for rows in item_groups(self.model.encoder, whole_items, (frame_lengths * self.hop_length).tolist()):
                parts.append((rows, self._encode_whole([items[i] for i in rows], frame_lengths[rows], wanted)))
            for i in long_items:
                parts.append(([i], encode_windowed(self.model, TensorReader(items[i]), wanted, *windows)))
        # Assembled outside inference mode so callers get ordinary tensors they may edit in place.
        codes: dict[str, Tensor] = {}
        for rows, part in parts:
            self._place(codes, rows, part, len(items), int(frame_lengths.max()))
        return self._tokens(codes, frame_lengths, sample_lengths)

    @_locked
    def encode_file(
        self,
        path: str | os.PathLike,
        streams: Sequence[str] | None = None,
        window_seconds: float = DEFAULT_WINDOW_SECONDS,
        overlap_seconds: float = DEFAULT_OVERLAP_SECONDS,
    ) -> HACTokens:
        """Tokens of one audio file of any length, read window by window (B = 1).

        Memory stays flat in the file's length: only one batch of windows of audio is ever loaded
        (``encode(path)`` loads the whole file first). Both read the file through
        :class:`~hac_tokenizer.audio.AudioFile`, so they refuse the same files (missing, corrupt, empty:
        :class:`~hac_tokenizer.errors.AudioFileError`; NaN or inf samples:
        :class:`~hac_tokenizer.errors.AudioInputError`) and clip the same float samples beyond full scale. A
        file of at most one window gives exactly the tokens of ``encode(path)`` when it is at the model's
        rate; other rates are resampled per window. Like :meth:`encode`, refuses a bfloat16 tokenizer
        (:class:`~hac_tokenizer.errors.PrecisionError`).
        """
        self._check_encode_precision()
        wanted = self._check_streams(streams)
        reader = FileReader(path, self.sample_rate)
        with torch.inference_mode(), parametrize.cached():
            windows = window_frames(window_seconds, overlap_seconds, self.frame_rate)
            part = encode_windowed(self.model, reader, wanted, *windows)
        codes: dict[str, Tensor] = {}
        self._place(codes, [0], part, 1, next(iter(part.values())).shape[-1])
        return self._tokens(codes, torch.tensor([codes[wanted[0]].shape[-1]]), torch.tensor([reader.num_samples]))

    def _tokens(self, codes: dict[str, Tensor], frame_lengths: Tensor, sample_lengths: Tensor) -> HACTokens:
        """Wrap codes of this model with their lengths ``[B]`` and the model's rates and vocabularies."""
        return HACTokens(
            lexical=codes.get("lexical"),
            phonetic=codes.get("phonetic"),
            acoustic=codes.get("acoustic"),
            lengths=frame_lengths.to(self.device),
            sample_lengths=sample_lengths.to(self.device),
            sample_rate=self.sample_rate,
            frame_rate=self.frame_rate,
            model=self.name,
            vocab_sizes=self.config.vocab_sizes(),
        )

    def _encode_whole(self, items: list[Tensor], frame_lengths: Tensor, wanted: tuple[str, ...]) -> dict[str, Tensor]:
        """One padded forward pass for ``items``; codes ``[b, (N,) T]`` with ``PAD_ID`` past each length."""
        batch = torch.zeros(len(items), 1, int(frame_lengths.max()) * self.hop_length)
        for i, item in enumerate(items):
            batch[i, 0, : len(item)] = item
        frame_mask = padding_mask(frame_lengths.to(self.device), batch.shape[-1] // self.hop_length)
        codes = self.model.encode(batch.to(self.device, self.dtype), frame_mask, wanted)
        lengths = frame_lengths.to(self.device)
        valid = torch.arange(batch.shape[-1] // self.hop_length, device=self.device)[None, :] < lengths[:, None]
        return {name: c.masked_fill(~(valid[:, None] if c.dim() == 3 else valid), PAD_ID) for name, c in codes.items()}

    @staticmethod
    def _place(codes: dict[str, Tensor], rows: list[int], part: dict[str, Tensor], batch: int, frames: int) -> None:
        """Copy ``part`` (codes of items ``rows``) into the ``[batch, (N,) frames]`` PAD-filled ``codes``."""
        for name, c in part.items():
            if name not in codes:
                codes[name] = torch.full((batch, *c.shape[1:-1], frames), PAD_ID, dtype=c.dtype, device=c.device)
            codes[name][rows, ..., : c.shape[-1]] = c

    def _check_encode_precision(self) -> None:
        """Refuse to tokenize in bfloat16: its 8 mantissa bits make token choice hardware-dependent."""
        encoding = [self.model.encoder, *self.model.streams().values()]
        dtypes = {p.dtype for module in encoding for p in module.parameters() if p.is_floating_point()}
        if torch.bfloat16 in dtypes or self.dtype == torch.bfloat16:
            raise PrecisionError(
                "encode refuses bfloat16: with 8 mantissa bits the nearest-code choice after the encoder and "
                "transformers flips on a share of frames that depends on the CPU/GPU kernels (bundled model: "
                "2-8 % of frames on an AMD EPYC, 73 % of lexical frames on an Intel Xeon with AMX). Encode "
                "in float16 (tok.to(dtype=torch.float16); its tokens match fp32 on all but a few frames) or "
                "float32; bfloat16 remains fine for decode."
            )

    def _check_streams(self, streams: Sequence[str] | None) -> tuple[str, ...]:
        available = self.config.streams
        if streams is None:
            return available
        if isinstance(streams, str):
            streams = (streams,)
        unknown = [s for s in streams if s not in available]
        if unknown or not streams:
            raise StreamError(f"streams must be a non-empty subset of {available}, got {tuple(streams)}.")
        return tuple(s for s in available if s in streams)

    # -- decode ---------------------------------------------------------------------------------
    @_locked
    def decode(
        self,
        tokens: HACTokens,
        window_seconds: float | None = DEFAULT_WINDOW_SECONDS,
        overlap_seconds: float = DEFAULT_DECODE_OVERLAP_SECONDS,
    ) -> HACAudio:
        """Tokens -> audio ``HACAudio(waveform [B, S], lengths [B], sample_rate)``, trimmed per item.

        Every stream of the model must be present (use the same model that encoded them). Items longer
        than ``window_seconds`` are decoded in windows overlapping by ``overlap_seconds`` whose centres
        are kept (bounded memory; seams equal a whole decode up to float rounding). None: always whole.
        """
        codes = check_tokens(tokens, self.config, self.name)
        frame_lengths = tokens.lengths.to(self.device)
        num_frames = tokens.num_frames
        windows = None if window_seconds is None else window_frames(window_seconds, overlap_seconds, self.frame_rate)
        long_items = [] if windows is None else [i for i, n in enumerate(frame_lengths.tolist()) if n > windows[0]]
        whole_items = [i for i in range(tokens.batch_size) if i not in long_items]
        # Padding ids are replaced by code 0 for the lookup; masks and trimming keep them out of the audio.
        codes = {name: c.to(self.device).clamp_min(0) for name, c in codes.items()}
        audio = torch.zeros(tokens.batch_size, 1, num_frames * self.hop_length, device=self.device, dtype=self.dtype)
        with torch.inference_mode(), parametrize.cached():
            for rows in item_groups(self.model.decoder, whole_items, (frame_lengths * self.hop_length).tolist()):
                lengths = frame_lengths[rows]
                frames = int(lengths.max())
                frame_mask = padding_mask(lengths, frames)
                picked = {name: c[rows, ..., :frames] for name, c in codes.items()}
                decoded = self.model.decode(self.model.embed(picked), frame_mask)
                audio[rows, :, : frames * self.hop_length] = decoded
            for i in long_items:
                frames = int(frame_lengths[i])
                item_codes = {name: c[i : i + 1, ..., :frames] for name, c in codes.items()}
                audio[i, :, : frames * self.hop_length] = decode_windowed(self.model, item_codes, *windows)[0]
        return HACAudio.from_padded(audio[:, 0], tokens.sample_lengths.to(self.device), self.sample_rate)

    # -- voice conversion and partial decoding --------------------------------------------------
    @_locked
    def convert_voice(
        self,
        source: AudioLike,
        reference: AudioLike,
        sample_rate: int | None = None,
        reference_sample_rate: int | None = None,
        layers: Sequence[int] | None = None,
        fit: str | FrameFit = "loop",
    ) -> HACAudio:
        """Speech with the content of ``source`` in the voice of ``reference`` (each anything ``encode`` takes).

        The source's lexical and phonetic tokens are kept; acoustic RVQ ``layers`` (default all, 0 = coarsest)
        come from the reference, fitted to each source item's length by ``fit`` (``"loop"``: circular padding
        or cropping; ``"stretch"``: time warp; see :mod:`hac_tokenizer.voice`). ``source`` gives B items,
        ``reference`` one (for all) or B. ``reference_sample_rate`` defaults to ``sample_rate``.
        Returns ``HACAudio(waveform [B, S], lengths [B])`` with the source's lengths. Encodes both
        arguments, so a bfloat16 tokenizer is refused (:class:`~hac_tokenizer.errors.PrecisionError`).
        """
        # Locked as a whole (the lock is re-entrant): both encodes and the decode see one device and dtype.
        # With every layer swapped the source's RVQ is never read, so it is not computed.
        content_streams = [s for s in self.config.streams if s != "acoustic"] if layers is None else None
        voice_rate = sample_rate if reference_sample_rate is None else reference_sample_rate
        self._check_encode_precision()  # before the argument naming below: the dtype is no argument's fault
        with _naming_argument("source"):
            content = self.encode(source, sample_rate, streams=content_streams or None)
        with _naming_argument("reference"):
            voice = self.encode(reference, voice_rate, streams=("acoustic",))
        return self.decode(swap_acoustic(content, voice, layers, fit))

    @_locked
    def decode_streams(self, tokens: HACTokens, streams: Sequence[str], acoustic: Tensor | None = None) -> HACAudio:
        """Decode from a subset of streams, e.g. ``("lexical", "phonetic")`` with ``acoustic=tok.acoustic_mean(ref)``.

        See :func:`hac_tokenizer.partial.decode_streams`; :meth:`decode` is the full-fidelity path.
        """
        return decode_streams(self.model, tokens, streams, acoustic, model_name=self.name)

    @_locked
    def acoustic_mean(self, voice: HACTokens) -> Tensor:
        """``[B, D]``: each item's acoustic embedding ``Z_Qa`` averaged over its valid frames.

        A voice's stand-in for :meth:`decode_streams` (``acoustic=``); see :func:`hac_tokenizer.voice.acoustic_mean`.
        """
        return acoustic_mean(self.model, voice)

    def __repr__(self) -> str:
        c = self.config
        return (
            f"HACTokenizer(name={self.name!r}, streams={c.streams}, acoustic_layers={c.acoustic_layers}, "
            f"bitrate={c.bitrate:.0f} bps, params={self.num_parameters() / 1e6:.1f}M, device={self.device}, dtype={self.dtype})"
        )
