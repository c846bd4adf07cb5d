"""A short battery against the live Faseeh service that answers the speech path's open questions.

Run as ``./scripts/live-check`` (or ``python -m scripts.live_check`` from the repository root)
with ``FASEEH_API_KEY`` and optionally ``FASEEH_REGION`` (global, uae, munsit) or ``--url``.
It says how many characters it will have synthesised, asks first (``--yes`` skips the
question), prints a summary and writes ``live-report.json`` without the key. The simulator
replays what it found: ``python -m simulator --profile live-report.json``.

The probes talk to the raw protocol (not the integration's client): they record what arrives.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from itertools import pairwise
import json
import os
from pathlib import Path
import sys
import time
from typing import Any, Final

import aiohttp

from custom_components.faseeh.const import DEFAULT_MODEL, DEFAULT_VOICE, REGIONS

REPORT_PATH: Final = Path("live-report.json")
WS_PATH: Final = "/api/v1/websocket/text-to-speech"
LISTEN_PATH: Final = "/api/v1/listen"
API_PATH: Final = "/api/v1"
# Each probe's longest wait; the battery stays under a minute even if every probe times out.
PROBE_LIMIT: Final = 8.0
# Silence that ends a probe's reading once something has arrived.
QUIET: Final = 2.0
ONE_TEXT: Final = "مرحبا بك"
SEGMENTS: Final = ("مرحبا بك. ", "كيف حالك؟ ", "إلى اللقاء.")
HTTP_TEXT: Final = "أهلا وسهلا"
RATE_TEXT: Final = "شكرا"
RATE_CHECKED: Final = 16000
UNKNOWN_VOICE: Final = "live-check-no-such-voice"
CHARACTERS: Final = 3 * len(ONE_TEXT) + len("".join(SEGMENTS)) + len(HTTP_TEXT) + 2 * len(RATE_TEXT)


@dataclass
class SocketRun:
    """What one WebSocket session received, in order."""

    events: list[str] = field(default_factory=list)
    first_audio_s: float | None = None
    audio_bytes: int = 0
    sample_rates: list[int] = field(default_factory=list)
    closed_by_server: bool = False
    close_code: int | None = None
    closed_after: str | None = None
    error: dict[str, Any] | None = None

    @property
    def got_audio(self) -> bool:
        """True when any audio arrived."""
        return self.audio_bytes > 0


@dataclass
class Report:
    """Everything the battery found; written as live-report.json."""

    base_url: str
    voice_id: str
    model_id: str
    characters: int
    socket_sends_audio: bool = False
    one_generation: SocketRun | None = None
    several_generations: SocketRun | None = None
    final_style: str = "unknown"
    server_closes_after_final: bool = False
    socket_first_audio_s: float | None = None
    http_first_audio_s: float | None = None
    http_status: int | None = None
    unknown_voice_ws: dict[str, Any] | None = None
    unknown_voice_http: dict[str, Any] | None = None
    error_shape: str = "unknown"
    ws_sample_rate_honoured: bool | None = None
    http_sample_rate_honoured: bool | None = None
    # A connected socket never initialised (the integration's spare): closed by the server
    # after this many seconds, or None when it was still open at the probe's limit.
    idle_socket_closed_after_s: float | None = None
    # A second text after the first generation's final, on the same socket: "audio",
    # "closed", "error" or "nothing" (whether a finished socket could be used again).
    second_text_after_final: str = "unknown"
    # Speech-to-text on this host: "metadata" (served), "http NNN" (refused at the upgrade),
    # "closed NNNN", or the connection error; no audio is sent, so nothing is billed.
    stt_listen: str = "unknown"
    stt_listen_events: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def infer_final_style(run: SocketRun, generations: int) -> str:
    """Name the simulator's final style that matches the events of ``generations``."""
    if not run.got_audio:
        return "unknown"
    kinds = _collapse([event for event in run.events if event.startswith(("audio", "final"))])
    if not any(kind.startswith("final") for kind in kinds):
        return "never"
    if any(a.startswith("final") and b.startswith("final") for a, b in pairwise(kinds)):
        return "duplicate"
    finals = sum(kind.startswith("final") for kind in kinds)
    if "final+audio" in kinds or finals > generations:
        return "inside"
    return "batch" if finals == generations else "end"


def second_text_answer(run: SocketRun) -> str:
    """What a second text after the first generation's final got on the same socket."""
    if "again" not in run.events:
        return "closed" if run.closed_by_server else "unknown"
    after = run.events[run.events.index("again") + 1 :]
    if any(event.startswith(("audio", "final+audio")) for event in after):
        return "audio"
    if "error" in after:
        return "error"
    return "closed" if "close" in after else "nothing"


