"""wan: first audio in round trips over an emulated wide-area link (harness.wan's delay proxy).

The Faseeh entry is reconfigured to reach the simulator through a ``DelayProxy``, and a second
Wyoming entry reaches the Wyoming server through another; both are put back (and the Wyoming one
removed) at the end. Every figure is (first audio - the simulator's first-audio delay) / RTT,
the median of ``wan_runs`` runs after one unmeasured run per path. TLS is not emulated: a real
``wss://`` link pays about one round trip more on a new connection.

Keys: wan_rtt_ms, wan_first_audio_rtt_cold, wan_first_audio_rtt_warm, wan_first_audio_rtt_http,
wan_first_audio_rtt_wyoming.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
import time
from typing import Any

import aiohttp

from harness.api import FlowKind
from harness.wan import DelayProxy

from ..context import FIRST_AUDIO_DELAY, Bench, BenchError
from ..stats import percentile
from ..verdicts import REQUEST_BOUND, wav_verdict

# The Assist answer comes this many round trips after the pipeline is validated (HA's only
# early hint to TTS), at least PIPELINE_LEAD_MIN s: the time speech-to-text would take.
PIPELINE_LEAD_RTTS = 10
PIPELINE_LEAD_MIN = 0.2
POINT_TIMEOUT = 15.0
TLS_NOTE = "TLS is not emulated (plain ws:// and http://): a real wss:// link pays ~1 RTT more"


@dataclass(slots=True)
class Series:
    """One path's figures and what the proxy saw of each run."""

    figures: list[float] = field(default_factory=list)
    new_connections: list[int] = field(default_factory=list)
    # What the client sent in the last run, in round trips from its start: where the time goes.
    timeline: list[str] = field(default_factory=list)

    def add(self, figure: float, new_connections: int) -> None:
        """One measured run."""
        self.figures.append(figure)
        self.new_connections.append(new_connections)

    def trace(self, proxy: DelayProxy, started: float, rtt: float, since: float = 0.0) -> None:
        """Keep the client's reads since since (or started) as "+N.NN RTT: connection #n, ..."."""
        self.timeline = [
            f"{(read.at - started) / rtt:+.2f} RTT: connection #{read.connection}, "
            f"{read.size} bytes ({_shown_head(read.head)})"
            for read in proxy.client_reads
            if read.at >= (since or started)
        ]

    def median(self) -> float:
        """The median figure, in round trips."""
        return round(percentile(self.figures, 0.5), 2)

    def details(self) -> dict[str, Any]:
        """Every run, for the JSON."""
        return {
            "rtt_each": [round(value, 2) for value in self.figures],
            "new_connections_each": self.new_connections,
            "last_run_client_sent": self.timeline,
        }


def _shown_head(head: bytes) -> str:
    """An HTTP request line's start as text; a WebSocket frame (masked, binary) as 'frame'."""
    if head[:4] in (b"GET ", b"POST", b"HEAD"):
        return head.decode("ascii", "replace").split("\r", 1)[0]
    return "frame" if head[:1] and head[0] & 0x80 else "data"


