"""A real aiohttp server on 127.0.0.1 that mimics the Faseeh TTS WebSocket and REST API."""

import asyncio
import base64
from collections import deque
import contextlib
from contextvars import ContextVar
from dataclasses import dataclass, field
import logging
import signal
from types import TracebackType
from typing import Any, Literal, Self

from aiohttp import WSCloseCode, WSMessage, WSMsgType, web
from aiohttp.typedefs import Handler

from .audio import SpeechError, deterministic_pcm, pcm_to_wav, speech_pcm, split_chunks
from .catalogue import ModelInfo, VoiceInfo, default_models, default_voices
from .faults import Fault
from .stt import LISTEN_PATH, SttConfig, SttSession, serve_listen, shutdown_listener

_LOGGER = logging.getLogger(__name__)

DEFAULT_API_KEY = "faseeh-sim-key"
HOST = "127.0.0.1"
API_PREFIX = "/api/v1"
WS_PATH = f"{API_PREFIX}/websocket/text-to-speech"
OUTPUT_FORMATS: dict[str, int] = {
    "pcm_8000": 8000,
    "pcm_16000": 16000,
    "pcm_22050": 22050,
    "pcm_24000": 24000,
}
DEFAULT_OUTPUT_FORMAT = "pcm_24000"
# The newest WS docs name the mini model as the default when model_id is omitted.
DEFAULT_WS_MODEL = "faseeh-mini-v1-preview"
DEFAULT_REST_SAMPLE_RATE = 24000
REST_SAMPLE_RATE_RANGE = (8000, 48000)
SLOW_HANDSHAKE_DELAY = 30.0
# How long stop() lets a socket close politely before it aborts the connection.
_STOP_CLOSE_TIMEOUT = 1.0

type AudioMode = Literal["deterministic", "speech"]
type FinalStyle = Literal["batch", "end", "never", "inside", "duplicate"]
# How the server marks the end of audio (docs/protocol.md, end of stream):
#   batch      a final chunk ends each triggered generation (the documented flow);
#   end        a final chunk only after the generation that ends the input (the flush);
#   never      no final chunks at all;
#   inside     as batch, and also a final on the audio frame that ends each batch of
#              INSIDE_BATCH_FRAMES frames inside a generation, with more audio after it;
#   duplicate  as batch, each final chunk sent twice.
FINAL_STYLES: tuple[FinalStyle, ...] = ("batch", "end", "never", "inside", "duplicate")
INSIDE_BATCH_FRAMES = 2
type ErrorShape = Literal["code", "message"]


@dataclass
class SimulatorConfig:
    """Behaviour of a simulator; tests may change it between requests."""

    port: int = 0
    api_keys: set[str] = field(default_factory=lambda: {DEFAULT_API_KEY})
    audio: AudioMode = "deterministic"
    handshake_delay: float = 0.0
    first_audio_delay: float = 0.0
    realtime_factor: float | None = None
    chunk_bytes: int = 4800
    final_style: FinalStyle = "batch"
    close_after_final: bool = False
    accept_query_key: bool = True
    accept_header_key: bool = True
    accept_init_key: bool = True
    error_shape: ErrorShape = "code"
    # A Fault or its name.
    fault: str | None = None
    fault_after_chunks: int = 2
    # At most this many syntheses at once per API key (WS sessions and REST requests); more
    # are refused with 42901. None: no limit.
    max_sessions: int | None = None
    # A WebSocket that receives nothing from the client for this long is closed (code 1000).
    idle_timeout: float | None = None
    voices: list[VoiceInfo] = field(default_factory=default_voices)
    models: list[ModelInfo] = field(default_factory=default_models)
    stt: SttConfig = field(default_factory=SttConfig)

    def __post_init__(self) -> None:
        """Reject an unknown fault name early."""
        Fault.parse(self.fault)


@dataclass
class WsSession:
    """What one WebSocket connection attempt sent and received."""

    query_key: str | None = None
    header_key: str | None = None
    init: dict[str, Any] | None = None
    messages: list[dict[str, Any]] = field(default_factory=list)
    text: str = ""
    client_sent_close: bool = False
    closed: bool = False
    audio_bytes_sent: int = 0


@dataclass(frozen=True)
class Charge:
    """What the wallet was charged for one generation that completed (the service bills then)."""

    transport: Literal["websocket", "http"]
    model_id: str
    characters: int
    cost_per_character: float


@dataclass
class HttpRequest:
    """One REST request received under /api/v1."""

    method: str
    path: str
    api_key: str | None
    json: Any