def _collapse(events: list[str]) -> list[str]:
    collapsed: list[str] = []
    for event in events:
        if not (event == "audio" and collapsed and collapsed[-1] == "audio"):
            collapsed.append(event)
    return collapsed


class Battery:
    """The probes, against one base URL with one key."""

    def __init__(
        self,
        session: aiohttp.ClientSession,
        base_url: str,
        api_key: str,
        *,
        quiet: float = QUIET,
        limit: float = PROBE_LIMIT,
    ) -> None:
        """Probe ``base_url`` with ``api_key`` on ``session``."""
        self._quiet = quiet
        self._limit = limit
        self._session = session
        self._base = base_url.rstrip("/")
        self._key = api_key
        self._ws_url = self._base.replace("http", "ws", 1) + WS_PATH

    def _scrub(self, value: Any) -> Any:
        """``value`` (JSON-like) with the key replaced wherever it appears."""
        text = json.dumps(value, ensure_ascii=False)
        return json.loads(text.replace(self._key, "***")) if self._key else value

    async def catalogue(self) -> tuple[str, str]:
        """A voice and a model of the account (the defaults when it has them)."""
        voices = await self._get("/voices")
        models = await self._get("/models")
        voice_ids = [item.get("voice_id") for item in voices if isinstance(item, dict)]
        model_ids = [item.get("model_id") for item in models if isinstance(item, dict)]
        voice = DEFAULT_VOICE if DEFAULT_VOICE in voice_ids else str(voice_ids[0])
        model = DEFAULT_MODEL if DEFAULT_MODEL in model_ids else str(model_ids[0])
        return voice, model

    async def _get(self, path: str) -> list[Any]:
        async with self._session.get(
            f"{self._base}{API_PATH}{path}", headers={"x-api-key": self._key}
        ) as response:
            response.raise_for_status()
            data = await response.json(content_type=None)
        if isinstance(data, dict):
            data = data.get(path.strip("/"), data.get("data", []))
        return data if isinstance(data, list) else []

    async def socket(
        self,
        texts: Sequence[str],
        voice_id: str,
        model_id: str,
        output_format: str = "pcm_24000",
        *,
        again: str | None = None,
    ) -> SocketRun:
        """Send ``texts`` as triggered generations (the last with flush) and record the answer.

        ``again``: once the answer has gone quiet, send this text too on the same socket.
        """
        run = SocketRun()
        try:
            async with asyncio.timeout(self._limit * (2 if again else 1)):
                await self._socket_run(run, texts, voice_id, model_id, output_format, again=again)
        except TimeoutError:
            run.events.append("probe limit")
        except aiohttp.ClientError as err:
            run.events.append(f"connection error {type(err).__name__}")
        return run

    async def _socket_run(
        self,
        run: SocketRun,
        texts: Sequence[str],
        voice_id: str,
        model_id: str,
        output_format: str,
        *,
        again: str | None,
    ) -> None:
        async with self._session.ws_connect(self._ws_url, params={"x-api-key": self._key}) as ws:
            await ws.send_json(
                {
                    "type": "initConnection",
                    "model_id": model_id,
                    "voice_id": voice_id,
                    "output_format": output_format,
                    "x_api_key": self._key,
                }
            )
            reply = await ws.receive(timeout=self._limit)
            if reply.type is not aiohttp.WSMsgType.TEXT:
                run.events.append(f"init answered with {reply.type.name}")
                return
            frame = json.loads(reply.data)
            if frame.get("type") != "connectionInitialized":
                run.error = self._scrub(frame)
                run.events.append("error")
                return
            start = time.perf_counter()
            for index, text in enumerate(texts):
                message: dict[str, Any] = {"type": "text", "text": text}
                message["try_trigger_generation"] = True
                if index == len(texts) - 1:
                    message["flush"] = True
                await ws.send_json(message)
            # First, without closeConnection: does the server close after its final?
            if await self._read(ws, run, start, "the final"):
                return
            if again is not None:
                run.events.append("again")
                await ws.send_json(
                    {"type": "text", "text": again, "try_trigger_generation": True, "flush": True}
                )
                if await self._read(ws, run, start, "the second text"):
                    return
            await ws.send_json({"type": "closeConnection"})
            await self._read(ws, run, start, "closeConnection")

    async def _read(
        self, ws: aiohttp.ClientWebSocketResponse, run: SocketRun, start: float, stage: str
    ) -> bool:
        """Read until the server closes (True) or QUIET passes (False)."""
        while True:
            # The limit until something arrives (again after a second text), then quiet.
            wait = self._limit if not run.events or run.events[-1] == "again" else self._quiet
            try:
                message = await ws.receive(timeout=wait)
            except TimeoutError:
                return False
            if message.type in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSED):
                run.closed_by_server = True
                run.close_code = ws.close_code
                run.closed_after = stage
                run.events.append("close")
                return True
            if message.type is not aiohttp.WSMsgType.TEXT:
                run.events.append(message.type.name.lower())
                continue
            frame = json.loads(message.data)
            if frame.get("type") == "error":
                run.error = self._scrub(frame)
                run.events.append("error")
                continue
            if "audio" not in frame:
                run.events.append(str(frame.get("type")))
                continue
            pcm = base64.b64decode(frame.get("audio") or "")
            if pcm and run.first_audio_s is None:
                run.first_audio_s = round(time.perf_counter() - start, 3)
            run.audio_bytes += len(pcm)
            if isinstance(rate := frame.get("sampleRate"), int):
                run.sample_rates.append(rate)
            if frame.get("isFinal") is True:
                run.events.append("final+audio" if pcm else "final")
            elif pcm:
                run.events.append("audio")

    async def idle_socket(self) -> float | None:
        """Seconds until the server closes a socket that is never initialised; None if open."""
        start = time.perf_counter()
        try:
            async with self._session.ws_connect(
                self._ws_url, params={"x-api-key": self._key}
            ) as ws:
                # Anything at all on a socket that was sent nothing ends the wait.
                await ws.receive(timeout=self._limit)
        except TimeoutError:
            return None
        return round(time.perf_counter() - start, 3)

    async def listen(self) -> tuple[str, list[str]]:
        """Whether this host serves speech-to-text: open /listen, wait for Metadata, close it."""
        url = self._ws_url.removesuffix(WS_PATH) + LISTEN_PATH
        query = {
            "model": "munsit",
            "language": "ar",
            "encoding": "linear16",
            "sample_rate": "16000",
        }
        events: list[str] = []
        answer = "nothing"
        try:
            async with (
                asyncio.timeout(self._limit),
                self._session.ws_connect(url, params=query, headers={"x-api-key": self._key}) as ws,
            ):
                while (message := await ws.receive()).type is aiohttp.WSMsgType.TEXT:
                    event = json.loads(message.data)
                    events.append(str(event.get("type")))
                    if event.get("type") == "Metadata" and answer != "metadata":
                        # Served. End the stream at once: no audio is sent, none is billed.
                        answer = "metadata"
                        await ws.send_json({"type": "CloseStream"})
                events.append(message.type.name.lower())
                return (answer if answer == "metadata" else f"closed {ws.close_code}"), events
        except aiohttp.WSServerHandshakeError as err:
            return f"http {err.status}", events
        except (TimeoutError, aiohttp.ClientError) as err:
            return type(err).__name__, events

    async def http(
        self, text: str, voice_id: str, model_id: str, sample_rate: int = 24000
    ) -> tuple[int, float | None, str, Any]:
        """Status, seconds to the first audio byte, Content-Type, and an error body."""
        body = {
            "voice_id": voice_id,
            "text": text,
            "stability": 0.5,
            "streaming": True,
            "sample_rate": sample_rate,
        }
        start = time.perf_counter()
        try:
            async with (
                asyncio.timeout(self._limit),
                self._session.post(
                    f"{self._base}{API_PATH}/text-to-speech/{model_id}",
                    headers={"x-api-key": self._key},
                    json=body,
                ) as response,
            ):
                content_type = response.headers.get("Content-Type", "")
                if response.status != 200:
                    raw = await response.text()
                    try:
                        error: Any = json.loads(raw)
                    except ValueError:
                        error = raw[:300]
                    return response.status, None, content_type, self._scrub(error)
                await response.content.readany()
                first = round(time.perf_counter() - start, 3)
                await response.read()
                return 200, first, content_type, None
        except (TimeoutError, aiohttp.ClientError) as err:
            return 0, None, "", type(err).__name__


