"""The bench's texts: unique sentences, long texts and LLM-like deltas."""

from __future__ import annotations

import re

from harness.errors import HarnessError

SENTENCE_MARKS = "؟،؛.!?\n"

SENTENCES = (
    "تم تشغيل الأضواء في غرفة المعيشة",
    "درجة الحرارة في الخارج ثلاثون درجة",
    "الباب الأمامي مقفل والإنذار يعمل",
    "سأذكرك بموعد الطبيب غدا صباحا",
    "المكيف مضبوط على اثنتين وعشرين درجة",
)


def arabic_number(number: int) -> str:
    """Arabic-Indic digits, so every request's text (and HA's cache key) is unique."""
    return str(number).translate(str.maketrans("0123456789", "٠١٢٣٤٥٦٧٨٩"))


class Texts:
    """A fresh, unique one-sentence text per call."""

    def __init__(self) -> None:
        """Start counting at one."""
        self._count = 0

    def next(self) -> str:
        """Return the next unique text (about 40 characters, 2 s of audio)."""
        self._count += 1
        return f"{SENTENCES[self._count % len(SENTENCES)]} {arabic_number(self._count)}."


def long_text(characters: int, suffix: str) -> str:
    """Sentences with marks (the entity splits them as it would) up to ``characters``."""
    parts: list[str] = []
    size = 0
    while size < characters:
        sentence = f"{SENTENCES[len(parts) % len(SENTENCES)]} {arabic_number(len(parts))}. "
        parts.append(sentence)
        size += len(sentence)
    return "".join(parts) + suffix


def llm_deltas(text: str) -> tuple[list[str], int]:
    """Split text like an LLM's tokens: a word with its leading space; marks on their own.

    Returns the deltas and the index of the first delta holding a sentence mark.
    """
    deltas = re.findall(r"\s*[^\s؟،؛.!?]+|[؟،؛.!?]+", text)
    if "".join(deltas) != text:
        raise HarnessError("the LLM text does not split back into itself")
    mark_index = next(i for i, delta in enumerate(deltas) if set(delta) & set(SENTENCE_MARKS))
    return deltas, mark_index
