"""How the bench judges one synthesis: the simulator's exact audio, a strict prefix, or wrong.

The client worker process uses it too.
"""

from __future__ import annotations

from dataclasses import dataclass

from harness.audio import AudioError, wav_pcm
from harness.speech import HANG, Fetch
from simulator import deterministic_pcm

SAMPLE_RATE = 24_000
# What the bench asks HA for: WAV, so no ffmpeg is in the path.
WAV_OPTIONS = {"preferred_format": "wav"}
REQUEST_BOUND = 30.0  # A request that has not finished by then is a hang.


@dataclass(frozen=True, slots=True)
class Result:
    """One synthesis after its check; times in seconds from the client's first action."""

    verdict: str  # 'exact', 'truncated', 'wrong', 'empty', 'hang', 'client-error', 'http-NNN'.
    first_byte: float | None = None
    total: float = 0.0
    error: str | None = None
    started: float = 0.0  # time.perf_counter() (CLOCK_MONOTONIC, shared by processes).

    @classmethod
    def of(cls, fetch: Fetch, body_verdict: str) -> Result:
        """A fetch, judged by its failure if it has one, else by body_verdict (its audio's)."""
        return cls(
            verdict=_failure(fetch) or body_verdict,
            first_byte=fetch.first_byte,
            total=fetch.total,
            error=fetch.error,
            started=fetch.started,
        )


def _failure(fetch: Fetch) -> str | None:
    if fetch.error == HANG:
        return "hang"
    if fetch.status not in (0, 200):
        return f"http-{fetch.status}"
    if fetch.error is not None:
        return "client-error"
    return None


def expected_pcm(text: str) -> bytes:
    """The simulator's audio for a whole session text."""
    return deterministic_pcm(text, SAMPLE_RATE)


def check_pcm(audio: bytes, text: str) -> str:
    """'exact', 'truncated' (a strict prefix of the text's audio, maybe none) or 'wrong'."""
    pcm = expected_pcm(text)
    if audio == pcm:
        return "exact"
    if len(audio) < len(pcm) and pcm.startswith(audio):
        return "truncated"
    return "wrong"


def wav_verdict(body: bytes, text: str) -> str:
    """``check_pcm`` of a PCM16 mono WAV at the simulator's rate; 'empty' or 'wrong' otherwise."""
    if not body:
        return "empty"
    try:
        pcm = wav_pcm(body, SAMPLE_RATE)
    except AudioError:
        return "wrong"
    return check_pcm(pcm, text)
