"""An offline phonetic teacher that names the phone: panphon features joined with a fixed phone-identity code.

panphon's 24 articulatory features alone leave phones that share them (or differ only in length or tone) with the
same target, and a D-axis cosine on 24 slowly varying columns is easy to satisfy without telling phones apart. This
teacher appends ``identity_dim`` columns holding a fixed random +-1 code per phone label: distinct phones get
nearly orthogonal codes, so matching every column over time asks the phonetic stream to identify the aligned phone,
as HuBERT's discrete targets do. The code of a label is drawn from a generator seeded by the label's SHA-256, so it
is the same in every process, run and machine. The feature part (valued -1 / 0 / +1 like the code) keeps similar
phones close: the identity part alone would make /p/ as far from /b/ as from /a/.
"""

from __future__ import annotations

import torch
from torch import Tensor

from ..data.batch import Batch
from .base import TeacherTargets, broadcast_intervals, key_generator
from .panphon_features import PanphonTeacher

IDENTITY_DIM = 64


def identity_code(label: str, dim: int = IDENTITY_DIM) -> Tensor:
    """``[dim]`` fixed +-1 code of a phone label (same on every machine)."""
    return torch.randint(0, 2, (dim,), generator=key_generator(label)).float() * 2.0 - 1.0


class PhoneIdentityTeacher:
    def __init__(self, frame_rate: float, identity_dim: int = IDENTITY_DIM) -> None:
        self.features = PanphonTeacher(frame_rate)
        self.identity_dim = identity_dim
        self.dim = self.features.dim + identity_dim
        self.frame_rate = frame_rate
        self._known: dict[str, Tensor | None] = {}

    def vector(self, phone: str) -> Tensor | None:
        """``[24 + identity_dim]`` target of one phone label; None for silence and non-IPA labels."""
        if phone not in self._known:
            features = self.features.vector(phone)
            self._known[phone] = (
                None if features is None else torch.cat([features, identity_code(phone, self.identity_dim)])
            )
        return self._known[phone]

    def __call__(self, batch: Batch, num_frames: int) -> TeacherTargets:
        return broadcast_intervals(batch.phones, self.vector, num_frames, self.dim, self.frame_rate, batch.audio.device)
