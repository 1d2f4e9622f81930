"""The batch every training component reads: audio clips and their alignments, cut to the clip."""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor

from ...manifest import Interval


@dataclass
class Batch:
    """A batch of equal-length clips cut from manifest utterances.

    Clips start on frame boundaries (``frame_offsets[b] * hop`` samples into the utterance) so that
    utterance-level teacher features cached on disk can be sliced by frame.
    """

    audio: Tensor  # [B, 1, S], S a multiple of the hop length
    ids: list[str]  # manifest ids
    frame_offsets: list[int]  # clip start within its utterance, in frames
    words: list[tuple[Interval, ...]]  # per item, times in seconds relative to the clip start
    phones: list[tuple[Interval, ...]]
    languages: list[str]
    speakers: list[str]
    # per item, frames that hold audio of the utterance; the rest is zero padding (None: no padding)
    valid_frames: list[int] | None = None

    def __len__(self) -> int:
        return len(self.ids)

    def frame_mask(self, num_frames: int) -> Tensor:
        """``[B, T]`` bool, True on frames that hold audio of the utterance."""
        valid = torch.tensor(self.valid_frames if self.valid_frames is not None else [num_frames] * len(self))
        return torch.arange(num_frames)[None, :] < valid[:, None]

    def to(self, device) -> Batch:
        from dataclasses import replace

        return replace(self, audio=self.audio.to(device))
