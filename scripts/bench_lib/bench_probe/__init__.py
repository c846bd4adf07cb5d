"""Bench-only probe: what ./scripts/bench needs to see from inside Home Assistant.

Never shipped: scripts/bench links it into its throwaway config directory. Websocket commands:

- ``bench_probe/stats``: asyncio tasks, RSS, TTS memory-cache size and the garbage-collection
  pauses of this process. ``expire_tts_memory`` first drops HA's in-memory TTS results (what
  the 300 s ``time_memory`` timer would do later); with it or ``collect_garbage`` the probe
  collects garbage and trims malloc first, so RSS reflects what is still referenced.
- ``bench_probe/llm``: feed an LLM-like delta stream into a TTS entity and time, on HA's own
  clock, the delta holding the first sentence mark against the first audio byte of the result.
- ``bench_probe/timeouts``: give the Faseeh entry's client shorter timeouts (the soak's faults
  stall for as long as the client lets them).
- ``bench_probe/profile``: start or stop pyinstrument on the event loop thread.
- ``bench_probe/pipeline``: run an Assist pipeline from text to speech (WAV) with a TTS entity,
  as a satellite does: validated first (the pipeline's early hint to TTS), the answer ``lead``
  seconds later (the time speech-to-text takes), each event sent on as it happens with the
  ``time.perf_counter()`` it happened at.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import AsyncGenerator
import contextlib
import ctypes
import gc
import hashlib
from pathlib import Path
import time
from typing import Any

from homeassistant.components import tts
from homeassistant.components.tts.const import DATA_TTS_MANAGER
from homeassistant.components.websocket_api import async_register_command
from homeassistant.components.websocket_api.connection import ActiveConnection
from homeassistant.components.websocket_api.decorators import async_response, websocket_command
from homeassistant.const import CONF_API_KEY, CONF_URL
from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers import config_validation as cv
from homeassistant.helpers.aiohttp_client import async_get_clientsession
from homeassistant.helpers.typing import ConfigType
import probatio

from custom_components.faseeh.wav import WAV_HEADER_SIZE

DOMAIN = "bench_probe"
CONFIG_SCHEMA = cv.empty_config_schema(DOMAIN)

_PROFILER: dict[str, Any] = {}
# Garbage collections of this process that took at least GC_PAUSE_REPORTED seconds.
GC_PAUSE_REPORTED = 0.005
_GC_PAUSES: list[tuple[int, float]] = []
_GC_STATE = {"started": 0.0, "explicit": False, "explicit_pause": 0.0}


def _gc_timer(phase: str, info: dict[str, int]) -> None:
    """Time HA's own collections (not the probe's explicit ones)."""
    if phase == "start":
        _GC_STATE["started"] = time.perf_counter()
        return
    pause = time.perf_counter() - _GC_STATE["started"]
    if _GC_STATE["explicit"]:
        _GC_STATE["explicit_pause"] = pause
    elif pause >= GC_PAUSE_REPORTED:
        _GC_PAUSES.append((info["generation"], pause))


def _collect_garbage() -> None:
    _GC_STATE["explicit"] = True
    try:
        gc.collect()
    finally:
        _GC_STATE["explicit"] = False


async def async_setup(hass: HomeAssistant, config: ConfigType) -> bool:
    """Register the probe's websocket commands."""
    async_register_command(hass, ws_stats)
    async_register_command(hass, ws_llm)
    async_register_command(hass, ws_timeouts)
    async_register_command(hass, ws_profile)
    async_register_command(hass, ws_pipeline)
    gc.callbacks.append(_gc_timer)
    return True


def _task_name(task: asyncio.Task[Any]) -> str:
    coro = task.get_coro()
    qualname = getattr(coro, "__qualname__", None)
    module = getattr(getattr(coro, "cr_code", None), "co_filename", "")
    return f"{qualname or task.get_name()} ({Path(module).parent.name}/{Path(module).name})"


def _rss_kib() -> int:
    for line in Path("/proc/self/status").read_text(encoding="ascii").splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def _trim_malloc() -> None:
    """Give freed heap pages back to the OS (glibc), so RSS shows live memory only."""
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL("libc.so.6").malloc_trim(0)