async def run_battery(
    base_url: str, api_key: str, *, quiet: float = QUIET, limit: float = PROBE_LIMIT
) -> Report:
    """Run every probe and return the report (the key is not in it)."""
    async with aiohttp.ClientSession() as session:
        battery = Battery(session, base_url, api_key, quiet=quiet, limit=limit)
        voice, model = await battery.catalogue()
        report = Report(base_url=base_url, voice_id=voice, model_id=model, characters=CHARACTERS)
        one = await battery.socket([ONE_TEXT], voice, model)
        several = await battery.socket(SEGMENTS, voice, model)
        report.one_generation, report.several_generations = one, several
        report.socket_sends_audio = one.got_audio or several.got_audio
        report.socket_first_audio_s = one.first_audio_s
        report.final_style = infer_final_style(several, len(SEGMENTS))
        report.server_closes_after_final = several.closed_after == "the final"
        status, first, _, _ = await battery.http(HTTP_TEXT, voice, model)
        report.http_status, report.http_first_audio_s = status, first
        unknown = await battery.socket([], UNKNOWN_VOICE, model)
        report.unknown_voice_ws = unknown.error
        if unknown.error is not None:
            report.error_shape = "code" if "errorCode" in unknown.error else "message"
        _, _, _, report.unknown_voice_http = await battery.http(RATE_TEXT, UNKNOWN_VOICE, model)
        rate_run = await battery.socket([RATE_TEXT], voice, model, f"pcm_{RATE_CHECKED}")
        if rate_run.sample_rates:
            report.ws_sample_rate_honoured = set(rate_run.sample_rates) == {RATE_CHECKED}
        status, _, content_type, _ = await battery.http(RATE_TEXT, voice, model, RATE_CHECKED)
        if status == 200:
            report.http_sample_rate_honoured = f"rate={RATE_CHECKED}" in content_type
        report.idle_socket_closed_after_s = await battery.idle_socket()
        report.second_text_after_final = second_text_answer(
            await battery.socket([ONE_TEXT], voice, model, again=ONE_TEXT)
        )
        report.stt_listen, report.stt_listen_events = await battery.listen()
        if not report.socket_sends_audio:
            report.notes.append("The socket sent no audio: the client will use HTTP streaming.")
        return report


