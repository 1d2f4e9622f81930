"""Errors of the data layer."""

from ...errors import HACError


class DataError(HACError, ValueError):
    """A corpus, alignment file or data option is unusable (names the file or option and what to do)."""
