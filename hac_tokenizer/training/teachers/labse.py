"""Lexical teacher: a sentence encoder's embedding of each force-aligned word, broadcast over the word's frames.

The paper (sec. 2) encodes the aligned transcript ``y_ali`` with LaBSE, so every frame of a word carries that
word's embedding and the lexical stream learns word identity and meaning, not sound. Each word is encoded on its
own, as a one-word "sentence": its vector is then the same wherever the word occurs, which is what a discrete
lexical token can hold.

Pooling turns the encoder's token states into one vector per word (always L2-normalised):

* ``"auto"`` (default) — ``"sentence-transformers"`` when the checkpoint has a ``modules.json``, else ``"pooler"``;
* ``"sentence-transformers"`` — the checkpoint's own pooling and dense layers (``sentence_head.py``): for
  ``sentence-transformers/LaBSE`` the [CLS] state through LaBSE's dense + tanh layer, LaBSE's definition;
* ``"pooler"`` — LaBSE's own sentence embedding: the BERT pooler (dense + tanh) on the [CLS] state of the last
  layer, as in the TF-Hub LaBSE and its ``transformers`` port (``setu4993/LaBSE``);
* ``"cls"`` — the last layer's [CLS] state (``sentence-transformers/LaBSE`` before its Dense head);
* ``"mean"`` — mean of the last layer's token states (sentence-transformers models such as all-MiniLM-L6-v2);
* ``"layer-mean"`` — mean over tokens of the average of all layers, the paper's ``Avg(Labse(y_ali))`` read
  literally.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ..data.batch import Batch
from ..errors import TeacherError
from .base import SILENCE_LABELS, TeacherTargets, broadcast_intervals
from .loading import FrozenTeacher, load_frozen, load_tokenizer
from .sentence_head import SentenceHead, load_sentence_head


def _masked_token_mean(states: Tensor, attention: Tensor) -> Tensor:
    """``[N, L, D], [N, L] -> [N, D]`` mean over real (non-padding) tokens."""
    weights = attention.unsqueeze(-1).to(states.dtype)
    return (states * weights).sum(1) / weights.sum(1).clamp(min=1.0)


POOLINGS: dict[str, Callable[[object, Tensor], Tensor]] = {
    "pooler": lambda out, attention: out.pooler_output,
    "cls": lambda out, attention: out.last_hidden_state[:, 0],
    "mean": lambda out, attention: _masked_token_mean(out.last_hidden_state, attention),
    "layer-mean": lambda out, attention: _masked_token_mean(torch.stack(out.hidden_states[1:]).mean(0), attention),
}


class SentenceEncoder(FrozenTeacher):
    """A frozen ``transformers`` text encoder and its tokenizer: ``texts -> [N, D']`` unit vectors.

    Embeddings are remembered per text (up to ``memory`` of them): a corpus has far fewer distinct words than
    word tokens, so after the first epochs almost every word is a lookup.
    """

    def __init__(
        self,
        model: nn.Module,
        tokenizer,
        pooling: str = "pooler",
        head: SentenceHead | None = None,
        memory: int = 200_000,
    ) -> None:
        super().__init__()
        if pooling not in (*POOLINGS, "sentence-transformers"):
            raise TeacherError(
                f"unknown pooling {pooling!r}; use auto, sentence-transformers or one of {', '.join(POOLINGS)}."
            )
        if pooling == "pooler" and getattr(model, "pooler", None) is None:
            raise TeacherError("this text encoder has no pooler layer; use pooling 'cls' or 'mean'.")
        if (pooling == "sentence-transformers") != (head is not None):
            raise TeacherError("pooling 'sentence-transformers' needs the checkpoint's head (and only it uses one).")
        self.model = model
        self.tokenizer = tokenizer
        self.pooling = pooling
        self.head = head
        self.memory = memory
        self.dim = model.config.hidden_size if head is None else _head_dim(head, model.config.hidden_size)
        self._known: dict[str, Tensor] = {}

    @classmethod
    def from_pretrained(cls, path: str, pooling: str = "auto") -> SentenceEncoder:
        head = load_sentence_head(path) if pooling in ("auto", "sentence-transformers") else None
        if pooling == "auto":
            pooling = "pooler" if head is None else "sentence-transformers"
        if pooling == "sentence-transformers" and head is None:
            raise TeacherError(f"{path!r} has no modules.json: it is not a sentence-transformers checkpoint.")
        return cls(load_frozen(path), load_tokenizer(path), pooling, head)

    def _pool(self, out, attention: Tensor) -> Tensor:
        if self.head is not None:
            return self.head(out.last_hidden_state, attention)
        return POOLINGS[self.pooling](out, attention)

    @torch.no_grad()
    def _encode_new(self, texts: list[str]) -> Tensor:
        device = next(self.model.parameters()).device
        tokens = self.tokenizer(texts, padding=True, truncation=True, max_length=64, return_tensors="pt").to(device)
        out = self.model(**tokens, output_hidden_states=self.pooling == "layer-mean")
        return F.normalize(self._pool(out, tokens["attention_mask"]).float(), dim=-1).cpu()

    def encode(self, texts: list[str]) -> Tensor:
        """``texts -> [N, D']`` L2-normalised embeddings (CPU)."""
        new = sorted({t for t in texts if t not in self._known})
        if new:
            if len(self._known) + len(new) > self.memory:
                self._known.clear()
            self._known.update(zip(new, self._encode_new(new)))
        if not texts:
            return torch.zeros(0, self.dim)
        return torch.stack([self._known[t] for t in texts])


def _head_dim(head: SentenceHead, width: int) -> int:
    linears = [m for m in head.modules() if isinstance(m, nn.Linear)]
    return linears[-1].out_features if linears else width


class WordEmbeddingTeacher(FrozenTeacher):
    """Each aligned word's sentence-encoder embedding on the frames it covers; silence frames have no target."""

    def __init__(self, encoder: SentenceEncoder, frame_rate: float) -> None:
        super().__init__()
        self.encoder = encoder
        self.dim = encoder.dim
        self.frame_rate = frame_rate

    @classmethod
    def from_pretrained(cls, path: str, frame_rate: float, pooling: str = "auto") -> WordEmbeddingTeacher:
        return cls(SentenceEncoder.from_pretrained(path, pooling), frame_rate)

    def forward(self, batch: Batch, num_frames: int) -> TeacherTargets:
        words = sorted({w.label for item in batch.words for w in item if w.label not in SILENCE_LABELS})
        vectors = dict(zip(words, self.encoder.encode(words)))
        return broadcast_intervals(batch.words, vectors.get, num_frames, self.dim, self.frame_rate, batch.audio.device)
