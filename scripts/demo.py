"""A real Home Assistant speaking Arabic through the Faseeh integration, end to end.

Starts the Faseeh simulator in speech mode (or uses the real service when FASEEH_API_KEY is set),
starts `hass` on a throwaway config directory with this repository's integration, onboards it
and adds the integration through the real config flow over HTTP, then asks HA for speech the way
a media player would: once as WAV and once as the MP3 a speaker gets. Both files land in
demo-output/. Everything the demo started is stopped again; the exit code is the verdict.

Usage: ./scripts/demo ["نص عربي"]
Environment: FASEEH_API_KEY (use the real service), FASEEH_REGION (global|uae|munsit).
"""

from __future__ import annotations

import argparse
import array
import asyncio
import contextlib
from dataclasses import dataclass
import json
import math
import os
from pathlib import Path
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import traceback
from typing import Any, TextIO

import aiohttp

ROOT = Path(__file__).resolve().parent.parent
VENV_BIN = ROOT / ".venv" / "bin"
OUTPUT_DIR = ROOT / "demo-output"
DOMAIN = "faseeh"

DEFAULT_TEXT = "مرحبا! أنا مساعدك المنزلي، وأتحدث العربية بصوت فصيح."
SIMULATOR_API_KEY = "faseeh-sim-key"
REGIONS = ("global", "uae", "munsit")

HASS_START_TIMEOUT = 90.0
HASS_STOP_TIMEOUT = 20.0
SIMULATOR_START_TIMEOUT = 30.0
SPEECH_TIMEOUT = 60.0
LOG_TAIL_LINES = 40

# Below this RMS (on the int16 scale, ~ -50 dBFS) a file counts as silence.
SILENCE_RMS = 100.0
# The WAV and the MP3 are two syntheses of the same text; they must last about as long.
DURATION_TOLERANCE = 0.25
WAV_HEADER_BYTES = 44

LOG_ENTRY = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d")
# Default integrations whose requirements the venv lacks; their setup errors are expected.
UNUSED_INTEGRATIONS = frozenset(
    {
        "ai_task",
        "assist_pipeline",
        "assist_satellite",
        "camera",
        "cloud",
        "conversation",
        "image_processing",
        "infrared",
        "radio_frequency",
    }
)


class DemoError(Exception):
    """A step failed; the message says which and why."""


@dataclass(frozen=True, slots=True)
class Service:
    """Where the integration is pointed and how the config flow is answered."""

    description: str
    api_key: str
    region: str  # The config flow's region: global, uae, munsit or custom.
    url: str | None = None  # Only for the custom region.


@dataclass(frozen=True, slots=True)
class Audio:
    """What the checks found in one file."""

    duration: float
    description: str  # Codec, rate, channels.
    checks: str  # What was verified, for the report.


@dataclass(frozen=True, slots=True)
class Speech:
    """One fetched audio file and how long it took."""

    path: Path
    size: int
    first_byte_from_request: float  # From POST /api/tts_get_url to the first byte.
    first_byte_from_get: float  # From the GET of the audio URL to its first byte.
    total: float  # From POST /api/tts_get_url to the last byte.
    audio: Audio


