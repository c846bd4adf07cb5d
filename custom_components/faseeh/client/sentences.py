"""Split streamed text into segments that should trigger a generation (pure, no I/O).

A segment ends after a run of sentence marks (Arabic ؟ ، ؛ and . ! ?), plus closing quotes or
brackets, once the next character is known to be whitespace: "3.5" and "e.g" do not split. A mark
run at the very end of the text so far ends a segment at once when it cannot be the start of
something longer: an Arabic mark, ! or ?, or a full stop after a character that is neither a
digit (of any script) nor a Latin letter. An LLM sends the space after a mark with the next word,
so waiting for it would cost a whole delta; "3." and "e." still wait for the next delta (or the
final flush). A newline always ends a segment. Whitespace that follows a segment's end stays
with that segment (after a segment cut at the end of the text so far, it starts the next one).
A segment holds at least one letter or digit: marks split off a run ("؟" then "!") join the
next segment. Text without marks is cut at the last space before ``max_chars`` (or hard at
``max_chars``).
"""

from __future__ import annotations

import re
from typing import Final

SENTENCE_MARKS: Final = "؟،؛.!?\n"
DEFAULT_MAX_CHARS: Final = 200

# A run of marks, then closing quotes/brackets (" ' \u201d \u2019 » ) ]), then whitespace.
_BOUNDARY: Final = re.compile(r"(?:[؟،؛.!?]+[\"'\u201d\u2019»)\]]*(?=\s)|\n)\s*")
# A mark run ending the text so far that cannot continue into "3.5" or "e.g".
_END_BOUNDARY: Final = re.compile(r"(?:[؟،؛!?]|(?<![\dA-Za-z])\.)[؟،؛.!?]*[\"'\u201d\u2019»)\]]*$")


class SentenceTrigger:
    """Buffer text deltas and hand back complete segments."""

    def __init__(self, max_chars: int = DEFAULT_MAX_CHARS) -> None:
        """Create an empty buffer; segments without marks are cut near ``max_chars``."""
        if max_chars < 1:
            raise ValueError("max_chars must be positive")
        self._max_chars = max_chars
        self._buffer = ""

    @property
    def pending(self) -> str:
        """The text received but not yet returned in a segment."""
        return self._buffer

    def feed(self, delta: str) -> list[str]:
        """Add a delta; return the segments it completed (possibly none)."""
        self._buffer += delta
        segments: list[str] = []
        while (end := self._segment_end()) is not None:
            segments.append(self._buffer[:end])
            self._buffer = self._buffer[end:]
        return segments

    def flush(self) -> str:
        """Return (and forget) whatever is still buffered: the end of the text."""
        rest, self._buffer = self._buffer, ""
        return rest

    def _segment_end(self) -> int | None:
        for match in _BOUNDARY.finditer(self._buffer):
            if match.end() > self._max_chars:
                break
            if speakable(self._buffer[: match.end()]):
                return match.end()
        if (
            len(self._buffer) <= self._max_chars
            and _END_BOUNDARY.search(self._buffer)
            and speakable(self._buffer)
        ):
            return len(self._buffer)
        if len(self._buffer) < self._max_chars:
            return None
        return self._cap()

    def _cap(self) -> int:
        cut = self._buffer.rfind(" ", 0, self._max_chars)
        if cut > 0 and speakable(self._buffer[:cut]):
            return cut + 1
        return self._max_chars


def speakable(segment: str) -> bool:
    """True when a text holds a letter or a digit, not only marks, spaces or invisible marks."""
    return any(character.isalnum() for character in segment)


def split_sentences(text: str, max_chars: int = DEFAULT_MAX_CHARS) -> list[str]:
    """Split a whole text into segments; their concatenation is ``text``."""
    trigger = SentenceTrigger(max_chars)
    segments = trigger.feed(text)
    if rest := trigger.flush():
        segments.append(rest)
    return segments
