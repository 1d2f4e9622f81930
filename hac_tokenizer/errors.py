"""Typed errors. Every message says what was wrong and what to do about it.

All errors derive from :class:`HACError`, so a data pipeline can catch one type and skip a bad item.
Where a built-in type is the natural one (a bad value, a missing file) the error derives from it too,
so ``except ValueError`` keeps working.
"""


class HACError(Exception):
    """Base class of every error raised by hac_tokenizer."""


class AudioInputError(HACError, ValueError):
    """Audio handed to ``encode`` is unusable: empty, NaN/inf, wrong rank or layout, bad sample rate."""


class AudioFileError(HACError, OSError):
    """An audio file is missing, unreadable or corrupt."""


class TokenError(HACError, ValueError):
    """Tokens handed to ``decode`` do not fit the model: ids out of range, mismatched streams or shapes."""


class StreamError(TokenError):
    """A stream selection names a stream the model does not have, or none at all (choose from ``config.streams``)."""


class WindowError(HACError, ValueError):
    """``window_seconds`` / ``overlap_seconds`` cannot cut audio into windows (not positive, or no centre left)."""


class ConfigError(HACError, ValueError):
    """A configuration is invalid, malformed, or of an unknown format version."""


class CheckpointError(HACError, RuntimeError):
    """A checkpoint is missing, corrupt, or does not match its config (names the key or file)."""


class ChecksumError(CheckpointError):
    """A weight file's sha256 differs from the one recorded in the registry."""


class DeviceError(HACError, ValueError):
    """A device is not a torch device, or is not available on this machine."""


class ModelNotFoundError(HACError, LookupError):
    """A model name is not in the registry, or its weights cannot be fetched (offline, not published)."""


class OutputPathError(HACError, ValueError):
    """An output cannot be written as asked: a format that cannot be written, or two inputs that share one output."""


class PrecisionError(HACError, TypeError):
    """The tokenizer's compute dtype cannot do what was asked: ``encode`` refuses bfloat16 (decode allows it).

    Not a fault of the audio: every item would fail the same way, so change the dtype, not the data.
    """


class ManifestError(HACError, ValueError):
    """A manifest line is malformed (names the file and line)."""


class DatasetError(HACError, ValueError):
    """The corpus or the output directory cannot be used as given (says which and what to do)."""


class DemoRequestError(HACError, ValueError):
    """The demo page refuses a request (too large, too long, not audio, a missing field); ``status`` is its HTTP status.

    The server answers it as ``{"error": message}``, so the message is what the person at the page reads.
    """

    def __init__(self, status: str, message: str) -> None:
        super().__init__(message)
        self.status = status