class Demo:
    """Runs the demo once; `stop_everything` undoes what it started."""

    def __init__(self, text: str, output_dir: Path) -> None:
        self.text = text
        self.output_dir = output_dir
        self.started = time.monotonic()
        self.config_dir = Path(tempfile.mkdtemp(prefix="faseeh-demo-"))
        self.hass_log = self.config_dir / "home-assistant.log"
        self.hass_console = self.config_dir / "hass-console.log"
        self.simulator_log = self.config_dir / "simulator.log"
        self.secrets: list[str] = []
        self.children: list[tuple[str, asyncio.subprocess.Process]] = []
        self._open_files: list[TextIO] = []
        self._drain: asyncio.Task[None] | None = None

    # ---- reporting -------------------------------------------------------------------------

    def redact(self, text: str) -> str:
        """Remove every secret the demo knows of from text that is about to be shown."""
        for secret in self.secrets:
            if secret:
                text = text.replace(secret, "**REDACTED**")
        return text

    def say(self, message: str) -> None:
        """Print one progress line with the time since the demo started."""
        elapsed = time.monotonic() - self.started
        print(self.redact(f"[{elapsed:5.1f}s] {message}"), flush=True)

    # ---- the service -----------------------------------------------------------------------

    async def choose_service(self) -> Service:
        """The real service when FASEEH_API_KEY is set, otherwise a simulator started here."""
        api_key = os.environ.get("FASEEH_API_KEY", "").strip()
        if api_key:
            self.secrets.append(api_key)
            region = os.environ.get("FASEEH_REGION", "global").strip().lower() or "global"
            if region not in REGIONS:
                raise DemoError(
                    f"FASEEH_REGION must be one of {', '.join(REGIONS)}, not {region!r}"
                )
            return Service(f"the real Faseeh service (region {region})", api_key, region)
        url = await self.start_simulator()
        return Service(
            f"the Faseeh simulator at {url}: espeak-ng Arabic, sent as fast as it is made, "
            "so the times below are mostly Home Assistant's own",
            SIMULATOR_API_KEY,
            "custom",
            url,
        )

    async def start_simulator(self) -> str:
        """Start `python -m simulator --audio speech` and return the URL it prints first."""
        log = self._open_log(self.simulator_log)
        process = await asyncio.create_subprocess_exec(
            str(VENV_BIN / "python"),
            "-m",
            "simulator",
            "--audio",
            "speech",
            cwd=ROOT,
            stdout=asyncio.subprocess.PIPE,
            stderr=log,
            start_new_session=True,
        )
        self.children.append(("simulator", process))
        assert process.stdout is not None
        try:
            first = await asyncio.wait_for(process.stdout.readline(), SIMULATOR_START_TIMEOUT)
        except TimeoutError as err:
            raise DemoError(
                f"the simulator printed nothing in {SIMULATOR_START_TIMEOUT:.0f} s"
            ) from err
        line = first.decode(errors="replace").strip()
        if not line.startswith("FASEEH_URL="):
            raise DemoError(f"the simulator's first line is {line!r}, not FASEEH_URL=...")
        self._drain = asyncio.create_task(_copy_stream(process.stdout, log))
        url = line.removeprefix("FASEEH_URL=")
        self.say(f"simulator listening at {url} (speech mode, espeak-ng Arabic)")
        return url

    # ---- Home Assistant --------------------------------------------------------------------

    def write_config(self, port: int) -> None:
        """Only what the demo needs; no default_config, which brings network integrations."""
        frontend_stub = self.config_dir / "frontend-stub"
        # The venv has no home-assistant-frontend package, and HA falls back to recovery mode
        # when the frontend cannot load. Its own development_repo option points it at an empty
        # build instead: every view and panel registers, there are just no files to serve.
        (frontend_stub / "hass_frontend").mkdir(parents=True)
        (self.config_dir / "configuration.yaml").write_text(
            f"""homeassistant:
  name: Faseeh demo
  latitude: 24.4539
  longitude: 54.3773
  elevation: 0
  unit_system: metric
  time_zone: Asia/Dubai
  country: AE
  language: ar
  internal_url: http://127.0.0.1:{port}
http:
  server_host: 127.0.0.1
  server_port: {port}
frontend:
  development_repo: {frontend_stub}
onboarding:
config:
api:
logger:
  default: warning
  logs:
    custom_components.{DOMAIN}: info
""",
            encoding="utf-8",
        )
        custom = self.config_dir / "custom_components"
        custom.mkdir()
        (custom / DOMAIN).symlink_to(ROOT / "custom_components" / DOMAIN, target_is_directory=True)

    async def start_hass(self) -> str:
        """Start `hass` on the throwaway config dir; return its base URL once it answers."""
        port = _free_port()
        self.write_config(port)
        console = self._open_log(self.hass_console)
        process = await asyncio.create_subprocess_exec(
            str(VENV_BIN / "hass"),
            "--config",
            str(self.config_dir),
            "--skip-pip",
            "--log-no-color",
            cwd=self.config_dir,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=console,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        self.children.append(("hass", process))
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + HASS_START_TIMEOUT
        async with aiohttp.ClientSession() as session:
            while True:
                if process.returncode is not None:
                    raise DemoError(f"hass exited with code {process.returncode} while starting")
                with contextlib.suppress(aiohttp.ClientError, TimeoutError):
                    async with session.get(
                        f"{base}/api/onboarding", timeout=aiohttp.ClientTimeout(total=5)
                    ) as response:
                        if response.status == 200:
                            break
                if time.monotonic() > deadline:
                    raise DemoError(f"Home Assistant did not answer in {HASS_START_TIMEOUT:.0f} s")
                await asyncio.sleep(0.25)
        self.say(f"Home Assistant answering at {base} (config dir {self.config_dir})")
        return base

    async def onboard(self, http: Http) -> None:
        """Create the owner as the onboarding page does, then log in with the code it returns.

        The other onboarding steps only matter to the frontend: core_config would set up
        network-using integrations (met, radio_browser, google_translate), so the demo stops
        after the user step, which is all the HTTP API needs.
        """
        password = secrets.token_urlsafe(18)
        self.secrets.append(password)
        client_id = f"{http.base}/"
        created = await http.post_json(
            "/api/onboarding/users",
            {
                "client_id": client_id,
                "name": "Faseeh Demo",
                "username": "demo",
                "password": password,
                "language": "ar",
            },
            auth=False,
        )
        token = await http.post_form(
            "/auth/token",
            {
                "grant_type": "authorization_code",
                "code": str(created["auth_code"]),
                "client_id": client_id,
            },
        )
        http.token = str(token["access_token"])
        self.secrets.append(http.token)
        config = await http.get_json("/api/config")
        self.say(f"onboarded Home Assistant {config.get('version')} and logged in as 'demo'")

    async def add_entry(self, http: Http, service: Service) -> dict[str, Any]:
        """Add the integration through its real config flow, as the UI would."""
        result = await http.post_json(
            "/api/config/config_entries/flow",
            {"handler": DOMAIN, "show_advanced_options": False},
        )
        answers: dict[str, dict[str, Any]] = {
            "user": {"api_key": service.api_key, "region": service.region},
        }
        if service.url is not None:
            answers["custom_url"] = {"url": service.url}
        for _ in range(len(answers) + 1):
            if result.get("type") != "form":
                break
            step = str(result.get("step_id"))
            if result.get("errors"):
                raise DemoError(f"the config flow's {step!r} step reported {result['errors']}")
            if step not in answers:
                raise DemoError(f"the config flow asked for an unexpected step {step!r}")
            self.say(f"config flow: answering the {step!r} step")
            result = await http.post_json(
                f"/api/config/config_entries/flow/{result['flow_id']}",
                answers.pop(step),
            )
        if result.get("type") != "create_entry":
            shown = {key: result.get(key) for key in ("type", "step_id", "reason", "errors")}
            raise DemoError(f"the config flow ended with {shown} instead of create_entry")
        entry: dict[str, Any] = result["result"]
        self.say(f"config entry {entry.get('title')!r} created ({entry.get('state')})")
        return entry

    async def find_entity(self, http: Http, entry_id: str) -> str:
        """The entry's TTS entity, once it is registered and has a state."""
        deadline = time.monotonic() + 30
        while True:
            state = ""
            entries = await http.get_json(f"/api/config/config_entries/entry?domain={DOMAIN}")
            entry = next((e for e in entries if e.get("entry_id") == entry_id), None)
            if entry is not None and entry.get("state") in (
                "setup_error",
                "setup_retry",
            ):
                reason = entry.get("reason") or entry.get("error_reason_translation_key")
                raise DemoError(f"the config entry did not load: {entry.get('state')} ({reason})")
            registry = await http.websocket_command({"type": "config/entity_registry/list"})
            entity_ids = [
                str(item["entity_id"])
                for item in registry
                if item.get("config_entry_id") == entry_id
                and item.get("platform") == DOMAIN
                and str(item.get("entity_id", "")).startswith("tts.")
            ]
            if entity_ids:
                state = await http.get_state(entity_ids[0])
                if state not in ("", "unavailable"):
                    self.say(f"TTS entity {entity_ids[0]} is ready (state {state!r})")
                    return entity_ids[0]
            if time.monotonic() > deadline:
                raise DemoError(
                    f"no usable TTS entity for the entry after 30 s (found {entity_ids}, "
                    f"state {state!r}, entry {entry and entry.get('state')})"
                )
            await asyncio.sleep(0.25)

    async def speak(
        self, http: Http, entity_id: str, preferred_format: str | None, path: Path
    ) -> Speech:
        """Ask HA for a speech URL, then fetch it without credentials as a media player does."""
        options: dict[str, Any] = {}
        if preferred_format is not None:
            options["preferred_format"] = preferred_format
        requested = time.monotonic()
        answer = await http.post_json(
            "/api/tts_get_url",
            {
                "engine_id": entity_id,
                "message": self.text,
                "cache": False,
                "options": options,
            },
        )
        url = str(answer["url"])
        first_byte: float | None = None
        size = 0
        timeout = aiohttp.ClientTimeout(total=SPEECH_TIMEOUT)
        get_started = time.monotonic()
        with path.open("wb") as out:
            async with http.session.get(url, timeout=timeout) as response:
                if response.status != 200:
                    raise DemoError(f"GET {answer['path']} answered HTTP {response.status}")
                async for chunk in response.content.iter_any():
                    if first_byte is None:
                        first_byte = time.monotonic()
                    out.write(chunk)
                    size += len(chunk)
        finished = time.monotonic()
        if first_byte is None:
            raise DemoError(f"GET {answer['path']} returned no audio at all")
        audio = await (check_wav(path) if preferred_format == "wav" else check_mp3(path))
        return Speech(
            path=path,
            size=size,
            first_byte_from_request=first_byte - requested,
            first_byte_from_get=first_byte - get_started,
            total=finished - requested,
            audio=audio,
        )

    # ---- the whole run ---------------------------------------------------------------------

    async def run(self) -> None:
        """Every step in order; raises DemoError (or anything else) on the first failure."""
        print(f"Faseeh demo: Home Assistant speaking «{self.text}»", flush=True)
        service = await self.choose_service()
        base = await self.start_hass()
        async with aiohttp.ClientSession() as session:
            http = Http(session, base)
            await self.onboard(http)
            entry = await self.add_entry(http, service)
            entity_id = await self.find_entity(http, str(entry["entry_id"]))
            self.output_dir.mkdir(parents=True, exist_ok=True)
            wav = await self.speak(http, entity_id, "wav", self.output_dir / "speech.wav")
            self.say(f"WAV fetched and checked: {wav.audio.duration:.2f} s of speech")
            mp3 = await self.speak(http, entity_id, None, self.output_dir / "speech.mp3")
            self.say(f"MP3 fetched and checked: {mp3.audio.duration:.2f} s of speech")
        wav_seconds, mp3_seconds = wav.audio.duration, mp3.audio.duration
        if abs(wav_seconds - mp3_seconds) > max(DURATION_TOLERANCE, 0.1 * wav_seconds):
            raise DemoError(
                f"the MP3 lasts {mp3_seconds:.2f} s but the WAV {wav_seconds:.2f} s: "
                "one of them is truncated"
            )
        self.report(
            service,
            entity_id,
            [
                ('WAV (options {"preferred_format": "wav"})', wav),
                (
                    "MP3 (no preferred format: what a media player gets, encoded by HA's ffmpeg)",
                    mp3,
                ),
            ],
        )

    def report(self, service: Service, entity_id: str, results: list[tuple[str, Speech]]) -> None:
        """The summary a person reads."""
        lines = [
            "",
            f"Text:     «{self.text}»",
            f"Service:  {service.description}",
            f"Entity:   {entity_id}",
        ]
        for title, speech in results:
            lines += [
                "",
                title,
                f"  time to first byte  {speech.first_byte_from_request:.2f} s after POST "
                f"/api/tts_get_url ({speech.first_byte_from_get:.2f} s after the GET of its URL)",
                f"  total time          {speech.total:.2f} s (POST to last byte)",
                f"  audio duration      {speech.audio.duration:.2f} s  "
                f"({speech.audio.description})",
                f"  file                {shown_path(speech.path)} ({speech.size / 1024:.1f} KiB)",
                f"  checks              {speech.audio.checks}",
            ]
        print(self.redact("\n".join(lines)), flush=True)

    # ---- cleanup ---------------------------------------------------------------------------

    async def stop_everything(self, outcome: int) -> None:
        """Stop hass and the simulator; keep the logs in the output dir unless all went well."""
        for name, process in reversed(self.children):
            await _stop_process(name, process)
        if self._drain is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._drain, 5)
        for handle in self._open_files:
            handle.close()
        if outcome == 0:
            # Logs kept by an earlier failed run would only confuse now.
            for log in (self.hass_log, self.hass_console, self.simulator_log):
                (self.output_dir / log.name).unlink(missing_ok=True)
        else:
            self._keep_logs(show_tail=outcome == 1)
        shutil.rmtree(self.config_dir, ignore_errors=True)

    def _keep_logs(self, *, show_tail: bool) -> None:
        """Copy the logs (secrets removed) to the output dir and show the end of HA's log."""
        self.output_dir.mkdir(parents=True, exist_ok=True)
        kept: list[Path] = []
        for log in (self.hass_log, self.hass_console, self.simulator_log):
            if log.exists():
                target = self.output_dir / log.name
                target.write_text(
                    self.redact(log.read_text(encoding="utf-8", errors="replace")),
                    encoding="utf-8",
                )
                kept.append(target)
        if show_tail and self.hass_log.exists():
            text = self.hass_log.read_text(encoding="utf-8", errors="replace")
            tail = _without_known_noise(text).splitlines()[-LOG_TAIL_LINES:]
            print(
                f"\n---- home-assistant.log, last {len(tail)} lines "
                "(without the setup errors of integrations the demo does not use) ----",
                file=sys.stderr,
            )
            print(self.redact("\n".join(tail)), file=sys.stderr)
            print("---- end of log ----", file=sys.stderr)
        for path in kept:
            print(f"log kept: {shown_path(path)}", file=sys.stderr)

    def _open_log(self, path: Path) -> TextIO:
        handle = path.open("w", encoding="utf-8")
        self._open_files.append(handle)
        return handle


