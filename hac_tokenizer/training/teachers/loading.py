"""Loading frozen ``transformers`` models for teachers, from a local directory or a Hub id; their input rate."""

from __future__ import annotations

from torch import Tensor, nn

from ...audio import resample
from ..errors import TeacherError

SPEECH_ENCODER_RATE = 16000  # the rate every HuBERT / wav2vec2 / XLS-R checkpoint was trained at


def speech_encoder_input(audio: Tensor, sample_rate: int) -> Tensor:
    """``[B, S]`` at ``sample_rate`` -> ``[B, S']`` at :data:`SPEECH_ENCODER_RATE` (soxr; unchanged at 16 kHz)."""
    return resample(audio, sample_rate, SPEECH_ENCODER_RATE)


def load_frozen(path: str, loader: str = "AutoModel") -> nn.Module:
    """``transformers.<loader>.from_pretrained(path)`` in eval mode with gradients off.

    Offline runs (``HF_HUB_OFFLINE=1``) need ``path`` to be a local directory or an id already in the Hub cache.
    """
    try:
        import transformers
    except ImportError as err:
        raise TeacherError("teachers need the `transformers` package: pip install 'hac-tokenizer[train]'.") from err
    try:
        model = getattr(transformers, loader).from_pretrained(path)
    except (OSError, ValueError) as err:
        raise TeacherError(
            f"cannot load teacher model {path!r} ({err}). Pass a directory holding config.json and weights, or a Hub "
            "id reachable from this machine (run once with network access to fill the Hub cache)."
        ) from err
    model.eval()
    model.requires_grad_(False)
    return model


def load_tokenizer(path: str):
    """The tokenizer saved beside a text teacher."""
    from transformers import AutoTokenizer

    try:
        return AutoTokenizer.from_pretrained(path)
    except (OSError, ValueError) as err:
        raise TeacherError(
            f"cannot load the tokenizer of text teacher {path!r} ({err}); save it with the model."
        ) from err


class FrozenTeacher(nn.Module):
    """Base of teachers that hold a network: always in eval mode.

    ``model.train()`` on a parent would otherwise switch on dropout and, in HuBERT/wav2vec2, SpecAugment-style
    masking of the teacher's own features.
    """

    def train(self, mode: bool = True) -> FrozenTeacher:
        return super().train(False)
