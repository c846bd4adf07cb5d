"""Fixtures for the simulator tests."""

from collections.abc import AsyncIterator

import aiohttp
import pytest

from simulator import FaseehSimulator


@pytest.fixture
async def http(socket_enabled: None) -> AsyncIterator[aiohttp.ClientSession]:
    """A plain aiohttp client session."""
    async with aiohttp.ClientSession() as session:
        yield session


@pytest.fixture
def sim(faseeh_sim: FaseehSimulator) -> FaseehSimulator:
    """The running simulator under its short name."""
    return faseeh_sim