class Http:
    """HA's HTTP and websocket API with the access token once there is one."""

    def __init__(self, session: aiohttp.ClientSession, base: str) -> None:
        self.session = session
        self.base = base
        self.token = ""
        self._timeout = aiohttp.ClientTimeout(total=30)

    def _headers(self, auth: bool) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"} if auth and self.token else {}

    async def _json(self, response: aiohttp.ClientResponse, what: str) -> Any:
        if response.status >= 300:
            body = (await response.text())[:500]
            raise DemoError(f"{what} answered HTTP {response.status}: {body}")
        return await response.json()

    async def get_json(self, path: str) -> Any:
        """GET a JSON document."""
        async with self.session.get(
            self.base + path, headers=self._headers(True), timeout=self._timeout
        ) as response:
            return await self._json(response, f"GET {path}")

    async def post_json(self, path: str, body: dict[str, Any], *, auth: bool = True) -> Any:
        """POST a JSON body and return the JSON answer."""
        async with self.session.post(
            self.base + path,
            json=body,
            headers=self._headers(auth),
            timeout=self._timeout,
        ) as response:
            return await self._json(response, f"POST {path}")

    async def post_form(self, path: str, form: dict[str, str]) -> Any:
        """POST a form (the OAuth token endpoint) and return the JSON answer."""
        async with self.session.post(
            self.base + path, data=form, timeout=self._timeout
        ) as response:
            return await self._json(response, f"POST {path}")

    async def get_state(self, entity_id: str) -> str:
        """The entity's state, or "" while the state machine does not have it."""
        async with self.session.get(
            f"{self.base}/api/states/{entity_id}",
            headers=self._headers(True),
            timeout=self._timeout,
        ) as response:
            if response.status == 404:
                return ""
            return str((await self._json(response, f"GET /api/states/{entity_id}"))["state"])

    async def websocket_command(self, command: dict[str, Any]) -> Any:
        """Run one websocket command (the entity registry has no REST view)."""
        async with self.session.ws_connect(
            f"{self.base}/api/websocket", timeout=aiohttp.ClientWSTimeout(ws_close=5)
        ) as ws:
            await ws.receive_json(timeout=10)  # auth_required
            await ws.send_json({"type": "auth", "access_token": self.token})
            auth = await ws.receive_json(timeout=10)
            if auth.get("type") != "auth_ok":
                raise DemoError(f"the websocket API refused the token: {auth.get('type')}")
            await ws.send_json({"id": 1, **command})
            while True:
                message = await ws.receive_json(timeout=10)
                if message.get("id") == 1 and message.get("type") == "result":
                    break
            if not message.get("success"):
                raise DemoError(f"websocket {command['type']} failed: {message.get('error')}")
            return message["result"]


