"""Praat TextGrids (long text format, as Montreal Forced Aligner writes them) -> word and phone intervals.

MFA names its tiers ``words`` and ``phones`` (``<speaker> - words`` when it aligns several speakers into
one file). Silence is an empty interval (MFA 2+) or ``sil``/``sp``/``<eps>`` (older MFA, Kaldi-style);
those gaps are dropped. ``spn`` (spoken noise, MFA's label for an out-of-vocabulary word) is kept, as
is ``<unk>``: the audio there is speech, and a later stage may decide what to do with it.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

from ...manifest import Interval
from ..errors import DataError

SILENCE_LABELS = frozenset({"", "sil", "sp", "<eps>", "<sil>"})

_ITEM = re.compile(r"^\s*item\s*\[\s*\d+\s*\]\s*:", re.MULTILINE)
_INTERVAL = re.compile(r"^\s*intervals\s*\[\s*\d+\s*\]\s*:", re.MULTILINE)
_FIELD = r'^\s*{}\s*=\s*("(?:[^"]|"")*"|\S+)'


@dataclass(frozen=True)
class Tier:
    """An interval tier: every interval, silences included, times in seconds."""

    name: str
    intervals: tuple[Interval, ...]


def _field(block: str, key: str, where: str) -> str:
    match = re.search(_FIELD.format(re.escape(key)), block, re.MULTILINE)
    if match is None:
        raise DataError(f"{where}: no '{key} =' where one was expected; is this a long-format TextGrid?")
    value = match.group(1)
    # Praat quotes strings and escapes a quote inside one by doubling it
    return value[1:-1].replace('""', '"') if value.startswith('"') else value


def _number(block: str, key: str, where: str) -> float:
    value = _field(block, key, where)
    try:
        return float(value)
    except ValueError as err:
        raise DataError(f"{where}: '{key} = {value}' is not a number") from err


def _tier(block: str, where: str) -> Tier | None:
    """One ``item [k]:`` block; None for point tiers (TextTier), which hold no intervals."""
    if _field(block, "class", where) != "IntervalTier":
        return None
    name = _field(block, "name", where)
    chunks = _INTERVAL.split(block)[1:]
    intervals = tuple(
        Interval(
            _number(c, "xmin", f"{where} tier {name!r}"),
            _number(c, "xmax", f"{where} tier {name!r}"),
            _field(c, "text", f"{where} tier {name!r}").strip(),
        )
        for c in chunks
    )
    return Tier(name, intervals)


def parse_textgrid(text: str, where: str = "TextGrid") -> list[Tier]:
    """Interval tiers of a long-format TextGrid's text, in file order."""
    if 'Object class = "TextGrid"' not in text:
        raise DataError(f"{where}: not a Praat TextGrid (no 'Object class = \"TextGrid\"' header).")
    blocks = _ITEM.split(text)
    if len(blocks) < 2:
        raise DataError(
            f"{where}: no 'item [k]:' tiers; short-format TextGrids are not supported. Re-save it in Praat as "
            "a text file, or run MFA with its default (long) output format."
        )
    return [tier for block in blocks[1:] if (tier := _tier(block, where)) is not None]


def _decode(raw: bytes) -> str:
    # Praat writes UTF-16 (with a byte-order mark) when a label is not ASCII
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        return raw.decode("utf-16")
    return raw.decode("utf-8-sig")


def read_textgrid(path: str | os.PathLike) -> list[Tier]:
    """Interval tiers of a long-format TextGrid file."""
    path = Path(path)
    try:
        text = _decode(path.read_bytes())
    except (OSError, UnicodeDecodeError) as err:
        raise DataError(f"cannot read TextGrid {path}: {err}") from err
    return parse_textgrid(text, str(path))


def _find(tiers: list[Tier], kind: str, where: str) -> Tier:
    for tier in tiers:
        if tier.name == kind or tier.name.endswith(f" - {kind}"):
            return tier
    raise DataError(f"{where}: no '{kind}' tier (tiers: {[t.name for t in tiers]}); is it an MFA alignment?")


def speech(intervals: tuple[Interval, ...]) -> tuple[Interval, ...]:
    """Intervals that are not silence."""
    return tuple(i for i in intervals if i.label.lower() not in SILENCE_LABELS)


def read_alignment(path: str | os.PathLike) -> tuple[tuple[Interval, ...], tuple[Interval, ...]]:
    """(words, phones) of an MFA TextGrid, silences dropped."""
    tiers = read_textgrid(path)
    return speech(_find(tiers, "words", str(path)).intervals), speech(_find(tiers, "phones", str(path)).intervals)
