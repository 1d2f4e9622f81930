"""Phonetic teacher: the average of a HuBERT-like model's hidden layers (paper: ``Z_hubert = Avg(Hubert(x))``).

Works for any ``transformers`` speech encoder with a wav2vec2-style convolutional front end (HuBERT, mHuBERT-147,
wav2vec2, XLS-R, WavLM): their configs give the conv kernels and strides, from which the teacher's frame hop and
receptive field follow. These encoders read 16 kHz audio; a model at another sample rate has its clips resampled
to 16 kHz first. HuBERT's hop is 320 samples at 16 kHz (50 Hz), and its first frame covers samples [0, 400)
(centre 200 = 12.5 ms), while a model frame t is centred at (t + 1/2) / frame_rate s (10 ms at 50 Hz). Padding
the audio by ``(field - hop) / 2`` = 40 samples on each side moves every teacher frame centre onto the model's
when the model's frame rate is also 50 Hz, and gives exactly one teacher frame per model frame. At any other
frame rate the features are resampled in time (linear interpolation) to the frame count asked for.

``layers="all"`` averages the outputs of every transformer layer (``hidden_states[1:]``; index 0, the input to
the first layer, is a convolutional feature, not a contextual one); ``"last"`` or a list of layer numbers
(1-based, as in "HuBERT layer 9") choose others.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
import torch.nn.functional as F
from einops import rearrange
from torch import Tensor

from ..data.batch import Batch
from ..errors import TeacherError
from .base import TeacherTargets
from .loading import SPEECH_ENCODER_RATE, FrozenTeacher, load_frozen, speech_encoder_input


def _reads_normalized_audio(path: str) -> bool:
    """Whether the checkpoint's feature extractor standardises each waveform (mHuBERT-147 does, HuBERT-base not)."""
    from transformers import AutoFeatureExtractor

    try:
        return bool(getattr(AutoFeatureExtractor.from_pretrained(path), "do_normalize", False))
    except (OSError, ValueError):  # no preprocessor_config.json: the raw waveform, as HuBERT-base expects
        return False


def conv_geometry(kernels: Sequence[int], strides: Sequence[int]) -> tuple[int, int]:
    """``(hop, receptive field)`` in samples of a stack of 1-D convolutions."""
    hop, field = 1, 1
    for kernel, stride in zip(kernels, strides):
        field += (kernel - 1) * hop
        hop *= stride
    return hop, field


def _standardize(audio: Tensor) -> Tensor:
    """Zero mean, unit variance per item (Wav2Vec2FeatureExtractor's ``do_normalize``)."""
    return (audio - audio.mean(-1, keepdim=True)) / (audio.var(-1, keepdim=True) + 1e-7).sqrt()


class HubertTeacher(FrozenTeacher):
    """A speech encoder's layer-averaged hidden states: clips at ``sample_rate`` in, targets at ``frame_rate`` out."""

    def __init__(self, path: str, *, sample_rate: int, frame_rate: float, layers: str | Sequence[int] = "all") -> None:
        super().__init__()
        self.model = load_frozen(path)
        config = self.model.config
        if not hasattr(config, "conv_kernel"):
            raise TeacherError(
                f"{path!r} is a {type(self.model).__name__}, not a wav2vec2-like speech encoder (no conv_kernel in its "
                "config); use HuBERT, mHuBERT, wav2vec2, XLS-R or WavLM."
            )
        self.dim = config.hidden_size
        self.layers = self._layer_indices(layers, config.num_hidden_layers)
        self.normalize = _reads_normalized_audio(path)
        self.hop, self.field = conv_geometry(config.conv_kernel, config.conv_stride)
        self.sample_rate = sample_rate
        self.frame_rate = frame_rate

    @staticmethod
    def _layer_indices(layers: str | Sequence[int], count: int) -> list[int]:
        if layers == "all":
            return list(range(1, count + 1))
        if layers == "last":
            return [count]
        chosen = [int(layer) for layer in layers]
        if not chosen or not all(1 <= layer <= count for layer in chosen):
            raise TeacherError(f"teacher layers {layers!r}: give 'all', 'last' or numbers in 1..{count}.")
        return chosen

    def features(self, audio: Tensor) -> Tensor:
        """``audio [B, S]`` at 16 kHz -> layer-averaged hidden states ``[B, T', D']`` (T' about S / hop)."""
        if self.normalize:
            audio = _standardize(audio)
        side = (self.field - self.hop) / 2
        audio = F.pad(audio, (math.floor(side), math.ceil(side)))
        hidden = self.model(audio, output_hidden_states=True).hidden_states
        return torch.stack([hidden[i] for i in self.layers]).mean(dim=0)

    @torch.no_grad()
    def forward(self, batch: Batch, num_frames: int) -> TeacherTargets:
        device = next(self.model.parameters()).device
        audio = speech_encoder_input(batch.audio[:, 0], self.sample_rate)  # [B, S'] at 16 kHz
        features = self.features(audio.float().to(device))
        if SPEECH_ENCODER_RATE / self.hop != self.frame_rate:
            resized = F.interpolate(rearrange(features, "b t d -> b d t"), size=num_frames, mode="linear")
            features = rearrange(resized, "b d t -> b t d")
        return _fit_frames(features, num_frames)


def _fit_frames(features: Tensor, num_frames: int) -> TeacherTargets:
    """Crop or zero-pad ``[B, T', D']`` to ``num_frames``; padded frames are masked out."""
    batch, frames, dim = features.shape
    out = features.new_zeros(batch, num_frames, dim)
    mask = torch.zeros(batch, num_frames, dtype=torch.bool, device=features.device)
    keep = min(frames, num_frames)
    out[:, :keep] = features[:, :keep]
    mask[:, :keep] = True
    return TeacherTargets(out, mask)
