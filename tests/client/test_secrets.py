"""The API key never appears in logs, exception text, reprs or tracebacks, whatever happens."""

import logging
import traceback

import aiohttp
import pytest

from custom_components.faseeh.client import FaseehClient, FaseehError
from simulator import TTS_FAULTS, FaseehSimulator

from .conftest import FAST, collect, deltas_of

CANARY = "CANARY-k3y-0123456789abcdef"
TEXT = "مرحبا بك في فصيح. كيف حالك؟"


def _exception_chain(error: BaseException) -> list[BaseException]:
    chain: list[BaseException] = []
    current: BaseException | None = error
    while current is not None and current not in chain:
        chain.append(current)
        current = current.__cause__ or current.__context__
    return chain


def assert_no_key(text: str) -> None:
    """Neither the key nor its start appears in the text."""
    assert CANARY not in text
    assert CANARY[:12] not in text


def assert_clean_error(error: BaseException) -> None:
    """The error, its chain and its formatted traceback never show the key."""
    for link in _exception_chain(error):
        assert_no_key(str(link))
        assert_no_key(repr(link))
    assert_no_key("".join(traceback.format_exception(error)))
    if isinstance(error, FaseehError):
        assert error.__cause__ is None


@pytest.fixture
def canary_client(faseeh_sim: FaseehSimulator, session: aiohttp.ClientSession) -> FaseehClient:
    """A client whose key is the canary (accepted by the simulator)."""
    faseeh_sim.config.api_keys = {CANARY}
    return FaseehClient(session, CANARY, faseeh_sim.url, timeouts=FAST)


@pytest.mark.parametrize("streamed", [False, True], ids=["str", "deltas"])
@pytest.mark.parametrize("fault", [None, *TTS_FAULTS])
async def test_key_never_leaks(
    faseeh_sim: FaseehSimulator,
    canary_client: FaseehClient,
    caplog: pytest.LogCaptureFixture,
    fault: str | None,
    streamed: bool,
) -> None:
    """Across every fault: no key in DEBUG logs, errors, reprs or tracebacks."""
    caplog.set_level(logging.DEBUG)
    faseeh_sim.config.fault = fault
    source = deltas_of(["مرحبا بك في ", "فصيح. كيف حالك؟"]) if streamed else TEXT
    try:
        await collect(canary_client, source)
    except FaseehError as err:
        assert_clean_error(err)
    assert faseeh_sim.ws_sessions[-1].query_key == CANARY  # the key was really used
    assert_no_key(caplog.text)
    assert_no_key(repr(canary_client))
    assert "Connecting to ws://" in caplog.text
    for record in caplog.records:
        if record.name.startswith("custom_components.faseeh") and "ws://" in record.getMessage():
            assert "?" not in record.getMessage()


@pytest.mark.parametrize(
    "fault", [None, "invalid_key_handshake", "rate_limit", "internal_error", "wallet_empty"]
)
async def test_key_never_leaks_over_rest(
    faseeh_sim: FaseehSimulator,
    canary_client: FaseehClient,
    caplog: pytest.LogCaptureFixture,
    fault: str | None,
) -> None:
    """REST calls and their errors keep the key out too."""
    caplog.set_level(logging.DEBUG)
    faseeh_sim.config.fault = fault
    for call in (canary_client.list_voices, canary_client.list_models, canary_client.validate_key):
        try:
            await call()
        except FaseehError as err:
            assert_clean_error(err)
    assert_no_key(caplog.text)


async def test_rejected_key_at_the_handshake(
    faseeh_sim: FaseehSimulator, session: aiohttp.ClientSession, caplog: pytest.LogCaptureFixture
) -> None:
    """aiohttp's handshake error holds the URL with the key: it is never chained or shown."""
    caplog.set_level(logging.DEBUG)
    client = FaseehClient(session, CANARY, faseeh_sim.url, timeouts=FAST)
    with pytest.raises(FaseehError) as caught:
        await collect(client, TEXT)
    assert type(caught.value).__name__ == "AuthenticationError"
    assert caught.value.status == 401
    assert caught.value.__context__ is None
    assert_clean_error(caught.value)
    assert_no_key(caplog.text)


async def test_service_echoing_the_key_is_scrubbed(
    faseeh_sim: FaseehSimulator, session: aiohttp.ClientSession
) -> None:
    """A service message that echoes the key is scrubbed (here: a voice id that is the key)."""
    faseeh_sim.config.api_keys = {CANARY}
    client = FaseehClient(session, CANARY, faseeh_sim.url, timeouts=FAST)
    with pytest.raises(FaseehError) as caught:
        await collect(client, TEXT, voice_id=CANARY)
    assert "Voice not found: ***" in str(caught.value)
    assert_clean_error(caught.value)