def summary(report: Report) -> str:
    """A readable summary of the report."""
    several = report.several_generations
    lines = [
        f"Service: {report.base_url} (voice {report.voice_id}, model {report.model_id})",
        f"Socket sends audio: {'yes' if report.socket_sends_audio else 'NO'}",
        f"Finals for {len(SEGMENTS)} generations: {report.final_style}"
        + (f" ({' '.join(_collapse(several.events))})" if several else ""),
        f"Server closes after its final: {'yes' if report.server_closes_after_final else 'no'}"
        + (f"; closed after {several.closed_after}" if several and several.closed_after else ""),
        f"First audio: socket {report.socket_first_audio_s} s, HTTP {report.http_first_audio_s} s",
        f"Unknown voice: socket {report.unknown_voice_ws}, HTTP {report.unknown_voice_http}",
        f"Error shape: {report.error_shape}",
        f"{RATE_CHECKED} Hz honoured: socket {report.ws_sample_rate_honoured}, "
        f"HTTP {report.http_sample_rate_honoured}",
        "A never-initialised socket is closed by the server after: "
        + (
            f"{report.idle_socket_closed_after_s} s"
            if report.idle_socket_closed_after_s is not None
            else "no close within the probe"
        ),
        f"A second text after the final on the same socket: {report.second_text_after_final}",
        f"Speech-to-text (/listen) on this host: {report.stt_listen}"
        + (f" ({' '.join(report.stt_listen_events)})" if report.stt_listen_events else ""),
        *report.notes,
    ]
    return "\n".join(lines)


def _base_url(args: argparse.Namespace) -> str:
    if args.url:
        return str(args.url)
    region = os.environ.get("FASEEH_REGION", "global")
    api_url = REGIONS[region].api_url if region in REGIONS else None
    if api_url is None:
        services = ", ".join(name for name, known in REGIONS.items() if known.api_url)
        raise SystemExit(f"FASEEH_REGION must be one of {services}")
    return api_url


def main(argv: list[str] | None = None) -> int:
    """Run the command line; returns the exit status."""
    parser = argparse.ArgumentParser(prog="./scripts/live-check", description=__doc__)
    parser.add_argument("--yes", action="store_true", help="do not ask before spending")
    parser.add_argument("--url", help="base URL instead of FASEEH_REGION (e.g. the simulator)")
    parser.add_argument("--report", type=Path, default=REPORT_PATH, help="where to write")
    args = parser.parse_args(argv)
    api_key = os.environ.get("FASEEH_API_KEY", "")
    if not api_key:
        print("Set FASEEH_API_KEY to a key of your account.", file=sys.stderr)
        return 2
    base_url = _base_url(args)
    print(f"This synthesises {CHARACTERS} characters on {base_url} (billed to the key's wallet).")
    if not args.yes and input("Go ahead? [y/N] ").strip().lower() not in ("y", "yes"):
        print("Nothing was sent.")
        return 1
    report = asyncio.run(run_battery(base_url, api_key))
    args.report.write_text(json.dumps(asdict(report), ensure_ascii=False, indent=2) + "\n")
    print(summary(report))
    print(f"Written: {args.report}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
