"""Pytest plugin: the `faseeh_sim` fixture, a running simulator with default settings."""

from collections.abc import AsyncIterator

import pytest_asyncio

from .server import FaseehSimulator


@pytest_asyncio.fixture
async def faseeh_sim(socket_enabled: None) -> AsyncIterator[FaseehSimulator]:
    """Yield a started FaseehSimulator on 127.0.0.1; it is stopped after the test."""
    async with FaseehSimulator() as sim:
        yield sim