@websocket_command(
    {
        probatio.Required("type"): "bench_probe/stats",
        probatio.Optional("expire_tts_memory", default=False): bool,
        probatio.Optional("reset_gc_pauses", default=False): bool,
        probatio.Optional("collect_garbage", default=False): bool,
    }
)
@async_response
async def ws_stats(hass: HomeAssistant, connection: ActiveConnection, msg: dict[str, Any]) -> None:
    """Report tasks and memory of this process."""
    manager = hass.data[DATA_TTS_MANAGER]
    if msg["expire_tts_memory"]:
        manager.mem_cache.clear()
        manager.token_to_stream.clear()
        # Let finished generators and their sockets be released before counting.
        await asyncio.sleep(0)
    if msg["expire_tts_memory"] or msg["collect_garbage"]:
        _collect_garbage()
        _trim_malloc()
    current = asyncio.current_task()
    tasks = [task for task in asyncio.all_tasks() if task is not current and not task.done()]
    connection.send_result(
        msg["id"],
        {
            "tasks": len(tasks),
            "task_names": dict(Counter(_task_name(task) for task in tasks)),
            "rss_kib": await hass.async_add_executor_job(_rss_kib),
            "tts_mem_cache": len(manager.mem_cache),
            "tts_streams": len(manager.token_to_stream),
            "gc_pauses": [[generation, round(pause, 4)] for generation, pause in _GC_PAUSES],
            "gc_collections": [stats["collections"] for stats in gc.get_stats()],
            "last_full_collection_s": round(_GC_STATE["explicit_pause"], 4),
        },
    )
    if msg["reset_gc_pauses"]:
        _GC_PAUSES.clear()


@websocket_command(
    {
        probatio.Required("type"): "bench_probe/llm",
        probatio.Required("entity_id"): str,
        probatio.Required("deltas"): [str],
        probatio.Required("mark_index"): int,
        probatio.Required("chars_per_second"): probatio.Coerce(float),
    }
)
@async_response
async def ws_llm(hass: HomeAssistant, connection: ActiveConnection, msg: dict[str, Any]) -> None:
    """Stream deltas at an LLM's pace into the entity; time the first sentence to first audio."""
    loop = asyncio.get_running_loop()
    deltas: list[str] = msg["deltas"]
    mark_index: int = msg["mark_index"]
    pace: float = msg["chars_per_second"]
    times: dict[str, float] = {}

    async def message_stream() -> AsyncGenerator[str]:
        times["start"] = loop.time()
        for index, delta in enumerate(deltas):
            await asyncio.sleep(len(delta) / pace)
            if index == mark_index:
                times["mark"] = loop.time()
            yield delta

    stream = tts.async_create_stream(
        hass, msg["entity_id"], options={tts.ATTR_PREFERRED_FORMAT: "wav"}
    )
    stream.async_set_message_stream(message_stream())
    chunks: list[bytes] = []
    size = 0
    error: str | None = None
    try:
        async for chunk in stream.async_stream_result():
            size += len(chunk)
            if size > WAV_HEADER_SIZE and "first_audio" not in times:
                times["first_audio"] = loop.time()
            chunks.append(chunk)
    except Exception as err:  # reported to the bench, which fails the run
        error = f"{type(err).__name__}: {err}"
    body = b"".join(chunks)
    connection.send_result(
        msg["id"],
        {
            "mark_to_first_audio": times.get("first_audio", 0.0) - times.get("mark", 0.0),
            "start_to_first_audio": times.get("first_audio", 0.0) - times.get("start", 0.0),
            "bytes": size,
            "header": body[:WAV_HEADER_SIZE].hex(),
            "pcm_sha256": hashlib.sha256(body[WAV_HEADER_SIZE:]).hexdigest(),
            "error": error,
        },
    )


@websocket_command(
    {
        probatio.Required("type"): "bench_probe/timeouts",
        probatio.Required("entry_id"): str,
        probatio.Required("connect"): probatio.Coerce(float),
        probatio.Required("first_audio"): probatio.Coerce(float),
        probatio.Required("idle"): probatio.Coerce(float),
        probatio.Required("final_grace"): probatio.Coerce(float),
    }
)
@callback
def ws_timeouts(hass: HomeAssistant, connection: ActiveConnection, msg: dict[str, Any]) -> None:
    """Replace the entry's client by the same client with other timeouts."""
    # Imported here: custom_components is only importable once HA has set up the loader.
    from custom_components.faseeh.client import FaseehClient, Timeouts  # noqa: PLC0415

    entry = hass.config_entries.async_get_entry(msg["entry_id"])
    if entry is None:
        connection.send_error(msg["id"], "not_found", "no such config entry")
        return
    timeouts = Timeouts(
        connect=msg["connect"],
        first_audio=msg["first_audio"],
        idle=msg["idle"],
        final_grace=msg["final_grace"],
    )
    entry.runtime_data.client = FaseehClient(
        async_get_clientsession(hass),
        entry.data[CONF_API_KEY],
        entry.data[CONF_URL],
        timeouts=timeouts,
    )
    connection.send_result(msg["id"], {"timeouts": str(timeouts)})


