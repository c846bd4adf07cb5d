"""The Arabic voice loop on a real hass: speech in, HA's Arabic intents, speech out.

``prepare_kitchen`` gives hass what the built-in agent needs to act on «شغل ضوء المطبخ»: an area
named مطبخ (without the article, as the Arabic templates expect), a template light in it made
through the real config flow (its switch is a helper toggle), and a pipeline with our STT, the
built-in agent and our TTS.
``run_voice_loop`` streams 16 kHz speech over the pipeline websocket in real time, as a
satellite does, and times what the user waits for after the end of their speech. Times are
``time.perf_counter()`` seconds.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
import time
from typing import Any

import aiohttp

from simulator.audio import pcm_to_wav

from .api import FlowKind, HassApi
from .audio import decode
from .errors import HarnessError

DOMAIN = "faseeh"
COMMAND = "شغل ضوء المطبخ"
AREA = "مطبخ"
LIGHT_NAME = "ضوء السقف"
SAMPLE_RATE = 16000
# A satellite sends 10 ms chunks; 100 ms per websocket frame keeps the pacing cheap.
FRAME_SECONDS = 0.1
RUN_TIMEOUT = 60.0
# Components a hass needs for the loop: the pipeline (with conversation, stt and tts), the
# template helper the light is made with and the toggle it switches.
COMPONENTS = ("assist_pipeline", "template", "input_boolean")


@dataclass(frozen=True, slots=True)
class Kitchen:
    """What prepare_kitchen made."""

    light_entity_id: str
    pipeline_id: str
    stt_entity_id: str


@dataclass(frozen=True, slots=True)
class VoiceLoop:
    """One run of the loop as the user lives it."""

    input_seconds: float
    ended_at: float  # time.perf_counter() when the input stream ended.
    transcript: str
    answer: str
    # From the end of the input stream (the user stopped talking) to:
    transcript_after_end: float
    answer_url_after_end: float  # tts-end: the answer's text is known and its URL handed out.
    first_audio_after_end: float
    answer_wav: bytes
    answer_seconds: float


async def prepare_kitchen(api: HassApi, entry_id: str, tts_entity_id: str) -> Kitchen:
    """An area, a light in it, and a fully Arabic pipeline on the entry's STT and TTS."""
    stt_entity_id = await _entity_of(api, entry_id, "stt")
    area = await api.websocket_command({"type": "config/area_registry/create", "name": AREA})
    toggle = await api.websocket_command({"type": "input_boolean/create", "name": "kitchen relay"})
    relay = f"input_boolean.{toggle['id']}"
    created = await api.run_flow(
        FlowKind.CONFIG,
        {"handler": "template"},
        {
            "user": {"next_step_id": "light"},
            "light": {
                "name": LIGHT_NAME,
                "state": f"{{{{ is_state('{relay}', 'on') }}}}",
                "turn_on": [{"action": "input_boolean.turn_on", "target": {"entity_id": relay}}],
                "turn_off": [{"action": "input_boolean.turn_off", "target": {"entity_id": relay}}],
            },
        },
    )
    light_entity_id = await _entity_of(api, created["result"]["entry_id"], "light")
    await api.websocket_command(
        {
            "type": "config/entity_registry/update",
            "entity_id": light_entity_id,
            "area_id": area["area_id"],
        }
    )
    pipeline = await api.websocket_command(
        {
            "type": "assist_pipeline/pipeline/create",
            "name": "Faseeh Arabic",
            "language": "ar",
            "conversation_engine": "conversation.home_assistant",
            "conversation_language": "ar",
            "stt_engine": stt_entity_id,
            "stt_language": "ar",
            "tts_engine": tts_entity_id,
            "tts_language": "ar",
            "tts_voice": None,
            "wake_word_entity": None,
            "wake_word_id": None,
        }
    )
    return Kitchen(light_entity_id, str(pipeline["id"]), stt_entity_id)


async def _entity_of(api: HassApi, entry_id: str, domain: str) -> str:
    entities = await api.websocket_command({"type": "config/entity_registry/list"})
    for entity in entities:
        if entity["config_entry_id"] == entry_id and entity["entity_id"].startswith(f"{domain}."):
            return str(entity["entity_id"])
    raise HarnessError(f"no {domain} entity for config entry {entry_id}")