# ---- audio checks --------------------------------------------------------------------------


async def check_wav(path: Path) -> Audio:
    """Parse the streamed WAV, check it is speech and that ffmpeg decodes all of it.

    The header's sizes are 0xFFFFFFFF ("unknown", as a stream must say), so the duration comes
    from the PCM that follows it, not from the header or ffprobe.
    """
    data = await asyncio.to_thread(path.read_bytes)
    if len(data) < WAV_HEADER_BYTES or data[:4] != b"RIFF" or data[8:12] != b"WAVE":
        raise DemoError(f"{path.name} is not a RIFF/WAVE file (starts {data[:12]!r})")
    fmt, pcm_offset = _wav_chunks(data, path.name)
    if len(fmt) < 16:
        raise DemoError(f"{path.name} has a {len(fmt)}-byte fmt chunk")
    audio_format = int.from_bytes(fmt[0:2], "little")
    channels = int.from_bytes(fmt[2:4], "little")
    rate = int.from_bytes(fmt[4:8], "little")
    bits = int.from_bytes(fmt[14:16], "little")
    if audio_format != 1 or bits != 16 or channels < 1 or rate <= 0:
        raise DemoError(
            f"{path.name} is not PCM16 (format {audio_format}, {bits} bits, {channels} channels)"
        )
    pcm = data[pcm_offset:]
    frame_bytes = channels * 2
    if not pcm or len(pcm) % frame_bytes:
        raise DemoError(f"{path.name} has {len(pcm)} bytes of PCM, not whole frames of audio")
    duration = len(pcm) / (frame_bytes * rate)
    rms = _rms(pcm)
    if rms < SILENCE_RMS:
        raise DemoError(f"{path.name} is silence (RMS {rms:.0f})")
    decoded = await _ffmpeg_decode(path)
    if len(decoded) != len(pcm) // channels:
        raise DemoError(
            f"ffmpeg decoded {len(decoded)} bytes of {path.name}, expected {len(pcm) // channels}"
        )
    streamed = data[4:8] == data[pcm_offset - 4 : pcm_offset] == b"\xff\xff\xff\xff"
    return Audio(
        duration=duration,
        description=(f"PCM16, {rate} Hz, {_channels(channels)}, {len(pcm)} bytes after the header"),
        checks=(
            f"header sizes {'0xFFFFFFFF (streamed)' if streamed else 'fixed'}, not silence "
            f"(RMS {_dbfs(rms):.1f} dBFS), ffmpeg decodes every sample without an error"
        ),
    )


