"""An Assist pipeline whose conversation agent streams its answer speaks it through Faseeh."""

import asyncio
from collections.abc import AsyncIterator, Callable
from typing import Any, Literal

from homeassistant.components import conversation
from homeassistant.const import MATCH_ALL, Platform
from homeassistant.core import HomeAssistant
from homeassistant.setup import async_setup_component
import pytest
from pytest_homeassistant_custom_component.typing import (
    ClientSessionGenerator,
    MockHAClientWebSocket,
    WebSocketGenerator,
)

from simulator import FaseehSimulator, deterministic_pcm

from .conftest import added_entities

TTS_ENTITY_ID = "tts.faseeh_speech"

# Long enough (over 60 characters) for the pipeline to stream it rather than wait for the end.
FIRST_PART = "أهلا بك! أطفأت أنوار غرفة المعيشة وأغلقت الستائر كما طلبت منذ قليل. "
REST_PARTS = ["والآن ", "درجة الحرا", "رة في البيت ", "اثنتان وعشرون درجة."]
ANSWER = FIRST_PART + "".join(REST_PARTS)


class StreamingAgent(conversation.ConversationEntity):
    """An LLM-like agent that writes its answer in deltas, holding the rest back on request."""

    _attr_has_entity_name = True
    _attr_name = "Streaming agent"
    _attr_supports_streaming = True

    def __init__(self) -> None:
        """Start with the rest of the answer held back."""
        self.release_rest = asyncio.Event()
        self.answered = asyncio.Event()
        self._attr_unique_id = "streaming-agent"

    @property
    def supported_languages(self) -> list[str] | Literal["*"]:
        """Answer in any language."""
        return MATCH_ALL

    async def _async_handle_message(
        self, user_input: conversation.ConversationInput, chat_log: conversation.ChatLog
    ) -> conversation.ConversationResult:
        async def deltas() -> AsyncIterator[conversation.AssistantContentDeltaDict]:
            yield {"role": "assistant"}
            yield {"content": FIRST_PART}
            await self.release_rest.wait()
            for part in REST_PARTS:
                yield {"content": part}

        async for _ in chat_log.async_add_delta_content_stream(self.entity_id, deltas()):
            pass
        self.answered.set()
        return conversation.async_get_result_from_chat_log(user_input, chat_log)


@pytest.fixture
async def agent(hass: HomeAssistant) -> AsyncIterator[StreamingAgent]:
    """The streaming agent, set up as a conversation entity of a test integration."""
    # Conversation needs the core integration's exposed-entities registry.
    assert await async_setup_component(hass, "homeassistant", {})
    agent = StreamingAgent()
    async with added_entities(hass, "streaming_agent", Platform.CONVERSATION, [agent]):
        yield agent


@pytest.mark.usefixtures("setup_integration")
async def test_speech_starts_before_the_agent_finishes_and_says_the_answer_once(
    hass: HomeAssistant,
    hass_ws_client: WebSocketGenerator,
    hass_client: ClientSessionGenerator,
    faseeh_sim: FaseehSimulator,
    agent: StreamingAgent,
) -> None:
    """The pipeline's TTS URL yields audio while the agent still holds back its answer."""
    hass.config.internal_url = "http://example.local:8123"
    assert await async_setup_component(hass, "assist_pipeline", {})
    client = await hass_ws_client(hass)
    await client.send_json_auto_id(
        {
            "type": "assist_pipeline/pipeline/create",
            "conversation_engine": agent.entity_id,
            "conversation_language": "ar",
            "language": "ar",
            "name": "Arabic LLM",
            "stt_engine": None,
            "stt_language": None,
            "tts_engine": TTS_ENTITY_ID,
            "tts_language": "ar",
            "tts_voice": "ar-najdi-male-2",
            "wake_word_entity": None,
            "wake_word_id": None,
        }
    )
    pipeline = (await client.receive_json())["result"]

    await client.send_json_auto_id(
        {
            "type": "assist_pipeline/run",
            "pipeline": pipeline["id"],
            "start_stage": "intent",
            "end_stage": "tts",
            "input": {"text": "أطفئ الأنوار وأخبرني بالحرارة"},
        }
    )
    assert (await client.receive_json())["success"]
    events = pipeline_events(client)
    run_start = await next_event(events, "run-start")
    assert run_start["data"]["tts_output"]["stream_response"] is True
    tts_url: str = run_start["data"]["tts_output"]["url"]
    started = await next_event(
        events, "intent-progress", lambda data: "tts_start_streaming" in data
    )
    assert started["data"]["tts_start_streaming"] is True

    http = await hass_client()
    async with asyncio.timeout(10):
        response = await http.get(tts_url.removeprefix("http://example.local:8123"))
        first_bytes = await response.content.readany()
        # Audio exists although the agent has not written the rest of its answer yet.
        assert first_bytes
        assert not agent.answered.is_set()
        agent.release_rest.set()
        mp3 = first_bytes + await response.read()
        await next_event(events, "run-end")

    assert agent.answered.is_set()
    assert mp3.startswith((b"ID3", b"\xff"))
    [session] = faseeh_sim.ws_sessions
    assert session.text == ANSWER
    assert session.init is not None
    assert session.init["voice_id"] == "ar-najdi-male-2"
    assert session.audio_bytes_sent == len(deterministic_pcm(ANSWER, 24000))


async def pipeline_events(client: MockHAClientWebSocket) -> AsyncIterator[dict[str, Any]]:
    """The pipeline run's events, in order."""
    while True:
        message = await client.receive_json()
        yield message["event"]


async def next_event(
    events: AsyncIterator[dict[str, Any]],
    event_type: str,
    matches: Callable[[dict[str, Any]], bool] = lambda data: True,
) -> dict[str, Any]:
    """Skip to the next event of this type whose data matches."""
    async with asyncio.timeout(10):
        async for event in events:
            assert event["type"] != "error", event
            if event["type"] == event_type and matches(event["data"]):
                return event
    raise AssertionError(f"no {event_type} event")
