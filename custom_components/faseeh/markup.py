"""Drop the markdown marks an LLM writes (emphasis, headings, code) so they are not read out.

Text arrives in pieces, so a mark whose meaning depends on the next character is held back
until that character arrives. Arithmetic such as "2*3=6" or "2 * 3" is left alone.
"""

from __future__ import annotations

_STAR = "*"
_HASH = "#"
_BACKTICK = "`"
_LINE_START = "\n"


def _is_word(character: str) -> bool:
    return character.isalnum()


def _is_blank(character: str) -> bool:
    return character.isspace()


class MarkupFilter:
    """Removes emphasis stars, heading hashes and backticks from a stream of text pieces."""

    def __init__(self) -> None:
        """Start at the beginning of a line, with nothing held back."""
        self._previous = _LINE_START
        self._at_line_start = True
        self._held = ""

    def feed(self, text: str) -> str:
        """Return what can be passed on of this piece; marks at its end may be held back."""
        out: list[str] = []
        for character in text:
            if character == _BACKTICK:
                continue
            if self._held and character == self._held[0]:
                self._held += character
                continue
            if self._held:
                out.append(self._resolve(character))
            if character in (_STAR, _HASH):
                self._held = character
                continue
            out.append(character)
            self._advance(character)
        return "".join(out)

    def end(self) -> str:
        """Return whatever was held back, now that no more text will come."""
        return self._resolve(None) if self._held else ""

    def _resolve(self, following: str | None) -> str:
        """Keep or drop the held run of marks, knowing the character that follows it."""
        run, self._held = self._held, ""
        after_blank = following is None or _is_blank(following)
        if run[0] == _HASH:
            # "# Heading" at the start of a line; "#1" or "C#" elsewhere is text.
            keep = not (self._at_line_start and after_blank)
        elif self._at_line_start:
            # "*emphasis" or a "* bullet" at the start of a line.
            keep = False
        else:
            # Between two words ("2*3") or two blanks ("2 * 3") it is arithmetic; touching a
            # word on one side only, it opens or closes emphasis.
            keep = (_is_word(self._previous) and following is not None and _is_word(following)) or (
                _is_blank(self._previous) and after_blank
            )
        if not keep:
            return ""
        self._advance(run[-1])
        return run

    def _advance(self, character: str) -> None:
        self._previous = character
        if character == _LINE_START:
            self._at_line_start = True
        elif not _is_blank(character):
            self._at_line_start = False