class ApiError(Exception):
    """A Faseeh error: a WS error frame or a REST error body."""

    def __init__(self, code: int, status: int, message: str) -> None:
        """Store the numeric error code, the HTTP status and the message."""
        super().__init__(message)
        self.code = code
        self.status = status
        self.message = message


def _auth_error() -> ApiError:
    return ApiError(40101, 401, "Invalid or missing API key")


def _wallet_error() -> ApiError:
    return ApiError(40201, 402, "Insufficient wallet balance. Required: $0.05, Available: $0.02")


def _rate_limit_error() -> ApiError:
    return ApiError(42901, 429, "Rate limit exceeded: too many concurrent requests")


def _model_error(model_id: object) -> ApiError:
    return ApiError(40401, 404, f"Model not found: {model_id}")


def _voice_error(voice_id: object) -> ApiError:
    return ApiError(40402, 404, f"Voice not found: {voice_id}")


def _invalid(message: str) -> ApiError:
    return ApiError(40001, 400, message)


def _protocol_error(message: str) -> ApiError:
    return ApiError(40002, 400, message)


def _internal_error() -> ApiError:
    return ApiError(50001, 500, "Internal error: audio generation failed")


_SPEED_MESSAGE = "speed must be a number between 0.7 and 1.2"


def _number(value: object, name: str, low: float, high: float, default: float) -> float:
    """Validate an optional number within [low, high]."""
    if value is None:
        return default
    # bool is an int subclass, but true/false is not a setting value.
    if isinstance(value, bool) or not isinstance(value, int | float) or not low <= value <= high:
        raise _invalid(f"{name} must be a number between {low:g} and {high:g}")
    return float(value)


def _fault_error(fault: Fault | None, model_id: object, voice_id: object) -> ApiError | None:
    """Return the error a request-level fault forces, if any."""
    match fault:
        case Fault.RATE_LIMIT:
            return _rate_limit_error()
        case Fault.UNKNOWN_VOICE:
            return _voice_error(voice_id)
        case Fault.UNKNOWN_MODEL:
            return _model_error(model_id)
        case Fault.INVALID_SETTING:
            return _invalid(_SPEED_MESSAGE)
        case Fault.INTERNAL_ERROR:
            return _internal_error()
    return None


def _rest_error(error: ApiError) -> web.Response:
    """Build a REST error response; REST bodies carry errorCode as a string."""
    return web.json_response(
        {"errorCode": str(error.code), "errorMessage": error.message}, status=error.status
    )


def _check_catalogue(config: SimulatorConfig, model_id: object, voice_id: object) -> None:
    """Raise unless the model and the voice exist in the configured catalogue."""
    if not any(model["model_id"] == model_id for model in config.models):
        raise _model_error(model_id)
    if voice_id is None:
        raise _invalid("voice_id is required")
    if not any(voice["voice_id"] == voice_id for voice in config.voices):
        raise _voice_error(voice_id)


async def _wait_forever() -> None:
    """Block until cancelled (stalled and silent sockets)."""
    await asyncio.get_running_loop().create_future()


async def _stop_task(task: asyncio.Task[Any]) -> None:
    """Cancel a task and wait for it to finish, without raising its result."""
    if not task.done():
        task.cancel()
        await asyncio.wait({task})
    if not task.cancelled() and (error := task.exception()) is not None:
        _LOGGER.error("Simulator task failed", exc_info=error)


@dataclass
class _Generation:
    """Buffered text turned into audio; `flush` marks the end of the client's input."""

    text: str
    start: int
    flush: bool


class _SessionOverError(Exception):
    """The connection is finished; the worker stops processing generations."""


