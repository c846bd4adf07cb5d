"""A socket opened when Home Assistant prepares speech, so the answer costs one round trip."""

import asyncio
from http import HTTPStatus
import logging

from homeassistant.components import tts
from homeassistant.core import HomeAssistant
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry
from pytest_homeassistant_custom_component.typing import ClientSessionGenerator

from custom_components.faseeh import FaseehConfigEntry
from custom_components.faseeh.const import CONF_SPARE_SOCKET, DEFAULT_OPTIONS
from harness.audio import wav_pcm
from simulator import FaseehSimulator, deterministic_pcm
from tests.client.conftest import client_tasks

from .conftest import simulator_entry
from .test_stt import post_audio, tone, wav_file

ENTITY_ID = "tts.faseeh_speech"
GREETING = "مرحبا بك في بيتك الذكي"


def prepare_speech(hass: HomeAssistant) -> tts.ResultStream:
    """What a pipeline does when its run starts: create the TTS stream, no text yet."""
    return tts.async_create_stream(hass, ENTITY_ID, "ar", {"preferred_format": "wav"})


async def spoken(stream: tts.ResultStream, message: str) -> bytes:
    """Give the stream its text, as the pipeline does at tts-start, and read the audio."""
    stream.async_set_message(message)
    return b"".join([chunk async for chunk in stream.async_stream_result()])


async def spare_held(entry: FaseehConfigEntry) -> None:
    """Wait until the entry's spare socket is connected and waiting."""
    async with asyncio.timeout(2):
        while not entry.runtime_data.client.spare.held:  # noqa: ASYNC110
            await asyncio.sleep(0.01)


@pytest.mark.usefixtures("setup_integration")
async def test_the_socket_opened_when_speech_was_prepared_speaks_the_answer(
    hass: HomeAssistant, faseeh_sim: FaseehSimulator
) -> None:
    """Connected before the text exists, initialised with it: one socket, the right audio."""
    stream = prepare_speech(hass)
    assert await faseeh_sim.sessions_started(1)
    [session] = faseeh_sim.ws_sessions
    assert session.init is None

    audio = await spoken(stream, GREETING)

    assert wav_pcm(audio, 24000) == deterministic_pcm(GREETING, 24000)
    assert faseeh_sim.ws_sessions == [session]
    assert session.text == GREETING
    assert await faseeh_sim.all_sessions_closed()


@pytest.mark.usefixtures("unload_faseeh_entries")
async def test_with_the_option_off_no_socket_waits_for_speech(
    hass: HomeAssistant, faseeh_sim: FaseehSimulator
) -> None:
    """Speech prepared opens nothing; the speech itself still plays."""
    entry = simulator_entry(
        faseeh_sim, title="Faseeh", options={**DEFAULT_OPTIONS, CONF_SPARE_SOCKET: False}
    )
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    stream = prepare_speech(hass)
    assert entry.runtime_data.client.spare.count == 0
    assert faseeh_sim.ws_sessions == []

    audio = await spoken(stream, GREETING)

    assert wav_pcm(audio, 24000) == deterministic_pcm(GREETING, 24000)
    assert len(faseeh_sim.ws_sessions) == 1
    assert entry.runtime_data.client.spare.count == 0


async def test_turning_the_option_off_closes_the_socket_kept_now(
    hass: HomeAssistant, faseeh_sim: FaseehSimulator, setup_integration: FaseehConfigEntry
) -> None:
    """The user switches spares off in the options: the waiting socket closes at once."""
    prepare_speech(hass)
    await spare_held(setup_integration)

    result = await hass.config_entries.options.async_init(setup_integration.entry_id)
    await hass.config_entries.options.async_configure(
        result["flow_id"], {**setup_integration.options, CONF_SPARE_SOCKET: False}
    )
    await hass.async_block_till_done()

    assert setup_integration.options[CONF_SPARE_SOCKET] is False
    assert await faseeh_sim.all_sessions_closed()
    prepare_speech(hass)
    assert setup_integration.runtime_data.client.spare.count == 0


async def test_unloading_leaves_no_socket_and_no_task(
    hass: HomeAssistant, faseeh_sim: FaseehSimulator, config_entry: MockConfigEntry
) -> None:
    """A spare waiting at unload is closed with the entry."""
    config_entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(config_entry.entry_id)
    prepare_speech(hass)
    await spare_held(config_entry)

    assert await hass.config_entries.async_unload(config_entry.entry_id)
    await hass.async_block_till_done(wait_background_tasks=True)

    assert await faseeh_sim.all_sessions_closed()
    assert not client_tasks()


async def test_listening_warms_a_socket_only_once_our_voice_has_been_prepared(
    hass: HomeAssistant,
    hass_client: ClientSessionGenerator,
    faseeh_sim: FaseehSimulator,
    setup_integration: FaseehConfigEntry,
) -> None:
    """Our speech-to-text starting says a voice will answer: ours only if HA prepared ours."""
    client = setup_integration.runtime_data.client
    status, _ = await post_audio(hass_client, wav_file(tone(0.5), 16000))
    assert status is HTTPStatus.OK
    assert client.spare.count == 0

    prepare_speech(hass)
    await spare_held(setup_integration)
    # The spare opened when the pipeline began has expired before the user spoke.
    await client.spare.discard()
    status, _ = await post_audio(hass_client, wav_file(tone(0.5), 16000))

    assert status is HTTPStatus.OK
    assert client.spare.count == 1
    await spare_held(setup_integration)


async def test_stopping_home_assistant_with_a_spare_waiting_is_clean(
    hass: HomeAssistant,
    faseeh_sim: FaseehSimulator,
    config_entry: MockConfigEntry,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """HA shuts down while a spare waits: the socket closes and nothing complains."""
    config_entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(config_entry.entry_id)
    prepare_speech(hass)
    await spare_held(config_entry)
    caplog.clear()

    await hass.async_stop()

    assert await faseeh_sim.all_sessions_closed()
    assert not client_tasks()
    assert not [record for record in caplog.records if record.levelno >= logging.WARNING]
