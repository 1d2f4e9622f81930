"""Errors of the training subpackage: data, teachers, losses, distillation, codebook upkeep.

Each derives from :class:`~hac_tokenizer.errors.HACError` (and from the built-in type that fits), so the
commands report them as input errors.
"""

from ..errors import HACError


class DataError(HACError, ValueError):
    """A corpus, alignment file or data option is unusable (names the file or option and what to do)."""


class AlignmentError(DataError):
    """One entry could not be aligned; ``reason`` is the short key it is counted under."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason


class EspeakError(HACError, RuntimeError):
    """libespeak-ng could not be loaded, initialised, or asked to speak (names the call)."""


class WordMismatchError(EspeakError):
    """eSpeak's WORD events do not map one-to-one onto the text's words (e.g. it expanded or merged them)."""


class FliteError(EspeakError):
    """libflite or one of its voices is missing or failed (names what to install)."""


class FliteWordMismatchError(WordMismatchError):
    """Flite read the text as a different number of words (it expanded an abbreviation or a letter sequence)."""


class FestivalError(EspeakError):
    """Festival or its Italian voices are missing, or Festival failed on a text (names what to install)."""


class FestivalWordMismatchError(WordMismatchError):
    """Festival read the text as other words than it was given (it split, joined or expanded one)."""


class PiperError(EspeakError):
    """The Piper voice package or onnxruntime is missing or failed (names what to install)."""


class PiperWordMismatchError(WordMismatchError):
    """The phonemizer in front of the Piper voice did not give each text word its own phones."""


class TeacherError(HACError, ValueError):
    """A teacher cannot be built or cannot produce targets (bad spec, missing model or package, no alignment)."""


class LossConfigError(HACError, ValueError):
    """A loss was configured with settings it cannot use (unknown kind, mismatched lists)."""


class DistillationError(HACError, ValueError):
    """Student and teacher tensors handed to the KD loss do not line up (shape, frames, feature size)."""


class CodebookError(HACError, ValueError):
    """Codes handed to a :class:`CodebookMonitor` do not match the codebook it watches."""