class _Connection:
    """One accepted WebSocket: a reader loop plus an in-order generation worker."""

    def __init__(
        self,
        sim: FaseehSimulator,
        request: web.Request,
        ws: web.WebSocketResponse,
        session: WsSession,
        *,
        authenticated: bool,
    ) -> None:
        """Prepare the state of a freshly accepted socket."""
        self.sim = sim
        self.request = request
        self.ws = ws
        self.session = session
        self.authenticated = authenticated
        self.initialized = False
        self.sample_rate = OUTPUT_FORMATS[DEFAULT_OUTPUT_FORMAT]
        self.buffer = ""
        self.buffer_start = 0
        self.frames_sent = 0
        self.worker_closing = False
        self.queue: asyncio.Queue[_Generation | None] = asyncio.Queue()
        self.worker: asyncio.Task[None] | None = None
        self.reader: asyncio.Task[None] | None = None
        self.slot_key: str | None = None
        self.generating = False

    async def run(self) -> None:
        """Read client messages until the socket closes, then clean up the worker."""
        self.worker = asyncio.create_task(self._work(), name="faseeh-sim-generation")
        self.reader = asyncio.create_task(self._read(), name="faseeh-sim-reader")
        try:
            await asyncio.wait({self.reader})
        finally:
            self.session.closed = True
            # First: aiohttp cancels this handler when the client goes away, which would
            # skip anything after the awaits below and hold the slot for ever.
            if self.slot_key is not None:
                self.sim.release_slot(self.slot_key)
                self.slot_key = None
            await self._finish_worker()
            await _stop_task(self.reader)

    async def _read(self) -> None:
        """Handle client messages until the socket closes, idles out or a handler says stop."""
        idle = self.sim.config.idle_timeout
        while True:
            try:
                message = await self.ws.receive(timeout=idle)
            except TimeoutError:
                if self.generating or not self.queue.empty():
                    continue
                _LOGGER.debug("Closing a socket idle for %g s", idle)
                await self.ws.close(code=WSCloseCode.OK, message=b"idle timeout")
                return
            if message.type in (WSMsgType.CLOSE, WSMsgType.CLOSING, WSMsgType.CLOSED):
                return
            if not await self._on_message(message):
                return

    async def _finish_worker(self) -> None:
        """Let a closing worker finish its close, otherwise cancel it."""
        assert self.worker is not None
        try:
            if not self.worker_closing:
                self.worker.cancel()
            await asyncio.wait({self.worker})
        finally:
            await _stop_task(self.worker)

    async def shutdown(self) -> None:
        """Close the socket for sim.stop(): politely if possible, else abort it."""
        if self.worker is not None:
            await _stop_task(self.worker)
        closed = False
        if not self.ws.closed:
            try:
                async with asyncio.timeout(_STOP_CLOSE_TIMEOUT):
                    closed = await self.ws.close(
                        code=WSCloseCode.GOING_AWAY, message=b"Server shutdown"
                    )
            except TimeoutError:
                pass
        if not closed:
            # Aborting after a polite close would discard the close frame still buffered.
            self.abort()

    def abort(self) -> None:
        """Drop the TCP connection without a close frame."""
        self.session.closed = True
        if (transport := self.request.transport) is not None:
            transport.abort()

    async def drop(self) -> None:
        """Drop the connection once what was sent has left (a fault, not a lost write buffer)."""
        if (transport := self.request.transport) is not None:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(_STOP_CLOSE_TIMEOUT):
                    # Polled: asyncio has no event for an empty write buffer.
                    while transport.get_write_buffer_size():  # noqa: ASYNC110
                        await asyncio.sleep(0.001)
        self.abort()

    async def send_json(self, payload: dict[str, Any]) -> None:
        """Send one JSON text frame."""
        await self.ws.send_json(payload)

    async def send_error(self, error: ApiError) -> None:
        """Send an error frame in the configured shape; WS frames carry an int errorCode."""
        if self.sim.config.error_shape == "message":
            await self.send_json({"type": "error", "message": error.message})
        else:
            await self.send_json(
                {"type": "error", "errorCode": error.code, "errorMessage": error.message}
            )

    async def close(self, code: int = WSCloseCode.OK) -> None:
        """Close the socket from the worker, waiting for the client's close frame.

        The reader stops first: a close() that interrupts a waiting receive() drops the TCP
        connection at once, and the client's close reply then meets a closed socket, which
        resets the connection and can destroy audio the client has not read yet.
        """
        self.worker_closing = True
        if self.reader is not None and self.reader is not asyncio.current_task():
            self.reader.cancel()
            await asyncio.wait({self.reader})
        await self.ws.close(code=code)

    async def _fail(self, error: ApiError) -> bool:
        """Stop generating, send an error frame and close; returns False to end the reader."""
        if self.worker is not None:
            await _stop_task(self.worker)
        try:
            await self.send_error(error)
            await self.ws.close(code=WSCloseCode.OK)
        except ConnectionError:
            _LOGGER.debug("Client went away before the error frame")
        return False

    async def _on_message(self, message: WSMessage) -> bool:
        """Handle one client frame; returns False when the reader must stop."""
        if message.type is WSMsgType.BINARY:
            return await self._fail(_protocol_error("Binary frames are not supported"))
        if message.type is not WSMsgType.TEXT:
            return message.type is not WSMsgType.ERROR
        try:
            payload = message.json()
        except ValueError:
            return await self._fail(_protocol_error("Invalid message: not JSON"))
        if not isinstance(payload, dict):
            return await self._fail(_protocol_error("Invalid message: not a JSON object"))
        self.session.messages.append(payload)
        if self.session.client_sent_close:
            # After closeConnection the client only waits for the pending audio.
            return True
        match payload.get("type"):
            case "initConnection" if not self.initialized:
                return await self._on_init(payload)
            case "text":
                return await self._on_text(payload)
            case "closeConnection":
                self.session.client_sent_close = True
                if not self.initialized:
                    await self.ws.close(code=WSCloseCode.OK)
                    return False
                self.queue.put_nowait(None)
        # Unknown message types (and a repeated initConnection) are ignored.
        return True

    async def _on_init(self, payload: dict[str, Any]) -> bool:
        """Authenticate and validate initConnection, then confirm it."""
        self.session.init = payload
        try:
            sample_rate = self._validate_init(payload)
            key = self.session.query_key or self.session.header_key or payload.get("x_api_key")
            if not self.sim.take_slot(str(key)):
                raise _rate_limit_error()
            self.slot_key = str(key)
        except ApiError as error:
            return await self._fail(error)
        self.sample_rate = sample_rate
        self.initialized = True
        await self.send_json({"type": "connectionInitialized"})
        if self.sim.fault is Fault.MALFORMED_JSON:
            await self.ws.send_str('{"audio": "AAAA", "sampleRate": 24000, "isFinal": fal')
        return True

    def _validate_init(self, payload: dict[str, Any]) -> int:
        """Check the key, the faults and the settings; returns the sample rate."""
        config = self.sim.config
        init_key = payload.get("x_api_key") if config.accept_init_key else None
        if init_key is not None and (
            not isinstance(init_key, str) or init_key not in config.api_keys
        ):
            raise _auth_error()
        if not self.authenticated and init_key is None:
            raise _auth_error()
        fault = self.sim.fault
        model_id = payload.get("model_id", DEFAULT_WS_MODEL)
        voice_id = payload.get("voice_id")
        if fault is Fault.INVALID_KEY_FRAME:
            raise _auth_error()
        if (error := _fault_error(fault, model_id, voice_id)) is not None:
            raise error
        _check_catalogue(config, model_id, voice_id)
        settings = payload.get("voice_settings")
        if settings is None:
            settings = {}
        if not isinstance(settings, dict):
            raise _invalid("voice_settings must be an object")
        _number(settings.get("stability"), "stability", 0.0, 1.0, 0.5)
        _number(settings.get("similarity_boost"), "similarity_boost", 0.0, 1.0, 0.75)
        _number(settings.get("speed"), "speed", 0.7, 1.2, 1.0)
        output_format = payload.get("output_format", DEFAULT_OUTPUT_FORMAT)
        if not isinstance(output_format, str) or output_format not in OUTPUT_FORMATS:
            raise _invalid(f"Unsupported output_format: {output_format}")
        return OUTPUT_FORMATS[output_format]

    async def _on_text(self, payload: dict[str, Any]) -> bool:
        """Buffer text and queue a generation when the client triggers or flushes."""
        if not self.initialized:
            return await self._fail(_protocol_error("initConnection must be the first message"))
        text = payload.get("text", "")
        if not isinstance(text, str):
            return await self._fail(_invalid("text must be a string"))
        if text:
            if not self.buffer:
                self.buffer_start = len(self.session.text)
            self.buffer += text
            self.session.text += text
        flush = payload.get("flush") is True
        if flush or (payload.get("try_trigger_generation") is True and self.buffer):
            # An empty flush still marks the end of input, so "end" gets its final frame.
            self.queue.put_nowait(_Generation(self.buffer, self.buffer_start, flush))
            self.buffer = ""
        return True

    async def _work(self) -> None:
        """Process generations strictly in order until closed."""
        try:
            while (generation := await self.queue.get()) is not None:
                self.generating = True
                await self._generate(generation)
                self.generating = False
            await self.close(WSCloseCode.OK)
        except _SessionOverError:
            pass
        except ConnectionError:
            _LOGGER.debug("Client went away during a generation")
        except SpeechError:
            # A broken espeak-ng/ffmpeg is the service failing, not the simulator crashing.
            _LOGGER.exception("Speech synthesis failed")
            await self.send_error(_internal_error())
            await self.close(WSCloseCode.OK)

    async def _generate(self, generation: _Generation) -> None:
        """Send one generation's audio and final frame, applying the current fault."""
        config = self.sim.config
        fault = self.sim.fault
        if fault is Fault.SILENT:
            await _wait_forever()
        if generation.text:
            await self._send_audio(generation, fault)
            self.sim.charge("websocket", (self.session.init or {}).get("model_id"), generation.text)
        style = config.final_style
        send_final = style in ("batch", "inside", "duplicate") or (
            style == "end" and generation.flush
        )
        if send_final:
            for _ in range(2 if style == "duplicate" else 1):
                await self.send_json({"audio": "", "sampleRate": self.sample_rate, "isFinal": True})
        if config.close_after_final and generation.flush and (send_final or style == "never"):
            await self.close(WSCloseCode.OK)
            raise _SessionOverError

    async def _send_audio(self, generation: _Generation, fault: Fault | None) -> None:
        """Send the audio frames of one generation with the configured pacing."""
        config = self.sim.config
        if fault is Fault.WALLET_EMPTY:
            await self._error_and_close(_wallet_error())
        if fault is Fault.WALLET_EMPTY_THEN_DROP:
            await self.send_error(_wallet_error())
            await self.drop()
            raise _SessionOverError
        if config.first_audio_delay > 0:
            await asyncio.sleep(config.first_audio_delay)
        if fault is Fault.UNKNOWN_MESSAGE_TYPE:
            await self.send_json(
                {"type": "sessionStats", "charactersProcessed": len(generation.text)}
            )
        pcm = await self.sim.synthesize(generation.text, self.sample_rate, generation.start)
        chunks = split_chunks(pcm, config.chunk_bytes, odd=fault is Fault.ODD_BYTE_CHUNKS)
        midstream = fault is not None and fault.midstream
        for number, chunk in enumerate(chunks):
            if midstream and self.frames_sent >= config.fault_after_chunks:
                await self._midstream_fault(fault)
            if number:
                await self.sim.pace(len(chunks[number - 1]), self.sample_rate)
            if number == 0 and fault is Fault.BINARY_FRAME:
                await self.ws.send_bytes(chunk)
            elif number == 0 and fault is Fault.AUDIO_NOT_BASE64:
                await self.send_json(
                    {"audio": "%%not*base64%%", "sampleRate": self.sample_rate, "isFinal": False}
                )
            else:
                audio = base64.b64encode(chunk).decode("ascii")
                # "inside": the frame that ends a batch carries isFinal, more audio follows.
                inside_final = (
                    config.final_style == "inside"
                    and (number + 1) % INSIDE_BATCH_FRAMES == 0
                    and number + 1 < len(chunks)
                )
                await self.send_json(
                    {"audio": audio, "sampleRate": self.sample_rate, "isFinal": inside_final}
                )
                self.session.audio_bytes_sent += len(chunk)
            self.frames_sent += 1
        if midstream:
            # Audio shorter than fault_after_chunks frames still gets its fault.
            await self._midstream_fault(fault)

    async def _midstream_fault(self, fault: Fault | None) -> None:
        """Apply drop_mid_audio, stall or wallet_empty_midstream."""
        match fault:
            case Fault.DROP_MID_AUDIO:
                await self.drop()
                raise _SessionOverError
            case Fault.STALL:
                await _wait_forever()
            case _:
                await self._error_and_close(_wallet_error())

    async def _error_and_close(self, error: ApiError) -> None:
        """Send an error frame from the worker, close, and stop the worker."""
        await self.send_error(error)
        await self.close(WSCloseCode.OK)
        raise _SessionOverError