def _wav_chunks(data: bytes, name: str) -> tuple[bytes, int]:
    """The fmt chunk and the offset of the PCM in the data chunk (whose size is ignored)."""
    offset = 12
    fmt = b""
    while offset + 8 <= len(data):
        chunk_id = data[offset : offset + 4]
        size = int.from_bytes(data[offset + 4 : offset + 8], "little")
        if chunk_id == b"data":
            if not fmt:
                raise DemoError(f"{name} has its data chunk before a fmt chunk")
            return fmt, offset + 8
        if chunk_id == b"fmt ":
            fmt = data[offset + 8 : offset + 8 + size]
        offset += 8 + size + (size & 1)
    raise DemoError(f"{name} has no data chunk")


async def check_mp3(path: Path) -> Audio:
    """Check with ffprobe that this is MP3 audio, and with ffmpeg that it decodes to speech.

    The duration comes from the decoded samples: HA encodes VBR MP3 to a pipe, where ffmpeg
    cannot go back to fill in the Xing header, so ffprobe's duration is a bitrate estimate.
    """
    probe = await _run(
        "ffprobe",
        "-v",
        "error",
        "-show_entries",
        "stream=codec_name,sample_rate,channels:format=bit_rate",
        "-of",
        "json",
        str(path),
    )
    info = json.loads(probe)
    stream = (info.get("streams") or [{}])[0]
    if stream.get("codec_name") != "mp3":
        raise DemoError(f"{path.name} holds {stream.get('codec_name')!r}, not mp3")
    rate = int(stream.get("sample_rate") or 0)
    if rate <= 0:
        raise DemoError(f"ffprobe finds no sample rate in {path.name}")
    decoded = await _ffmpeg_decode(path)
    duration = len(decoded) / (2 * rate)
    if duration <= 0:
        raise DemoError(f"{path.name} decodes to no audio at all")
    rms = _rms(decoded)
    if rms < SILENCE_RMS:
        raise DemoError(f"{path.name} decodes to silence (RMS {rms:.0f})")
    bit_rate = int(info.get("format", {}).get("bit_rate") or 0)
    return Audio(
        duration=duration,
        description=(
            f"MP3, {rate} Hz, {_channels(int(stream.get('channels') or 0))}, "
            f"~{bit_rate // 1000} kbit/s VBR; measured by decoding it"
        ),
        checks=(
            f"ffprobe: mp3 stream; not silence (RMS {_dbfs(rms):.1f} dBFS); "
            "ffmpeg decodes it without an error"
        ),
    )