async def run_voice_loop(api: HassApi, pipeline_id: str, pcm: bytes) -> VoiceLoop:
    """Speak pcm (16 kHz mono PCM16) into the pipeline in real time; fetch the spoken answer."""
    async with (
        asyncio.timeout(RUN_TIMEOUT),
        api.session.ws_connect(
            f"{api.base}/api/websocket", timeout=aiohttp.ClientWSTimeout(ws_close=5)
        ) as ws,
    ):
        await ws.receive_json()
        await ws.send_json({"type": "auth", "access_token": api.token})
        if (await ws.receive_json()).get("type") != "auth_ok":
            raise HarnessError("the websocket API refused the token")
        await ws.send_json(
            {
                "id": 1,
                "type": "assist_pipeline/run",
                "pipeline": pipeline_id,
                "start_stage": "stt",
                "end_stage": "tts",
                # The input ends when the speech does, as with a satellite's own detection.
                "input": {"sample_rate": SAMPLE_RATE, "no_vad": True},
            }
        )
        events = _Events(ws)
        result = await events.next_result()
        if not result.get("success"):
            raise HarnessError(f"the pipeline did not start: {result.get('error')}")
        run_start = await events.until("run-start")
        handler = bytes([run_start["data"]["runner_data"]["stt_binary_handler_id"]])
        await events.until("stt-start")
        await _speak(ws, handler, pcm)
        await ws.send_bytes(handler)
        speech_ended = time.perf_counter()
        stt_end = await events.until("stt-end")
        transcribed = time.perf_counter()
        intent_end = await events.until("intent-end")
        tts_end = await events.until("tts-end")
        answer_url = time.perf_counter()
        await events.until("run-end")
    url = str(tts_end["data"]["tts_output"]["url"])
    if url.startswith("/"):
        url = api.base + url
    async with api.session.get(url, timeout=aiohttp.ClientTimeout(total=RUN_TIMEOUT)) as audio:
        if audio.status != 200:
            raise HarnessError(f"the answer's audio URL answered HTTP {audio.status}")
        first = await audio.content.readany()
        first_audio = time.perf_counter()
        body = first + await audio.read()
    answer_pcm = await decode(body, SAMPLE_RATE)
    speech = intent_end["data"]["intent_output"]["response"]["speech"]
    return VoiceLoop(
        input_seconds=len(pcm) / (2 * SAMPLE_RATE),
        ended_at=speech_ended,
        transcript=str(stt_end["data"]["stt_output"]["text"]),
        answer=str(speech.get("plain", {}).get("speech", "")),
        transcript_after_end=transcribed - speech_ended,
        answer_url_after_end=answer_url - speech_ended,
        first_audio_after_end=first_audio - speech_ended,
        answer_wav=pcm_to_wav(answer_pcm, SAMPLE_RATE),
        answer_seconds=len(answer_pcm) / (2 * SAMPLE_RATE),
    )


async def _speak(ws: aiohttp.ClientWebSocketResponse, handler: bytes, pcm: bytes) -> None:
    """Send audio at the pace it is spoken."""
    frame = int(SAMPLE_RATE * FRAME_SECONDS) * 2
    started = time.perf_counter()
    for number, offset in enumerate(range(0, len(pcm), frame)):
        await ws.send_bytes(handler + pcm[offset : offset + frame])
        await asyncio.sleep(max(0.0, started + (number + 1) * FRAME_SECONDS - time.perf_counter()))


class _Events:
    """The run's messages in order; an error event fails the loop."""

    def __init__(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        self.ws = ws

    async def next_result(self) -> dict[str, Any]:
        while True:
            message: dict[str, Any] = await self.ws.receive_json()
            if message.get("type") == "result":
                return message

    async def until(self, event_type: str) -> dict[str, Any]:
        while True:
            message: dict[str, Any] = await self.ws.receive_json()
            event: dict[str, Any] = message.get("event", {})
            if event.get("type") == "error":
                data = event.get("data", {})
                raise HarnessError(
                    f"the pipeline failed: {data.get('code')}: {data.get('message')}"
                )
            if event.get("type") == event_type:
                return event
