"""Fixtures and helpers for the protocol client tests."""

import asyncio
from collections.abc import AsyncIterable, AsyncIterator
from contextlib import aclosing
import dataclasses
from typing import Any

import aiohttp
import pytest

from custom_components.faseeh.client import AudioChunk, FaseehClient, Timeouts
from simulator import DEFAULT_API_KEY, FaseehSimulator

from .fake_server import FakeFaseeh

VOICE = "ar-hijazi-female-1"
MODEL = "faseeh-v1-preview"
# Small timeouts keep the suite fast; the simulator answers within milliseconds.
FAST = Timeouts(
    connect=1.0, first_audio=0.8, idle=0.8, final_grace=0.2, socket_silence=0.5, busy_retry=0.02
)
TASK_NAMES = (
    "faseeh-ws-writer",
    "faseeh-ws-reader",
    "faseeh-text-feed",
    "faseeh-http-segment",
    "faseeh-ws-probe",
    "faseeh-ws-spare",
)


@pytest.fixture
async def session(socket_enabled: None) -> AsyncIterator[aiohttp.ClientSession]:
    """A plain aiohttp client session (HA's shared session in production)."""
    async with aiohttp.ClientSession() as http:
        yield http


@pytest.fixture
def client(faseeh_sim: FaseehSimulator, session: aiohttp.ClientSession) -> FaseehClient:
    """A client of the running simulator with fast timeouts."""
    return FaseehClient(session, DEFAULT_API_KEY, faseeh_sim.url, timeouts=FAST)


async def collect(
    client: FaseehClient,
    text: str | AsyncIterable[str],
    sink: list[AudioChunk] | None = None,
    **kwargs: Any,
) -> list[AudioChunk]:
    """Run stream_speech to the end and return its chunks (also appended to ``sink``)."""
    kwargs.setdefault("voice_id", VOICE)
    kwargs.setdefault("model_id", MODEL)
    received = sink if sink is not None else []
    async with asyncio.timeout(10), aclosing(client.stream_speech(text, **kwargs)) as chunks:
        async for chunk in chunks:
            received.append(chunk)
    return received


def pcm_of(chunks: list[AudioChunk]) -> bytes:
    """Concatenate the audio of chunks."""
    return b"".join(chunk.pcm for chunk in chunks)


async def deltas_of(parts: list[str]) -> AsyncIterator[str]:
    """Yield text deltas with a loop turn between them."""
    for part in parts:
        await asyncio.sleep(0)
        yield part


def client_tasks() -> list[asyncio.Task[Any]]:
    """Tasks of the client still alive (there must be none after a stream)."""
    return [task for task in asyncio.all_tasks() if task.get_name() in TASK_NAMES]


def fake_client(
    session: aiohttp.ClientSession, server: FakeFaseeh, **timeouts: float
) -> FaseehClient:
    """A client of the scripted server."""
    return FaseehClient(
        session, DEFAULT_API_KEY, server.url, timeouts=dataclasses.replace(FAST, **timeouts)
    )