async def _ffmpeg_decode(path: Path) -> bytes:
    """Decode to mono PCM16 with ffmpeg; any error it reports is a failure.

    Not warnings: ffmpeg warns about the "unknown" 0xFFFFFFFF sizes and the short last packet
    of every streamed WAV, its own piped output included. The callers check the decoded length.
    """
    return await _run(
        "ffmpeg",
        "-nostdin",
        "-v",
        "error",
        "-i",
        str(path),
        "-f",
        "s16le",
        "-acodec",
        "pcm_s16le",
        "-ac",
        "1",
        "-",
        quiet=True,
    )


async def _run(*command: str, quiet: bool = False) -> bytes:
    """Run a tool; fail on a non-zero exit or (with quiet) on anything it complains about."""
    process = await asyncio.create_subprocess_exec(
        *command,
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await process.communicate()
    complaint = err.decode(errors="replace").strip()
    if process.returncode != 0 or (quiet and complaint):
        raise DemoError(
            f"{command[0]} failed on {command[-1]!r}: {complaint or process.returncode}"
        )
    return out


def _rms(pcm: bytes) -> float:
    samples = array.array("h")
    samples.frombytes(pcm[: len(pcm) - len(pcm) % 2])
    if sys.byteorder == "big":
        samples.byteswap()
    if not samples:
        return 0.0
    return math.sqrt(sum(sample * sample for sample in samples) / len(samples))


def _channels(count: int) -> str:
    return {1: "mono", 2: "stereo"}.get(count, f"{count} channels")


def _dbfs(rms: float) -> float:
    return 20 * math.log10(max(rms, 1e-9) / 32768)


# ---- processes -----------------------------------------------------------------------------


async def _copy_stream(stream: asyncio.StreamReader, out: TextIO) -> None:
    """Keep reading a child's stdout into its log so the pipe never fills up."""
    while line := await stream.readline():
        out.write(line.decode(errors="replace"))
        out.flush()


async def _stop_process(name: str, process: asyncio.subprocess.Process) -> None:
    """SIGTERM, then SIGKILL if it has not exited in time."""
    if process.returncode is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        process.send_signal(signal.SIGTERM)
    try:
        await asyncio.wait_for(process.wait(), HASS_STOP_TIMEOUT)
    except TimeoutError:
        print(
            f"{name} ignored SIGTERM for {HASS_STOP_TIMEOUT:.0f} s; killing it",
            file=sys.stderr,
        )
        with contextlib.suppress(ProcessLookupError):
            process.kill()
        await process.wait()


def _without_known_noise(log: str) -> str:
    """HA's log without the entries about integrations that cannot load in this venv.

    The venv holds what the tests need, not every default integration's requirements, so
    HA logs a setup error (with a traceback) for each of these; none of them is used here.
    """
    kept: list[str] = []
    entry: list[str] = []
    for line in log.splitlines():
        if LOG_ENTRY.match(line):
            if not _is_noise(entry):
                kept.extend(entry)
            entry = []
        entry.append(line)
    if not _is_noise(entry):
        kept.extend(entry)
    return "\n".join(kept)


def _is_noise(entry: list[str]) -> bool:
    if not entry or "[homeassistant.setup]" not in entry[0]:
        return False
    failed = re.search(r"(?:Setup failed for|dependencies of) '([a-z0-9_]+)'", entry[0])
    return failed is not None and failed.group(1) in UNUSED_INTEGRATIONS


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def shown_path(path: Path) -> str:
    with contextlib.suppress(ValueError):
        return str(path.relative_to(Path.cwd()))
    return str(path)


# ---- entry point ---------------------------------------------------------------------------


async def _main(text: str, output_dir: Path) -> int:
    loop = asyncio.get_running_loop()
    task = asyncio.current_task()
    assert task is not None
    # Ctrl-C or a kill stops the run but not the cleanup: everything started is stopped.
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, task.cancel)
    demo = Demo(text, output_dir)
    outcome = 1
    try:
        await demo.run()
        outcome = 0
    except DemoError as err:
        print(demo.redact(f"\nDEMO FAILED: {err}"), file=sys.stderr, flush=True)
    except asyncio.CancelledError:
        task.uncancel()
        print("\nDEMO INTERRUPTED; stopping what it started", file=sys.stderr, flush=True)
        outcome = 130
    except Exception:
        trace = traceback.format_exc()
        print(demo.redact(f"\nDEMO FAILED unexpectedly:\n{trace}"), file=sys.stderr, flush=True)
    finally:
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(signum, _still_stopping)
        await demo.stop_everything(outcome)
    if outcome == 0:
        elapsed = time.monotonic() - demo.started
        print(f"\nDEMO PASSED in {elapsed:.1f} s; everything it started has been stopped.")
    return outcome


def _still_stopping() -> None:
    print("still stopping Home Assistant and the simulator...", file=sys.stderr, flush=True)


def main() -> int:
    """Parse the command line and run the demo."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("text", nargs="*", help=f"Arabic text to speak (default: {DEFAULT_TEXT})")
    parser.add_argument(
        "--output-dir",
        type=Path,
        default=OUTPUT_DIR,
        help="where speech.wav/mp3 are written",
    )
    args = parser.parse_args()
    text = " ".join(args.text).strip() or DEFAULT_TEXT
    return asyncio.run(_main(text, args.output_dir.resolve()))


if __name__ == "__main__":
    sys.exit(main())
