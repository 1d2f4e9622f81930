"""MFA TextGrid parsing: tiers, silences, escaping, encodings, and clear errors."""

from __future__ import annotations

import pytest
from corpus_fixtures import long_textgrid

from hac_tokenizer.manifest import Interval
from hac_tokenizer.training.data.textgrid import parse_textgrid, read_alignment, read_textgrid
from hac_tokenizer.training.errors import DataError

WORDS = [(0, 0.3, ""), (0.3, 0.62, "hello"), (0.62, 0.7, "sp"), (0.7, 1.1, "wörld"), (1.1, 1.25, "")]
PHONES = [(0, 0.3, "sil"), (0.3, 0.4, "h"), (0.4, 0.5, "ə"), (0.5, 0.62, "l"), (0.62, 0.7, ""), (0.7, 1.1, "w"),
          (1.1, 1.25, "")]


def test_parse_keeps_every_interval_in_order():
    tiers = parse_textgrid(long_textgrid({"words": WORDS, "phones": PHONES}, 1.25))
    assert [t.name for t in tiers] == ["words", "phones"]
    assert tiers[0].intervals[1] == Interval(0.3, 0.62, "hello")
    assert len(tiers[1].intervals) == len(PHONES)


def test_alignment_drops_silences(tmp_path):
    path = tmp_path / "utt.TextGrid"
    path.write_text(long_textgrid({"words": WORDS, "phones": PHONES}, 1.25), encoding="utf-8")
    words, phones = read_alignment(path)
    assert words == (Interval(0.3, 0.62, "hello"), Interval(0.7, 1.1, "wörld"))
    assert [p.label for p in phones] == ["h", "ə", "l", "w"]


def test_speaker_prefixed_tiers_and_utf16(tmp_path):
    path = tmp_path / "utt.TextGrid"
    text = long_textgrid({"spk1 - words": WORDS, "spk1 - phones": PHONES}, 1.25)
    path.write_bytes(text.encode("utf-16"))  # Praat's encoding for non-ASCII labels, with a BOM
    words, _ = read_alignment(path)
    assert [w.label for w in words] == ["hello", "wörld"]


def test_escaped_quotes_and_point_tiers_are_handled():
    text = long_textgrid({"words": [(0, 1, 'say "hi"')]}, 1.0)  # written as say ""hi""
    text = text.replace("item []: ", 'item []: \n    item [9]:\n        class = "TextTier" \n        name = "events" ')
    tiers = parse_textgrid(text)
    assert [t.name for t in tiers] == ["words"]
    assert tiers[0].intervals[0].label == 'say "hi"'


def test_short_format_and_missing_tier_are_clear_errors(tmp_path):
    short = ('File type = "ooTextFile"\nObject class = "TextGrid"\n\n0\n1\n<exists>\n1\n'
             '"IntervalTier"\n"words"\n0\n1\n1\n0\n1\n"a"\n')
    with pytest.raises(DataError, match="short-format"):
        parse_textgrid(short)
    path = tmp_path / "utt.TextGrid"
    path.write_text(long_textgrid({"words": WORDS}, 1.25))
    with pytest.raises(DataError, match="no 'phones' tier"):
        read_alignment(path)
    with pytest.raises(DataError, match="not a Praat TextGrid"):
        parse_textgrid("hello")
    assert read_textgrid(path)[0].name == "words"
