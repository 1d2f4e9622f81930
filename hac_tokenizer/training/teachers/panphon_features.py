"""An offline phonetic teacher: articulatory features of each aligned IPA phone (panphon), broadcast over its frames.

panphon (Mortensen et al. 2016) ships a table of 24 articulatory features (syllabic, sonorant, consonantal,
continuant, ..., voice, place, height, backness, rounding, length, tone) valued -1 / 0 / +1 for every IPA
segment with its diacritics. It is a linguistic resource, not a learned model, so it is language-independent and
needs no network. As a KD target it asks the phonetic stream to rise and fall, over time, with voicing, manner
and place: the phonetic distinctions HuBERT's layers carry, without speaker or channel. Phones panphon splits into
several segments (affricates written without a tie bar, diphthongs) get the mean of their segments' vectors;
silence markers and labels with no IPA segment have no target.
"""

from __future__ import annotations

import torch
from torch import Tensor

from ..data.batch import Batch
from ..errors import TeacherError
from .base import SILENCE_LABELS, TeacherTargets, broadcast_intervals


class PanphonTeacher:
    def __init__(self, frame_rate: float) -> None:
        try:
            import panphon
        except ImportError as err:
            raise TeacherError("the panphon teacher needs `panphon`: pip install 'hac-tokenizer[train]'.") from err
        self._table = panphon.FeatureTable()
        self.feature_names: list[str] = list(self._table.names)
        self.dim = len(self.feature_names)
        self.frame_rate = frame_rate
        self._known: dict[str, Tensor | None] = {}  # a phone inventory is small: remember every label seen

    def vector(self, phone: str) -> Tensor | None:
        """``[24]`` mean feature vector of the IPA segments of ``phone``; None for silence or non-IPA labels."""
        if phone not in self._known:
            segments = [] if phone in SILENCE_LABELS else self._table.word_fts(phone)
            self._known[phone] = (
                torch.tensor([s.numeric() for s in segments], dtype=torch.float32).mean(0) if segments else None
            )
        return self._known[phone]

    def __call__(self, batch: Batch, num_frames: int) -> TeacherTargets:
        return broadcast_intervals(batch.phones, self.vector, num_frames, self.dim, self.frame_rate, batch.audio.device)
