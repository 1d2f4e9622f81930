"""An offline lexical teacher that names the word by its sound: a fixed embedding of each aligned word's phone string.

A sentence encoder's vector of a word (``word-vectors``, LaBSE) is a lookup from the whole word to its meaning;
a small model trained on a few hours of speech did not start learning it (MODEL_CARD.md: the bundled run's lexical
KD loss stood where an audio-blind constant scores for 9,000 steps, and a ridge probe from the latent Z, with
context pooled over +-12 frames, predicts the centred vectors with a held-out column cosine of 0.06). This teacher
gives each word a vector made from what the audio holds: the sum of fixed random codes of its phones and of its
phone bigrams, word boundaries included (``^ b``, ``s $``), normalised. Frames of one word share one target and the
target changes at word boundaries, as a lexical token should; words that sound alike get close vectors (the codes
they share), so the map from audio is smooth, and it covers every language the aligner writes phones for. The same
probe predicts these vectors with a held-out cosine of 0.21 (step 10,400 of the bundled run, 400 training clips).

What it gives up: homophones share a target and synonyms do not, so the stream holds the word's form, not its
meaning; a model that can learn LaBSE's lookup should use ``labse`` (the paper's teacher).

A code is drawn from a generator seeded by the SHA-256 of its key (``base.key_generator``, as the phone-identity
codes), so targets are the same in every process, run and machine.
"""

from __future__ import annotations

import itertools

import torch
from torch import Tensor

from ...manifest import Interval
from ..data.batch import Batch
from ..errors import TeacherError
from .base import SILENCE_LABELS, TeacherTargets, broadcast_intervals, key_generator

BOUNDARY = ("^", "$")  # the word's start and end, as bigram partners


def gaussian_code(key: str, dim: int) -> Tensor:
    """``[dim]`` fixed standard-normal code of ``key`` (same on every machine)."""
    return torch.randn(dim, generator=key_generator(key))


def form_vector(phones: tuple[str, ...], dim: int) -> Tensor:
    """``[dim]`` unit vector of a phone string: its phone codes plus its bigram codes (boundaries included)."""
    padded = (BOUNDARY[0], *phones, BOUNDARY[1])
    codes = [gaussian_code(f"phone {p}", dim) for p in phones]
    codes += [gaussian_code(f"bigram {a} {b}", dim) for a, b in itertools.pairwise(padded)]
    total = torch.stack(codes).sum(dim=0)
    return total / total.norm()


def word_forms(words: tuple[Interval, ...], phones: tuple[Interval, ...]) -> list[Interval]:
    """Each word relabelled with its phone string (the phones whose centre lies in it, space-separated).

    Silence markers are not phones; a word without phones (cut off by the clip's edge, or unaligned) keeps no
    label and so gets no target.
    """
    spoken = [p for p in phones if p.label not in SILENCE_LABELS]
    forms = []
    for word in words:
        inside = [p.label for p in spoken if word.start <= (p.start + p.end) / 2 < word.end]
        if inside:
            forms.append(Interval(word.start, word.end, " ".join(inside)))
    return forms


class WordFormTeacher:
    def __init__(self, frame_rate: float, dim: int = 256) -> None:
        if isinstance(dim, bool) or not isinstance(dim, int) or dim < 1:
            raise TeacherError(f"the word-form teacher's dim is a positive whole number, not {dim!r}.")
        self.dim = dim
        self.frame_rate = frame_rate
        self._known: dict[str, Tensor] = {}

    def vector(self, form: str) -> Tensor:
        """``[dim]`` target of a word's phone string (space-separated phones)."""
        if form not in self._known:
            self._known[form] = form_vector(tuple(form.split(" ")), self.dim)
        return self._known[form]

    def __call__(self, batch: Batch, num_frames: int) -> TeacherTargets:
        forms = [word_forms(words, phones) for words, phones in zip(batch.words, batch.phones, strict=True)]
        return broadcast_intervals(forms, self.vector, num_frames, self.dim, self.frame_rate, batch.audio.device)
