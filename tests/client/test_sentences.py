"""The sentence trigger: segments at Arabic and Latin sentence marks, newlines and a length cap."""

import itertools

from hypothesis import given, strategies as st
import pytest

from custom_components.faseeh.client import SentenceTrigger, split_sentences
from custom_components.faseeh.client.sentences import DEFAULT_MAX_CHARS

MARKS = "؟،؛.!?"


@pytest.mark.parametrize(
    ("text", "segments"),
    [
        ("مرحبا. كيف حالك؟ أنا بخير", ["مرحبا. ", "كيف حالك؟ ", "أنا بخير"]),
        ("نعم، شكرا؛ حسنا! طيب? نعم", ["نعم، ", "شكرا؛ ", "حسنا! ", "طيب? ", "نعم"]),
        ("سطر أول\nسطر ثان", ["سطر أول\n", "سطر ثان"]),
        ("first\n\nsecond", ["first\n\n", "second"]),
        ("Wait... what?! Yes.", ["Wait... ", "what?! ", "Yes."]),
        ('He said "hi." Then left', ['He said "hi." ', "Then left"]),
        ("Pi is 3.14 today", ["Pi is 3.14 today"]),
        ("ends with a mark.", ["ends with a mark."]),
        ("\n\nleading newlines. x", ["\n\nleading newlines. ", "x"]),
    ],
)
def test_split_sentences(text: str, segments: list[str]) -> None:
    """Segments end after marks followed by whitespace, and after newlines."""
    assert split_sentences(text) == segments


def test_mark_at_the_end_of_a_delta_ends_the_segment_at_once() -> None:
    """An LLM sends the space after a mark with the next word; the segment does not wait."""
    trigger = SentenceTrigger()
    assert trigger.feed("مرحبا بك.") == ["مرحبا بك."]
    assert trigger.feed(" كيف") == []
    assert trigger.feed(" حالك؟") == [" كيف حالك؟"]
    assert trigger.feed("\n") == []
    assert trigger.flush() == "\n"


def test_number_or_abbreviation_at_the_end_of_a_delta_waits() -> None:
    """A full stop after a digit or a Latin letter may be "3.5" or "e.g": it waits."""
    trigger = SentenceTrigger()
    assert trigger.feed("السعر 3.") == []
    assert trigger.feed("5 ريال. e.") == ["السعر 3.5 ريال. "]
    assert trigger.feed("g. x") == ["e.g. "]
    assert trigger.flush() == "x"
    assert trigger.feed("النسبة ٣.") == []
    assert trigger.feed("٤ بالمئة.") == ["النسبة ٣.٤ بالمئة."]


def test_marks_split_off_a_run_join_the_next_segment() -> None:
    """A segment is never only marks: the rest of a run cut by a delta starts the next one."""
    trigger = SentenceTrigger()
    assert trigger.feed("حقا؟") == ["حقا؟"]
    assert trigger.feed("!") == []
    assert trigger.feed(" نعم.") == ["! نعم."]


def test_deltas_split_mid_word() -> None:
    """Deltas cut anywhere still give the same segments."""
    trigger = SentenceTrigger()
    segments = []
    for delta in ["مرح", "با ب", "ك. ك", "يف حا", "لك؟", " أنا"]:
        segments += trigger.feed(delta)
    assert segments == ["مرحبا بك. ", "كيف حالك؟"]
    assert trigger.pending == " أنا"
    assert trigger.flush() == " أنا"
    assert trigger.pending == ""


def test_length_cap_cuts_at_the_last_space() -> None:
    """Text without marks is cut at the last space before the cap."""
    trigger = SentenceTrigger(max_chars=20)
    segments = trigger.feed("aaaa bbbb cccc dddd eeee ffff")
    assert segments == ["aaaa bbbb cccc dddd "]
    assert trigger.flush() == "eeee ffff"


def test_length_cap_without_spaces_cuts_hard() -> None:
    """A run without spaces is cut at exactly the cap."""
    trigger = SentenceTrigger(max_chars=10)
    assert trigger.feed("x" * 25) == ["x" * 10, "x" * 10]
    assert trigger.flush() == "x" * 5


def test_default_cap_is_200() -> None:
    """The default cap is 200 characters."""
    assert DEFAULT_MAX_CHARS == 200
    assert all(len(segment) <= 200 for segment in split_sentences("كلمة " * 500))


def test_invalid_cap() -> None:
    """The cap must be positive."""
    with pytest.raises(ValueError, match="positive"):
        SentenceTrigger(0)


_alphabet = st.sampled_from([*"ab مرح", *MARKS, "\n", " ", "3", '"', "»"])
_texts = st.text(alphabet=_alphabet, max_size=300)


@given(_texts, st.lists(st.integers(min_value=0, max_value=300), max_size=20), st.integers(5, 60))
def test_property_text_is_kept_and_segments_are_bounded(
    text: str, cuts: list[int], max_chars: int
) -> None:
    """However the deltas are cut: concatenation is the text, segments respect the cap, and
    every segment (but the flushed rest) ends at a boundary or at the cap."""
    trigger = SentenceTrigger(max_chars)
    points = sorted({0, len(text), *(cut % (len(text) + 1) for cut in cuts)})
    segments: list[str] = []
    for start, end in itertools.pairwise(points):
        segments += trigger.feed(text[start:end])
    rest = trigger.flush()
    assert "".join(segments) + rest == text
    for segment in segments:
        assert 0 < len(segment) <= max_chars
        ends_at_mark = segment.endswith("\n") or (
            segment.rstrip().rstrip("\"'\u201d\u2019»)]")[-1:] in set(MARKS)
        )
        assert ends_at_mark or len(segment) == max_chars or segment.endswith(" ")
        assert any(c.isalnum() for c in segment) or len(segment) == max_chars


@given(_texts)
def test_property_whole_text_equals_any_split(text: str) -> None:
    """split_sentences keeps the text."""
    assert "".join(split_sentences(text)) == text