async def measure(bench: Bench) -> None:
    """Cold, warm (Assist), HTTP and Wyoming first audio, each in round trips."""
    bench.config.first_audio_delay = FIRST_AUDIO_DELAY
    rtt = bench.wan_rtt
    runs = bench.sizes.wan_runs
    async with (
        DelayProxy(bench.sim.port, rtt) as faseeh_proxy,
        DelayProxy(bench.wyoming_port, rtt) as wyoming_proxy,
    ):
        await _point_entry(bench, faseeh_proxy)
        flow = await bench.api.run_flow(
            FlowKind.CONFIG,
            {"handler": "wyoming"},
            {"user": {"host": "127.0.0.1", "port": wyoming_proxy.port}},
            announce=False,
        )
        wyoming_entry = str(flow["result"]["entry_id"])
        try:
            wyoming_entity, _ = await bench.api.wait_for_entity(wyoming_entry, "tts")
            cold = await _requests(bench, bench.entity, faseeh_proxy, runs)
            wyoming = await _requests(bench, wyoming_entity, wyoming_proxy, runs)
            warm = await _pipeline_answers(bench, faseeh_proxy, runs)
            http, http_extra = await _http_transport(bench, faseeh_proxy, runs)
        finally:
            await bench.api.remove_entry(wyoming_entry)
            await _point_entry(bench, None)
    bench.results["wan_rtt_ms"] = round(rtt * 1000)
    bench.results["wan_first_audio_rtt_cold"] = cold.median()
    bench.results["wan_first_audio_rtt_warm"] = warm.median()
    bench.results["wan_first_audio_rtt_http"] = http.median()
    bench.results["wan_first_audio_rtt_wyoming"] = wyoming.median()
    bench.details["wan"] = {
        "rtt_ms": round(rtt * 1000),
        "runs_each": runs,
        "emulated": "user-space delay proxy on loopback (harness.wan): RTT/2 each way on every "
        "byte, 1 RTT before the first byte of each new TCP connection; no bandwidth limit",
        "tls": TLS_NOTE,
        "figure_is": "(first audio byte - reference - simulator first-audio delay) / RTT; median",
        "reference": {
            "cold": "POST /api/tts_get_url (then GET of its URL, wav), cache off",
            "wyoming": "the same request to HA's wyoming TTS entity, Wyoming server behind a "
            "proxy of its own",
            "warm": "intent-end of an Assist pipeline (text to speech, wav) validated "
            f"{_pipeline_lead(rtt):g} s earlier; the player GETs the run-start URL at once",
            "http": "the HTTP request leaving hass (read by the proxy), once the client has "
            "learnt HTTP from a silent WebSocket (the simulator's 'silent' fault)",
        },
        "cold": cold.details(),
        "wyoming": wyoming.details(),
        "warm": warm.details(),
        "http": {**http.details(), **http_extra},
    }


async def _point_entry(bench: Bench, proxy: DelayProxy | None) -> None:
    """Reconfigure the Faseeh entry to the proxy (or back to the simulator) and wait for it."""
    url = proxy.url if proxy is not None else bench.sim.url
    await bench.api.run_flow(
        FlowKind.CONFIG,
        {"handler": "faseeh", "entry_id": bench.entry_id},
        {"reconfigure": {"region": "custom"}, "custom_url": {"url": url}},
        expect="abort",
        announce=False,
    )
    if proxy is None:
        bench.entity, _ = await bench.api.wait_for_entity(bench.entry_id, "tts", "faseeh")
        return
    # The entry reloads after the flow ends; only a request through the proxy proves it has.
    deadline = time.monotonic() + POINT_TIMEOUT
    while True:
        before = proxy.connections
        bench.entity, _ = await bench.api.wait_for_entity(bench.entry_id, "tts", "faseeh")
        result = await bench.ha_once(bench.entity, bench.texts.next())
        if result.verdict == "exact" and proxy.connections > before:
            return
        if time.monotonic() > deadline:
            raise BenchError(f"the Faseeh entry never spoke through the proxy ({result.verdict})")
        await asyncio.sleep(0.2)


async def _requests(bench: Bench, entity: str, proxy: DelayProxy, runs: int) -> Series:
    """tts_get_url then GET, as a media player does; the first run is not measured."""
    series = Series()
    for run in range(runs + 1):
        before = proxy.connections
        result = await bench.ha_once(entity, bench.texts.next())
        if result.verdict != "exact" or result.first_byte is None:
            raise BenchError(f"WAN run {run} via {entity}: {result.verdict} ({result.error})")
        if run:
            figure = (result.first_byte - FIRST_AUDIO_DELAY) / bench.wan_rtt
            series.add(figure, proxy.connections - before)
            series.trace(proxy, result.started, bench.wan_rtt)
    return series


def _pipeline_lead(rtt: float) -> float:
    return max(PIPELINE_LEAD_MIN, PIPELINE_LEAD_RTTS * rtt)


async def _pipeline_answers(bench: Bench, proxy: DelayProxy, runs: int) -> Series:
    """Assist answers spoken by the Faseeh entity; the first run (loading the agent) is not."""
    series = Series()
    for run in range(runs + 1):
        text = f"ما رأيك في الرقم {run + 1}"  # Unmatched on purpose: the agent still answers.
        before = proxy.connections
        validated = time.perf_counter()
        intent_end, first_audio = await _pipeline_once(bench, text)
        if run:
            figure = (first_audio - intent_end - FIRST_AUDIO_DELAY) / bench.wan_rtt
            series.add(figure, proxy.connections - before)
            # From the validation on: a connection opened on the early hint shows as negative.
            series.trace(proxy, intent_end, bench.wan_rtt, since=validated)
    return series


