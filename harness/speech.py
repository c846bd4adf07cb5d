"""Speech fetched from Home Assistant the way a media player gets it, with its timings.

A player is handed the URL that ``POST /api/tts_get_url`` returns and GETs it without any
credentials; HA synthesises while the body streams. Times are ``time.perf_counter()`` seconds
(CLOCK_MONOTONIC, the same clock in every process) from the POST.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
import time
from typing import Any

import aiohttp

from .api import HassApi
from .errors import HarnessError

SPEECH_TIMEOUT = 60.0
HANG = "hang"


@dataclass(slots=True)
class Fetch:
    """One synthesis as a client saw it; times in seconds from the client's first action."""

    started: float = 0.0  # time.perf_counter() at the first action.
    answered: float | None = None  # HA only: when POST /api/tts_get_url had answered.
    first_byte: float | None = None
    total: float = 0.0  # To the last byte.
    status: int = 0
    error: str | None = None  # HANG when it ran out of time.
    body: bytes = b""

    def raise_for_error(self) -> None:
        """HarnessError unless the audio arrived whole with HTTP 200."""
        if self.error is not None:
            raise HarnessError(self.error)
        if self.first_byte is None or not self.body:
            raise HarnessError("the speech URL returned no audio at all")

    @property
    def first_byte_after_get(self) -> float:
        """From the GET of the audio URL to its first byte."""
        assert self.first_byte is not None
        return self.first_byte - (self.answered or 0.0)


async def fetch_speech(
    api: HassApi,
    engine_id: str,
    message: str,
    options: Mapping[str, Any] | None = None,
    *,
    cache: bool = False,
    bound: float = SPEECH_TIMEOUT,
    save_to: Path | None = None,
) -> Fetch:
    """POST /api/tts_get_url, then GET the URL it returns; never raises for the service.

    A failure is in ``error`` (an HTTP status, HANG after bound seconds, a client error); the body
    is whatever arrived, saved to save_to when given.
    """
    fetch = Fetch()
    body = {"engine_id": engine_id, "message": message, "cache": cache, "options": options or {}}
    started = fetch.started = time.perf_counter()
    parts: list[bytes] = []
    session = api.session
    try:
        async with session.post(
            f"{api.base}/api/tts_get_url",
            json=body,
            headers=api.headers,
            timeout=aiohttp.ClientTimeout(total=bound),
        ) as response:
            answer = await response.json()
            fetch.answered = time.perf_counter() - started
            if response.status != 200:
                fetch.status = response.status
                fetch.error = f"POST /api/tts_get_url answered {response.status}: {answer}"
                fetch.total = time.perf_counter() - started
                return fetch
        remaining = max(0.001, bound - fetch.answered)  # 0 would mean "no limit" to aiohttp.
        async with session.get(
            str(answer["url"]), timeout=aiohttp.ClientTimeout(total=remaining)
        ) as audio:
            fetch.status = audio.status
            async for data in audio.content.iter_any():
                if fetch.first_byte is None:
                    fetch.first_byte = time.perf_counter() - started
                parts.append(data)
            if audio.status != 200:
                fetch.error = f"GET {answer['path']} answered HTTP {audio.status}"
    except TimeoutError:
        fetch.error = HANG
    except aiohttp.ClientError as err:
        fetch.error = f"{type(err).__name__}: {err}"
    fetch.total = time.perf_counter() - started
    fetch.body = b"".join(parts)
    if save_to is not None:
        await asyncio.to_thread(save_to.write_bytes, fetch.body)
    return fetch
