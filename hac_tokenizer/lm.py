"""Lay HAC tokens out as one integer id space for a speech language model, and back, exactly.

A model with lexical, phonetic and N acoustic RVQ layers has ``K = 2 + N`` *codebooks*. Each gets a
contiguous block of ids after a few special ids, so one embedding table of :attr:`LMVocabulary.vocab_size`
rows covers everything::

    id range                       codebook
    [0, S)                         specials, in order: pad=0, bos=1, eos=2 (+ any you add)
    [S, S + V_lex)                 lexical
    [S + V_lex, ... + V_phn)       phonetic
    then V_ac ids per layer        acoustic.0, acoustic.1, ..., acoustic.{N-1}   (coarse to fine)

Two layouts read and write that id space:

* :class:`InterleavedLayout`, frame-major, one flat sequence ``[B, L]`` with ``L = 2 + K T``::

      bos | lex_0 phn_0 ac0_0 .. ac{N-1}_0 | lex_1 phn_1 ... | ... | eos | pad ...

  ``K x frame_rate`` tokens per second (300 for the bundled 4-layer model at 50 Hz).
* :class:`DelayedLayout`, the MusicGen/Moshi delay pattern, a matrix ``[B, K, L]`` with ``L = T + D + 2``
  (``D`` the largest delay): one column per step, codebook ``k`` shifted right by ``delays[k]`` so that an
  LM predicting column ``s`` has already seen the coarser codebooks of the same frame::

      col:       0     1      2      3     ...           T+D+1
      lexical    bos   lex_0  lex_1  lex_2 ...  pad  pad  eos
      phonetic   bos   pad    phn_0  phn_1 ...  pad       eos       (delays = 0, 1, 2, ...)
      acoustic.0 bos   pad    pad    ac0_0 ...            eos

Worked example (bundled ``hac-mls8-small``: lexical 2048, phonetic 512, 4 x 1024 acoustic):

    >>> vocab = LMVocabulary.from_config(tok.config)
    >>> vocab.offsets.tolist(), vocab.vocab_size
    ([3, 2051, 2563, 3587, 4611, 5635], 6659)
    >>> layout = InterleavedLayout(vocab)
    >>> ids = layout.encode(tokens)        # LongTensor [B, 2 + 6 T]; a lexical code 7 becomes id 3 + 7 = 10
    >>> layout.decode(ids)                 # == tokens.trim() (sample_lengths: see decode)

Decoding is strict: a wrong special, a code in another codebook's range or a sequence that stops mid-frame
raises :class:`~hac_tokenizer.errors.TokenError` naming the position, because silently repairing an LM's
output would hide bugs in the sampler. Padding frames of :class:`HACTokens` (``PAD_ID``) are never mapped to
code ids; they become the layout's ``pad`` after ``eos``.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import KW_ONLY, dataclass, field

import torch
from einops import rearrange
from torch import Tensor

from .config import HACConfig
from .errors import StreamError, TokenError
from .tokens import PAD_ID, STREAMS, HACTokens

DEFAULT_SPECIALS = ("pad", "bos", "eos")


@dataclass(frozen=True)
class Codebook:
    """One row of the LM id space: ``name`` (``lexical``, ``phonetic``, ``acoustic.<layer>``), ids ``[offset, offset + size)``."""

    name: str
    size: int
    offset: int

    @property
    def stream(self) -> str:
        return self.name.split(".")[0]


@dataclass(frozen=True)
class LMVocabulary:
    """Offsets of every codebook in one id space, special ids, and the rates an LM config needs.

    Build it with :meth:`from_config`; the fields are public so a training script can write them into
    its own config (see :meth:`summary`).
    """

    codebooks: tuple[Codebook, ...]
    specials: tuple[str, ...] = DEFAULT_SPECIALS
    _: KW_ONLY
    frame_rate: float
    sample_rate: int
    model: str | None = None
    model_vocab_sizes: dict[str, int] = field(default_factory=dict)

    def __post_init__(self) -> None:
        missing = [s for s in DEFAULT_SPECIALS if s not in self.specials]
        if missing or len(set(self.specials)) != len(self.specials):
            raise TokenError(f"specials must be unique and include {DEFAULT_SPECIALS}, got {self.specials}.")

    @classmethod
    def from_config(
        cls,
        config: HACConfig,
        streams: Sequence[str] | None = None,
        acoustic_layers: int | None = None,
        extra_specials: Sequence[str] = (),
    ) -> LMVocabulary:
        """The id space of ``config``'s streams (default all), keeping the first ``acoustic_layers`` RVQ layers.

        ``extra_specials`` reserves named ids after pad/bos/eos (e.g. ``("<speech>", "<text>")``) for a
        mixed text-speech LM; look them up with :meth:`special_id`.
        """
        streams = tuple(config.streams if streams is None else streams)
        unknown = [s for s in streams if s not in config.streams]
        if unknown or not streams:
            raise StreamError(f"streams must be a non-empty subset of {config.streams}, got {streams}.")
        layers = config.acoustic_layers if acoustic_layers is None else acoustic_layers
        if not 1 <= layers <= config.acoustic_layers:
            raise TokenError(f"acoustic_layers must lie in [1, {config.acoustic_layers}], got {acoustic_layers}.")
        sizes = config.vocab_sizes()
        names = [s for s in STREAMS if s in streams and s != "acoustic"]
        names += [f"acoustic.{i}" for i in range(layers)] if "acoustic" in streams else []
        specials = (*DEFAULT_SPECIALS, *extra_specials)
        offsets = torch.tensor([0] + [sizes[n.split(".")[0]] for n in names]).cumsum(0) + len(specials)
        codebooks = tuple(Codebook(n, sizes[n.split(".")[0]], int(o)) for n, o in zip(names, offsets))
        return cls(
            codebooks,
            specials,
            frame_rate=config.frame_rate,
            sample_rate=config.sample_rate,
            model=config.name,
            model_vocab_sizes=sizes,
        )

    # -- sizes ----------------------------------------------------------------------------------
    @property
    def num_codebooks(self) -> int:
        """K: tokens per frame."""
        return len(self.codebooks)

    @property
    def vocab_size(self) -> int:
        """Rows of an embedding table covering every special and code id."""
        last = self.codebooks[-1]
        return last.offset + last.size

    @property
    def offsets(self) -> Tensor:
        """``LongTensor [K]``: first id of each codebook."""
        return torch.tensor([c.offset for c in self.codebooks])

    @property
    def sizes(self) -> Tensor:
        """``LongTensor [K]``: codes per codebook."""
        return torch.tensor([c.size for c in self.codebooks])

    @property
    def acoustic_layers(self) -> int:
        return sum(c.stream == "acoustic" for c in self.codebooks)

    @property
    def streams(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(c.stream for c in self.codebooks))

    def special_id(self, name: str) -> int:
        try:
            return self.specials.index(name)
        except ValueError:
            raise TokenError(f"no special {name!r}; this vocabulary has {self.specials}.") from None

    @property
    def pad_id(self) -> int:
        return self.special_id("pad")

    @property
    def bos_id(self) -> int:
        return self.special_id("bos")

    @property
    def eos_id(self) -> int:
        return self.special_id("eos")

    # -- tokens <-> code matrix -----------------------------------------------------------------
    def stack(self, tokens: HACTokens) -> Tensor:
        """``HACTokens`` -> global ids ``[B, K, T]`` (``pad_id`` past each item's length).

        Tokens may hold more than the vocabulary covers (other streams, more RVQ layers): those are left out.
        """
        if tokens.vocab_sizes and any(tokens.vocab_sizes.get(k) != v for k, v in self.model_vocab_sizes.items()):
            raise TokenError(
                f"tokens of a model with vocabularies {tokens.vocab_sizes} ({tokens.model}) do not fit this layout "
                f"({self.model_vocab_sizes}, {self.model}); build the layout from the model that encoded them."
            )
        present = tokens.streams()
        missing = [s for s in self.streams if s not in present]
        if missing:
            raise TokenError(
                f"tokens lack the {missing} stream(s) this layout needs; encode them or drop them from the layout."
            )
        if "acoustic" in present and "acoustic" in self.streams and present["acoustic"].shape[1] < self.acoustic_layers:
            raise TokenError(
                f"tokens have {present['acoustic'].shape[1]} acoustic layers; the layout needs {self.acoustic_layers}."
            )
        rows = [present[s][:, None] for s in self.streams if s != "acoustic"]
        rows += [present["acoustic"][:, : self.acoustic_layers]] if "acoustic" in self.streams else []
        codes = torch.cat(rows, dim=1)  # [B, K, T]
        valid = rearrange(tokens.mask, "b t -> b 1 t").expand_as(codes)
        sizes = rearrange(self.sizes.to(codes.device), "k -> 1 k 1")
        bad = valid & ((codes < 0) | (codes >= sizes))
        if bad.any():
            b, k, t = (int(i) for i in bad.nonzero()[0])
            raise TokenError(
                f"item {b}, frame {t}: {self.codebooks[k].name} code {int(codes[b, k, t])} is outside "
                f"[0, {self.codebooks[k].size}) (a PAD_ID inside lengths, or tokens of another model)."
            )
        ids = codes + rearrange(self.offsets.to(codes.device), "k -> 1 k 1")
        return ids.masked_fill(~valid, self.pad_id)

    def unstack(self, ids: Tensor, lengths: Tensor, sample_lengths: Tensor) -> HACTokens:
        """Global ids ``[B, K, T]`` (only frames ``< lengths`` are read) -> ``HACTokens`` with local codes."""
        steps = torch.arange(ids.shape[-1], device=ids.device)
        valid = rearrange(steps[None, :] < lengths[:, None], "b t -> b 1 t").expand_as(ids)
        offsets = rearrange(self.offsets.to(ids.device), "k -> 1 k 1")
        codes = ids - offsets
        bad = valid & ((codes < 0) | (codes >= rearrange(self.sizes.to(ids.device), "k -> 1 k 1")))
        if bad.any():
            b, k, t = (int(i) for i in bad.nonzero()[0])
            book = self.codebooks[k]
            raise TokenError(
                f"item {b}, frame {t}: id {int(ids[b, k, t])} is not a {book.name} id "
                f"[{book.offset}, {book.offset + book.size}); the LM emitted a token of the wrong codebook there."
            )
        codes = codes.masked_fill(~valid, PAD_ID)
        streams = {name: None for name in STREAMS}
        first_acoustic = len(self.streams) - ("acoustic" in self.streams)
        for k, name in enumerate(s for s in self.streams if s != "acoustic"):
            streams[name] = codes[:, k]
        if "acoustic" in self.streams:
            streams["acoustic"] = codes[:, first_acoustic:]
        return HACTokens(
            **streams,
            lengths=lengths,
            sample_lengths=sample_lengths,
            sample_rate=self.sample_rate,
            frame_rate=self.frame_rate,
            model=self.model,
            vocab_sizes=dict(self.model_vocab_sizes),
        )

    def summary(self) -> dict:
        """Plain numbers for an LM config: vocab size, rates, special ids and each codebook's id range."""
        return {
            "vocab_size": self.vocab_size,
            "frame_rate": self.frame_rate,
            "sample_rate": self.sample_rate,
            "num_codebooks": self.num_codebooks,
            "special_ids": {name: i for i, name in enumerate(self.specials)},
            "codebooks": [{"name": c.name, "offset": c.offset, "size": c.size} for c in self.codebooks],
            "model": self.model,
        }


class LMLayout(ABC):
    """A way of arranging the ``[B, K, T]`` code matrix of an :class:`LMVocabulary` into LM input ids."""

    def __init__(self, vocab: LMVocabulary) -> None:
        self.vocab = vocab

    @classmethod
    def from_config(cls, config: HACConfig, **vocab_options) -> LMLayout:
        """The layout over :meth:`LMVocabulary.from_config` ``(config, **vocab_options)``."""
        return cls(LMVocabulary.from_config(config, **vocab_options))

    @property
    def vocab_size(self) -> int:
        return self.vocab.vocab_size

    @property
    def frame_rate(self) -> float:
        return self.vocab.frame_rate

    @property
    def tokens_per_second(self) -> float:
        """Ids per second of audio (bos/eos aside): K x frame rate, in both layouts."""
        return self.vocab.num_codebooks * self.frame_rate

    @abstractmethod
    def encode(self, tokens: HACTokens) -> Tensor:
        """``HACTokens`` -> LM ids (padding after ``eos`` is ``pad``)."""

    @abstractmethod
    def decode(self, ids: Tensor, sample_lengths: Tensor | None = None) -> HACTokens:
        """Exact inverse of :meth:`encode`. Ids carry no sample counts, so ``sample_lengths`` defaults to
        ``lengths x hop``; pass the encoder's ``tokens.sample_lengths`` to restore them exactly."""

    def _finish(self, codes: Tensor, lengths: Tensor, sample_lengths: Tensor | None, ids: Tensor) -> HACTokens:
        """Codes -> tokens, then re-encode and compare so that any stray id off the code grid is reported."""
        hop = round(self.vocab.sample_rate / self.vocab.frame_rate)
        samples = lengths * hop if sample_lengths is None else torch.as_tensor(sample_lengths, device=lengths.device)
        if samples.shape != lengths.shape:
            raise TokenError(f"sample_lengths must be [B] = {tuple(lengths.shape)}, got {tuple(samples.shape)}.")
        tokens = self.vocab.unstack(codes, lengths, samples)
        expected = self.encode(tokens)
        if expected.shape[-1] < ids.shape[-1]:  # extra trailing pad columns are harmless
            expected = torch.nn.functional.pad(
                expected, (0, ids.shape[-1] - expected.shape[-1]), value=self.vocab.pad_id
            )
        wrong = (expected != ids).nonzero()
        if len(wrong):
            where = tuple(int(i) for i in wrong[0])
            raise TokenError(
                f"id {int(ids[where])} at {where} should be {int(expected[where])} in the {type(self).__name__} "
                "(a special where a code belongs, or a code in the pad/bos/eos positions)."
            )
        return tokens

    def __repr__(self) -> str:
        names = ", ".join(c.name for c in self.vocab.codebooks)
        return (
            f"{type(self).__name__}(vocab_size={self.vocab_size}, codebooks=[{names}], frame_rate={self.frame_rate:g})"
        )


class InterleavedLayout(LMLayout):
    """Frame-major flat sequences ``[B, 2 + K T]``: ``bos``, then each frame's K ids, then ``eos``, then ``pad``."""

    def sequence_length(self, num_frames: int) -> int:
        return 2 + self.vocab.num_codebooks * num_frames

    def encode(self, tokens: HACTokens) -> Tensor:
        """``HACTokens`` -> ``LongTensor [B, 2 + K T]`` with T the longest item."""
        tokens = tokens.trim()
        codes = self.vocab.stack(tokens)  # [B, K, T]
        batch, frames = codes.shape[0], codes.shape[-1]
        body = rearrange(codes, "b k t -> b (t k)")
        ids = torch.full(
            (batch, self.sequence_length(frames)), self.vocab.pad_id, dtype=torch.long, device=codes.device
        )
        ids[:, 0] = self.vocab.bos_id
        ids[:, 1:-1] = body
        ends = 1 + tokens.lengths.to(codes.device) * self.vocab.num_codebooks
        ids[torch.arange(batch, device=codes.device), ends] = self.vocab.eos_id
        return ids

    def decode(self, ids: Tensor, sample_lengths: Tensor | None = None) -> HACTokens:
        """``[B, L]`` or ``[L]`` ids -> ``HACTokens`` (see :meth:`LMLayout.decode`)."""
        ids = _batched(ids, 2, "[B, L] (or [L])")
        k = self.vocab.num_codebooks
        lengths = _end_positions(ids == self.vocab.eos_id, "sequence") - 1
        if (lengths % k != 0).any():
            b = int((lengths % k != 0).nonzero()[0])
            raise TokenError(f"item {b}: eos after {int(lengths[b])} codes, not a whole number of {k}-id frames.")
        lengths = lengths // k
        if int(lengths.min()) < 1:
            raise TokenError("eos right after bos: an item has no frame to decode.")
        frames = int(lengths.max())
        codes = rearrange(ids[:, 1 : 1 + k * frames], "b (t k) -> b k t", k=k)
        return self._finish(codes, lengths, sample_lengths, ids)


class DelayedLayout(LMLayout):
    """Delay pattern ``[B, K, T + D + 2]``: codebook ``k`` starts ``delays[k]`` columns late (MusicGen / Moshi).

    Column 0 is ``bos`` in every row, column ``1 + D + T_b`` is ``eos`` in every row; a row's columns before its
    first and after its last code are ``pad`` (mask them out of the LM loss: they are fixed by the layout).
    The default delays ``0, 1, ..., K-1`` let the LM condition each codebook on all coarser ones of its frame;
    Moshi-style ``(0, 0, 1, 1, 1, 1)`` delays the acoustic layers after the content streams.
    """

    def __init__(self, vocab: LMVocabulary, delays: Sequence[int] | None = None) -> None:
        super().__init__(vocab)
        delays = tuple(range(vocab.num_codebooks)) if delays is None else tuple(int(d) for d in delays)
        if len(delays) != vocab.num_codebooks or min(delays) < 0:
            raise TokenError(
                f"delays must be {vocab.num_codebooks} non-negative ints (one per codebook), got {delays}."
            )
        self.delays = delays

    @classmethod
    def from_config(cls, config: HACConfig, delays: Sequence[int] | None = None, **vocab_options) -> DelayedLayout:
        return cls(LMVocabulary.from_config(config, **vocab_options), delays)

    @property
    def max_delay(self) -> int:
        return max(self.delays)

    def sequence_length(self, num_frames: int) -> int:
        return num_frames + self.max_delay + 2

    def _columns(self, frames: int, device: torch.device) -> Tensor:
        """``[K, T]``: the column holding frame t of codebook k."""
        delays = torch.tensor(self.delays, device=device)
        return 1 + delays[:, None] + torch.arange(frames, device=device)[None, :]

    def encode(self, tokens: HACTokens) -> Tensor:
        """``HACTokens`` -> ``LongTensor [B, K, T + D + 2]`` with T the longest item."""
        tokens = tokens.trim()
        codes = self.vocab.stack(tokens)  # [B, K, T]
        batch, k, frames = codes.shape
        ids = torch.full(
            (batch, k, self.sequence_length(frames)), self.vocab.pad_id, dtype=torch.long, device=codes.device
        )
        ids[:, :, 0] = self.vocab.bos_id
        ids.scatter_(2, self._columns(frames, codes.device).expand(batch, k, frames), codes)
        ends = 1 + self.max_delay + tokens.lengths.to(codes.device)
        ids[torch.arange(batch, device=codes.device), :, ends] = self.vocab.eos_id
        return ids

    def decode(self, ids: Tensor, sample_lengths: Tensor | None = None) -> HACTokens:
        """``[B, K, L]`` or ``[K, L]`` ids -> ``HACTokens`` (see :meth:`LMLayout.decode`)."""
        ids = _batched(ids, 3, "[B, K, L] (or [K, L])")
        if ids.shape[1] != self.vocab.num_codebooks:
            raise TokenError(f"ids have {ids.shape[1]} rows; this layout has {self.vocab.num_codebooks} codebooks.")
        lengths = _end_positions(ids[:, 0] == self.vocab.eos_id, "first row") - 1 - self.max_delay
        if int(lengths.min()) < 1:
            raise TokenError(f"eos comes before the first complete frame (delays {self.delays}); no frame to decode.")
        frames = int(lengths.max())
        columns = self._columns(frames, ids.device).expand(ids.shape[0], -1, -1)
        codes = ids.gather(2, columns.clamp_max(ids.shape[-1] - 1))
        return self._finish(codes, lengths, sample_lengths, ids)


def _batched(ids: Tensor, dims: int, shape: str) -> Tensor:
    if not isinstance(ids, Tensor) or ids.dtype.is_floating_point or ids.dtype == torch.bool:
        raise TokenError(
            f"LM ids must be an integer tensor {shape}, got {type(ids).__name__} {getattr(ids, 'dtype', '')}."
        )
    if ids.dim() == dims - 1:
        ids = ids[None]
    if ids.dim() != dims:
        raise TokenError(f"LM ids must be {shape}, got shape {tuple(ids.shape)}.")
    return ids.long()


def _end_positions(is_eos: Tensor, where: str) -> Tensor:
    """``[B, L]`` bool -> ``[B]`` index of the first eos of each item; TokenError if an item has none."""
    if not is_eos.any(-1).all():
        b = int((~is_eos.any(-1)).nonzero()[0])
        raise TokenError(f"item {b}: no eos in the {where}; append eos after the last frame before decoding.")
    return is_eos.long().argmax(-1)
