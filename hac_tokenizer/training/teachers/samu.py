"""Lexical teacher without transcripts: a SAMU-XLSR utterance embedding, broadcast over all frames.

SAMU-XLSR (Khurana et al. 2022) is XLS-R fine-tuned so that an attention-pooled, projected utterance vector
matches LaBSE's embedding of the transcript; HAC's SAMU variants use it in place of aligned LaBSE words.

What a SAMU checkpoint directory must hold (no ``transformers`` class covers the pooling head):

* a ``transformers`` speech encoder (``config.json`` + weights; Wav2Vec2Model for XLS-R), loaded with AutoModel;
* ``samu_head.safetensors`` with the pooling head, for encoder width H and embedding size D' (768 for LaBSE's
  space): ``attention.weight [1, H]``, ``attention.bias [1]`` (self-attentive pooling scores over frames),
  ``projection.weight [D', H]``, ``projection.bias [D']`` (followed by tanh, as in SAMU-XLSR).

Converting the authors' fairseq/SpeechBrain checkpoint means exporting the XLS-R encoder with ``transformers``'
wav2vec2 conversion script and these four tensors from its pooling/projection modules.

Note what the D-axis loss does with a target that is constant over time: teacher column d is ``c_d * 1``, so the
cosine of student column d with it is ``sign(c_d) * mean / rms`` of that column; the loss asks each projected
student dimension to hold steady over the utterance with the sign (and, across utterances, the pattern) of the
utterance embedding.
"""

from __future__ import annotations

from pathlib import Path

import torch
import torch.nn.functional as F
from safetensors.torch import load_file
from torch import Tensor, nn

from ..data.batch import Batch
from ..errors import TeacherError
from .base import TeacherTargets
from .loading import FrozenTeacher, load_frozen, speech_encoder_input

HEAD_FILE = "samu_head.safetensors"
HEAD_KEYS = ("attention.weight", "attention.bias", "projection.weight", "projection.bias")


def _head_path(path: str) -> Path:
    local = Path(path) / HEAD_FILE
    if local.is_file():
        return local
    if Path(path).is_dir():
        raise TeacherError(f"{path} has no {HEAD_FILE}; a SAMU teacher needs its pooling head (see teachers/samu.py).")
    from huggingface_hub import hf_hub_download

    try:
        return Path(hf_hub_download(path, HEAD_FILE))
    except Exception as err:  # huggingface_hub raises several unrelated types for offline / missing files
        raise TeacherError(f"cannot fetch {HEAD_FILE} of SAMU teacher {path!r}: {err}") from err


class SamuTeacher(FrozenTeacher):
    """A SAMU-XLSR utterance embedding of clips at ``sample_rate``, on every frame."""

    def __init__(self, path: str, *, sample_rate: int) -> None:
        super().__init__()
        self.sample_rate = sample_rate
        self.encoder = load_frozen(path)
        head = load_file(str(_head_path(path)))
        missing = [key for key in HEAD_KEYS if key not in head]
        if missing:
            raise TeacherError(f"{HEAD_FILE} of {path!r} lacks {missing}; it needs {list(HEAD_KEYS)}.")
        width = self.encoder.config.hidden_size
        self.attention = nn.Linear(width, 1)
        self.projection = nn.Linear(width, head["projection.weight"].shape[0])
        try:
            self.attention.load_state_dict({"weight": head["attention.weight"], "bias": head["attention.bias"]})
            self.projection.load_state_dict({"weight": head["projection.weight"], "bias": head["projection.bias"]})
        except RuntimeError as err:
            raise TeacherError(f"{HEAD_FILE} of {path!r} does not fit an encoder of width {width}: {err}") from err
        self.requires_grad_(False)
        self.eval()
        self.dim = self.projection.out_features

    def embed(self, audio: Tensor) -> Tensor:
        """``audio [B, S]`` at 16 kHz -> ``[B, D']`` utterance embeddings."""
        states = self.encoder(audio).last_hidden_state  # [B, T', H]
        weights = F.softmax(self.attention(states), dim=1)  # [B, T', 1]
        return torch.tanh(self.projection((weights * states).sum(dim=1)))

    @torch.no_grad()
    def forward(self, batch: Batch, num_frames: int) -> TeacherTargets:
        device = self.projection.weight.device
        audio = speech_encoder_input(batch.audio[:, 0], self.sample_rate)  # [B, S'] at 16 kHz
        embedding = self.embed(audio.float().to(device))
        features = embedding.unsqueeze(1).expand(-1, num_frames, -1).contiguous()
        return TeacherTargets(features, torch.ones(features.shape[:2], dtype=torch.bool, device=device))