@websocket_command(
    {
        probatio.Required("type"): "bench_probe/profile",
        probatio.Required("action"): probatio.In(["start", "stop"]),
        probatio.Optional("path"): str,
    }
)
@async_response
async def ws_profile(
    hass: HomeAssistant, connection: ActiveConnection, msg: dict[str, Any]
) -> None:
    """Profile the event loop thread with pyinstrument between start and stop."""
    from pyinstrument import Profiler  # noqa: PLC0415

    if msg["action"] == "start":
        profiler = Profiler(interval=0.0002, async_mode="disabled")
        profiler.start()
        _PROFILER["current"] = profiler
        connection.send_result(msg["id"], {})
        return
    profiler = _PROFILER.pop("current", None)
    if profiler is None:
        connection.send_error(msg["id"], "not_running", "the profiler was not started")
        return
    profiler.stop()
    # The loop idles in epoll most of the time; keep frames down to 0.05 % of the whole.
    options = {"filter_threshold": 0.0005}
    text = "\n".join(
        (
            profiler.output_text(unicode=True, processor_options=options),
            "Functions by own time:",
            profiler.output_text(unicode=True, flat=True, processor_options=options),
        )
    )
    if path := msg.get("path"):
        html = profiler.output_html()

        def write() -> None:
            Path(path).write_text(text, encoding="utf-8")
            Path(path).with_suffix(".html").write_text(html, encoding="utf-8")

        await hass.async_add_executor_job(write)
    connection.send_result(msg["id"], {"text": text})


@websocket_command(
    {
        probatio.Required("type"): "bench_probe/pipeline",
        probatio.Required("tts_engine"): str,
        probatio.Required("text"): str,
        probatio.Required("lead"): probatio.Coerce(float),
    }
)
@async_response
async def ws_pipeline(
    hass: HomeAssistant, connection: ActiveConnection, msg: dict[str, Any]
) -> None:
    """Validate a text-to-speech pipeline run, wait lead seconds, run it; events as they come."""
    # Imported here: Assist is set up only when a bench phase asks for a pipeline.
    from homeassistant.components.assist_pipeline import PipelineEvent  # noqa: PLC0415
    from homeassistant.components.assist_pipeline.models import PipelineStage  # noqa: PLC0415
    from homeassistant.components.assist_pipeline.pipeline import (  # noqa: PLC0415
        PipelineInput,
        PipelineRun,
    )
    from homeassistant.helpers import chat_session  # noqa: PLC0415
    from homeassistant.setup import async_setup_component  # noqa: PLC0415

    if not await async_setup_component(hass, "assist_pipeline", {}):
        connection.send_error(msg["id"], "setup_failed", "assist_pipeline did not set up")
        return
    pipeline = await _bench_pipeline(hass, msg["tts_engine"])
    # The built-in agent answers the same text the same way: without this, HA's memory cache
    # would answer every run after the first without calling the TTS entity at all.
    await hass.services.async_call("tts", "clear_cache", blocking=True)

    def on_event(event: PipelineEvent) -> None:
        sent = {"type": str(event.type), "data": event.data, "at": time.perf_counter()}
        connection.send_event(msg["id"], sent)

    with chat_session.async_get_chat_session(hass) as session:
        pipeline_input = PipelineInput(
            run=PipelineRun(
                hass,
                context=connection.context(msg),
                pipeline=pipeline,
                start_stage=PipelineStage.INTENT,
                end_stage=PipelineStage.TTS,
                event_callback=on_event,
                tts_audio_output={tts.ATTR_PREFERRED_FORMAT: "wav"},
            ),
            session=session,
            intent_input=msg["text"],
        )
        await pipeline_input.validate()
        connection.send_result(msg["id"])
        await asyncio.sleep(msg["lead"])
        await pipeline_input.execute()


async def _bench_pipeline(hass: HomeAssistant, tts_engine: str) -> Any:
    """The Arabic pipeline (built-in agent) speaking with tts_engine; created once."""
    from homeassistant.components.assist_pipeline import (  # noqa: PLC0415
        async_get_pipelines,
    )
    from homeassistant.components.assist_pipeline.pipeline import (  # noqa: PLC0415
        KEY_ASSIST_PIPELINE,
    )

    name = f"Bench {tts_engine}"
    for pipeline in async_get_pipelines(hass):
        if pipeline.name == name:
            return pipeline
    return await hass.data[KEY_ASSIST_PIPELINE].pipeline_store.async_create_item(
        {
            "conversation_engine": "conversation.home_assistant",
            "conversation_language": "ar",
            "language": "ar",
            "name": name,
            "stt_engine": None,
            "stt_language": None,
            "tts_engine": tts_engine,
            "tts_language": "ar",
            "tts_voice": None,
            "wake_word_entity": None,
            "wake_word_id": None,
        }
    )