# The fault of the WebSocket connection being served: set in its handler, and so seen by the
# generation worker the handler starts (tasks copy the context they are created in).
_CONNECTION_FAULT: ContextVar[Fault | None] = ContextVar(
    "faseeh_sim_connection_fault", default=None
)


class FaseehSimulator:
    """The simulated Faseeh service; `await start()` then use `url`."""

    def __init__(self, config: SimulatorConfig | None = None) -> None:
        """Create a stopped simulator."""
        self.config = config if config is not None else SimulatorConfig()
        self.ws_sessions: list[WsSession] = []
        self.http_requests: list[HttpRequest] = []
        self.stt_sessions: list[SttSession] = []
        self.stt_listeners: set[Any] = set()
        self.charges: list[Charge] = []
        # One fault (or None) for each of the next WebSocket connections, in the order they
        # arrive; config.fault applies once it is empty. Lets overlapping requests differ.
        self.connection_faults: deque[str | None] = deque()
        self._session_started = asyncio.Event()
        self._runner: web.AppRunner | None = None
        self._url: str | None = None
        self._connections: set[_Connection] = set()
        self._handlers: set[asyncio.Task[Any]] = set()
        self._active: dict[str, int] = {}

    @property
    def url(self) -> str:
        """Return the base URL, e.g. http://127.0.0.1:PORT (no trailing slash)."""
        if self._url is None:
            raise RuntimeError("simulator is not running")
        return self._url

    @property
    def port(self) -> int:
        """Return the bound TCP port."""
        return int(self.url.rsplit(":", 1)[1])

    @property
    def ws_url(self) -> str:
        """Return the WebSocket URL without a key."""
        return f"ws://{HOST}:{self.port}{WS_PATH}"

    def take_slot(self, key: str) -> bool:
        """Count a synthesis for ``key``; False when max_sessions are already running."""
        limit = self.config.max_sessions
        if limit is not None and self._active.get(key, 0) >= limit:
            return False
        self._active[key] = self._active.get(key, 0) + 1
        return True

    def release_slot(self, key: str) -> None:
        """A synthesis of ``key`` ended."""
        self._active[key] -= 1

    @property
    def fault(self) -> Fault | None:
        """Return the fault of the connection being served (or config.fault), validated."""
        return Fault.parse(_CONNECTION_FAULT.get() or self.config.fault)

    async def sessions_started(self, count: int, within: float = 2.0) -> bool:
        """Wait until ``count`` WebSocket sessions have reached the server; False on timeout."""
        try:
            async with asyncio.timeout(within):
                while len(self.ws_sessions) < count:
                    self._session_started.clear()
                    await self._session_started.wait()
        except TimeoutError:
            return False
        return True

    @property
    def syntheses(self) -> list[WsSession]:
        """The WebSocket sessions that asked for speech (sent initConnection), not spares."""
        return [session for session in self.ws_sessions if session.init is not None]

    def open_sessions(self) -> int:
        """WebSocket sessions the server has not yet seen end."""
        return sum(not session.closed for session in self.ws_sessions)

    async def all_sessions_closed(self, within: float = 2.0) -> bool:
        """Wait until the server has seen every WebSocket session end; False if one lingers."""
        try:
            async with asyncio.timeout(within):
                # Sessions are plain records, polled: no event to wait on.
                while not all(session.closed for session in self.ws_sessions):  # noqa: ASYNC110
                    await asyncio.sleep(0.01)
        except TimeoutError:
            return False
        return True

    def reset_records(self) -> None:
        """Forget every recorded WebSocket session, REST request and charge."""
        self.ws_sessions.clear()
        self.http_requests.clear()
        self.stt_sessions.clear()
        self.charges.clear()

    def charge(self, transport: Literal["websocket", "http"], model_id: Any, text: str) -> None:
        """Bill a completed generation: its characters (code points) at its model's price."""
        model_id = model_id or DEFAULT_WS_MODEL
        cost = next(model["cost"] for model in self.config.models if model["model_id"] == model_id)
        self.charges.append(Charge(transport, model_id, len(text), cost))

    async def start(self) -> None:
        """Bind 127.0.0.1 and start serving."""
        if self._runner is not None:
            raise RuntimeError("simulator already running")
        app = web.Application(middlewares=[self._track_handler])
        app.router.add_get(WS_PATH, self._handle_ws)
        app.router.add_get(LISTEN_PATH, self._handle_listen)
        app.router.add_get(f"{API_PREFIX}/voices", self._handle_voices)
        app.router.add_get(f"{API_PREFIX}/models", self._handle_models)
        app.router.add_post(f"{API_PREFIX}/text-to-speech/{{model_id}}", self._handle_tts)
        # handler_cancellation lets a vanished client cancel its handler at once.
        runner = web.AppRunner(
            app,
            handle_signals=False,
            access_log=None,
            shutdown_timeout=_STOP_CLOSE_TIMEOUT,
            handler_cancellation=True,
        )
        await runner.setup()
        site = web.TCPSite(runner, HOST, self.config.port)
        try:
            await site.start()
        except BaseException:
            await runner.cleanup()
            raise
        self._runner = runner
        port = runner.addresses[0][1]
        self._url = f"http://{HOST}:{port}"
        _LOGGER.debug("Faseeh simulator listening on %s", self._url)

    async def stop(self) -> None:
        """Close every socket, end every handler and stop listening."""
        runner, self._runner = self._runner, None
        if runner is None:
            return
        await asyncio.gather(*(connection.shutdown() for connection in list(self._connections)))
        await asyncio.gather(
            *(shutdown_listener(listener) for listener in list(self.stt_listeners))
        )
        for task in list(self._handlers):
            task.cancel()
        if self._handlers:
            await asyncio.wait(list(self._handlers))
        await runner.cleanup()
        self._url = None

    async def __aenter__(self) -> Self:
        """Start the simulator."""
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        """Stop the simulator."""
        await self.stop()

    async def synthesize(self, text: str, sample_rate: int, start: int = 0) -> bytes:
        """Return PCM16 LE mono for text in the configured audio mode."""
        if self.config.audio == "speech":
            return await speech_pcm(text, sample_rate)
        return deterministic_pcm(text, sample_rate, start)

    async def pace(self, sent_bytes: int, sample_rate: int) -> None:
        """Wait as long as realtime_factor demands after sending `sent_bytes` of audio."""
        factor = self.config.realtime_factor
        if factor is None or factor <= 0:
            # Unthrottled, but let the client and other sessions run.
            await asyncio.sleep(0)
            return
        await asyncio.sleep(sent_bytes / 2 / sample_rate / factor)

    @web.middleware
    async def _track_handler(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        """Remember running handlers so stop() can end them."""
        task = asyncio.current_task()
        assert task is not None
        self._handlers.add(task)
        try:
            return await handler(request)
        finally:
            self._handlers.discard(task)

    async def _handle_ws(self, request: web.Request) -> web.StreamResponse:
        """Serve GET /api/v1/websocket/text-to-speech."""
        if self.connection_faults:
            _CONNECTION_FAULT.set(Fault.parse(self.connection_faults.popleft()))
        session = WsSession(
            query_key=request.query.get("x-api-key"),
            header_key=request.headers.get("x-api-key"),
        )
        self.ws_sessions.append(session)
        self._session_started.set()
        try:
            return await self._serve_ws(request, session)
        finally:
            session.closed = True

    async def _handle_listen(self, request: web.Request) -> web.StreamResponse:
        """Serve GET /api/v1/listen (speech-to-text)."""
        return await serve_listen(self, request)

    async def _serve_ws(self, request: web.Request, session: WsSession) -> web.StreamResponse:
        """Authenticate the handshake, then run the socket."""
        config = self.config
        fault = self.fault
        delay = SLOW_HANDSHAKE_DELAY if fault is Fault.SLOW_HANDSHAKE else config.handshake_delay
        if delay > 0:
            await asyncio.sleep(delay)
        if fault is Fault.RATE_LIMIT_HANDSHAKE:
            return _rest_error(_rate_limit_error())
        if fault is Fault.INVALID_KEY_HANDSHAKE:
            return _rest_error(_auth_error())
        # A key on a channel the config refuses is ignored, as if it was not sent.
        handshake_key = next(
            (
                key
                for key, accepted in (
                    (session.query_key, config.accept_query_key),
                    (session.header_key, config.accept_header_key),
                )
                if accepted and key is not None
            ),
            None,
        )
        if handshake_key is not None and handshake_key not in config.api_keys:
            return _rest_error(_auth_error())
        if handshake_key is None and not config.accept_init_key:
            return _rest_error(_auth_error())
        ws = web.WebSocketResponse(compress=False, max_msg_size=16 * 1024 * 1024)
        if not ws.can_prepare(request).ok:
            return _rest_error(_protocol_error("WebSocket upgrade expected"))
        await ws.prepare(request)
        connection = _Connection(
            self, request, ws, session, authenticated=handshake_key is not None
        )
        self._connections.add(connection)
        try:
            await connection.run()
        finally:
            self._connections.discard(connection)
        return ws

    async def _record(self, request: web.Request) -> HttpRequest:
        """Record a REST request; an unreadable body is recorded as None."""
        body: Any = None
        if request.can_read_body:
            try:
                body = await request.json()
            except ValueError:
                body = None
        record = HttpRequest(
            method=request.method,
            path=request.path,
            api_key=request.headers.get("x-api-key"),
            json=body,
        )
        self.http_requests.append(record)
        return record

    def _rest_auth_error(self, record: HttpRequest) -> ApiError | None:
        """Return the 401 error if the REST key is missing, wrong or faulted."""
        if self.fault is Fault.INVALID_KEY_HANDSHAKE or record.api_key not in self.config.api_keys:
            return _auth_error()
        return None

    async def _handle_voices(self, request: web.Request) -> web.StreamResponse:
        """Serve GET /api/v1/voices."""
        record = await self._record(request)
        if (error := self._rest_auth_error(record)) is not None:
            return _rest_error(error)
        return web.json_response(self.config.voices)

    async def _handle_models(self, request: web.Request) -> web.StreamResponse:
        """Serve GET /api/v1/models."""
        record = await self._record(request)
        if (error := self._rest_auth_error(record)) is not None:
            return _rest_error(error)
        return web.json_response(self.config.models)

    async def _handle_tts(self, request: web.Request) -> web.StreamResponse:
        """Serve POST /api/v1/text-to-speech/{model_id}."""
        record = await self._record(request)
        try:
            if (error := self._rest_auth_error(record)) is not None:
                raise error
            text, sample_rate, streaming = self._validate_tts(
                request.match_info["model_id"], record.json
            )
        except ApiError as error:
            return _rest_error(error)
        key = str(record.api_key)
        if not self.take_slot(key):
            return _rest_error(_rate_limit_error())
        try:
            return await self._synthesize_rest(request, text, sample_rate, streaming=streaming)
        finally:
            self.release_slot(key)

    async def _synthesize_rest(
        self, request: web.Request, text: str, sample_rate: int, *, streaming: bool
    ) -> web.StreamResponse:
        """Answer a valid synthesis request: streamed PCM or a WAV file."""
        if streaming:
            return await self._stream_tts(request, text, sample_rate)
        if self.config.first_audio_delay > 0:
            await asyncio.sleep(self.config.first_audio_delay)
        try:
            pcm = await self.synthesize(text, sample_rate)
        except SpeechError:
            _LOGGER.exception("Speech synthesis failed")
            return _rest_error(_internal_error())
        self.charge("http", request.match_info["model_id"], text)
        return web.Response(body=pcm_to_wav(pcm, sample_rate), content_type="audio/wav")

    def _validate_tts(self, model_id: str, body: Any) -> tuple[str, int, bool]:
        """Check a synthesis request; returns (text, sample_rate, streaming)."""
        if not isinstance(body, dict):
            raise _invalid("Request body must be a JSON object")
        voice_id = body.get("voice_id")
        fault = self.fault
        if fault in (Fault.WALLET_EMPTY, Fault.WALLET_EMPTY_THEN_DROP):
            raise _wallet_error()
        if (error := _fault_error(fault, model_id, voice_id)) is not None:
            raise error
        _check_catalogue(self.config, model_id, voice_id)
        text = body.get("text")
        if not isinstance(text, str) or not text.strip():
            raise _invalid("text is required")
        _number(body.get("stability"), "stability", 0.0, 1.0, 0.5)
        _number(body.get("speed"), "speed", 0.7, 1.2, 1.0)
        sample_rate = body.get("sample_rate", DEFAULT_REST_SAMPLE_RATE)
        low, high = REST_SAMPLE_RATE_RANGE
        if isinstance(sample_rate, bool) or not isinstance(sample_rate, int):
            raise _invalid(f"sample_rate must be an integer between {low} and {high}")
        if not low <= sample_rate <= high:
            raise _invalid(f"sample_rate must be an integer between {low} and {high}")
        return text, sample_rate, body.get("streaming") is True

    async def _stream_tts(
        self, request: web.Request, text: str, sample_rate: int
    ) -> web.StreamResponse:
        """Stream raw PCM in chunk_bytes pieces with the configured pacing."""
        response = web.StreamResponse(
            headers={
                "Content-Type": f"audio/raw;codec=pcm16;rate={sample_rate};channels=1",
                "Cache-Control": "no-cache",
            }
        )
        response.enable_chunked_encoding()
        config = self.config
        if config.first_audio_delay > 0:
            await asyncio.sleep(config.first_audio_delay)
        try:
            pcm = await self.synthesize(text, sample_rate)
        except SpeechError:
            _LOGGER.exception("Speech synthesis failed")
            return _rest_error(_internal_error())
        await response.prepare(request)
        try:
            chunks = split_chunks(pcm, config.chunk_bytes)
            for number, chunk in enumerate(chunks):
                if number:
                    await self.pace(len(chunks[number - 1]), sample_rate)
                await response.write(chunk)
            await response.write_eof()
            self.charge("http", request.match_info["model_id"], text)
        except ConnectionError:
            _LOGGER.debug("Client went away during a streamed synthesis")
        return response


__all__ = [
    "DEFAULT_API_KEY",
    "WS_PATH",
    "ApiError",
    "Charge",
    "FaseehSimulator",
    "HttpRequest",
    "SimulatorConfig",
    "WsSession",
]


# Scripts and the harness wait for this exact first stdout line before using the simulator.
URL_LINE_PREFIX = "FASEEH_URL="


async def serve_until_signalled(config: SimulatorConfig) -> None:
    """Serve, print the URL line at once, and stop cleanly on SIGINT or SIGTERM."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    async with FaseehSimulator(config) as sim:
        print(f"{URL_LINE_PREFIX}{sim.url}", flush=True)
        await stop.wait()