async def _pipeline_once(bench: Bench, text: str) -> tuple[float, float]:
    """One run, its audio checked: (intent-end time, first audio byte time)."""
    api = bench.api
    command = {
        "id": 1,
        "type": "bench_probe/pipeline",
        "tts_engine": bench.entity,
        "text": text,
        "lead": _pipeline_lead(bench.wan_rtt),
    }
    times: dict[str, float] = {}
    answer = ""
    audio: asyncio.Task[tuple[float, bytes]] | None = None
    async with asyncio.timeout(REQUEST_BOUND):
        async with api.session.ws_connect(f"{api.base}/api/websocket") as ws:
            await ws.receive_json()  # auth_required
            await ws.send_json({"type": "auth", "access_token": api.token})
            if (await ws.receive_json()).get("type") != "auth_ok":
                raise BenchError("the websocket API refused the token")
            await ws.send_json(command)
            while True:
                message = await ws.receive_json()
                if message.get("type") == "result" and not message.get("success"):
                    raise BenchError(f"bench_probe/pipeline failed: {message.get('error')}")
                if message.get("type") != "event":
                    continue
                event = message["event"]
                kind, data = event["type"], event.get("data") or {}
                if kind == "error":
                    raise BenchError(f"the pipeline reported {data}")
                if kind == "run-start":
                    url = f"{api.base}{data['tts_output']['url']}"
                    audio = asyncio.create_task(_first_audio(api.session, url))
                elif kind == "intent-end":
                    times["intent_end"] = float(event["at"])
                elif kind == "tts-start":
                    answer = str(data["tts_input"])
                elif kind == "run-end":
                    break
        if audio is None or "intent_end" not in times or not answer:
            raise BenchError(f"the pipeline run for {text!r} did not speak")
        first_audio, body = await audio
    if (verdict := wav_verdict(body, answer)) != "exact":
        raise BenchError(f"the pipeline's answer {answer!r} was spoken {verdict}")
    return times["intent_end"], first_audio


async def _first_audio(session: aiohttp.ClientSession, url: str) -> tuple[float, bytes]:
    """GET a TTS URL without credentials: (perf_counter of the first body byte, the body)."""
    parts: list[bytes] = []
    first = 0.0
    async with session.get(url) as response:
        if response.status != 200:
            raise BenchError(f"GET of the pipeline's TTS URL answered {response.status}")
        async for data in response.content.iter_any():
            if not parts:
                first = time.perf_counter()
            parts.append(data)
    return first, b"".join(parts)


async def _http_transport(
    bench: Bench, proxy: DelayProxy, runs: int
) -> tuple[Series, dict[str, Any]]:
    """The HTTP transport, from the POST leaving hass to first audio.

    The unmeasured first run meets a silent WebSocket, so the client falls back and learns to
    go straight to HTTP; the POSTs after it find HA's pooled keep-alive connection. Also, per
    run, the same figure from the user's request, and whether the POST found that connection.
    """
    rtt = bench.wan_rtt
    series = Series()
    pooled = 0
    from_request: list[float] = []
    for run in range(runs + 1):
        known = proxy.connections
        bench.sim.connection_faults.append("silent")
        try:
            result = await bench.ha_once(bench.entity, bench.texts.next())
        finally:
            bench.sim.connection_faults.clear()
        posts = [
            read
            for read in proxy.client_reads
            if read.at >= result.started and read.head.startswith(b"POST ")
        ]
        if result.verdict != "exact" or result.first_byte is None or not posts:
            raise BenchError(f"WAN HTTP run {run}: {result.verdict} ({result.error})")
        if run:
            after_post = result.started + result.first_byte - posts[0].at
            series.add((after_post - FIRST_AUDIO_DELAY) / rtt, proxy.connections - known)
            series.trace(proxy, result.started, rtt)
            pooled += posts[0].connection <= known
            from_request.append(round((result.first_byte - FIRST_AUDIO_DELAY) / rtt, 2))
    return series, {
        "posts_on_a_pooled_connection": pooled,
        "from_the_user_request_rtt_each": from_request,
    }
