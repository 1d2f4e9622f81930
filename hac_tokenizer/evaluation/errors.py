"""Errors of the evaluation toolkit."""

from ..errors import HACError


class EvaluationError(HACError, ValueError):
    """Data handed to a metric cannot be scored: empty, mismatched lengths, or missing labels."""


class MissingDependencyError(HACError, ImportError):
    """An optional metric package (pesq, pystoi, matplotlib, visqol) is not installed."""


def require(module: str, package: str, metric: str):
    """Import ``module`` or raise :class:`MissingDependencyError` saying which package gives ``metric``."""
    import importlib

    try:
        return importlib.import_module(module)
    except ImportError as err:
        raise MissingDependencyError(
            f"{metric} needs the {package!r} package: pip install 'hac-tokenizer[eval]' (or pip install {package})."
        ) from err
