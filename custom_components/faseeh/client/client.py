"""The Faseeh client: catalogue and key check over REST, speech over the WebSocket.

The API key goes in the ``x-api-key`` header for REST and, for the WebSocket, both in the
``x-api-key`` query parameter and as ``x_api_key`` in initConnection (docs/protocol.md §2). It
never appears in a log line, a logged URL or an exception: URLs are logged without their query
string, aiohttp's exceptions (whose text holds the request URL) are never chained, and the
service's messages are scrubbed of the key.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator, AsyncIterable, AsyncIterator, Iterator
from contextlib import aclosing, asynccontextmanager, contextmanager
from functools import partial
import json
import logging
import re
from typing import Any, Final
from urllib.parse import quote

import aiohttp

from .abandon import ClosedWithConsumer
from .end_of_stream import Decision
from .errors import (
    ConnectionLostError,
    FaseehError,
    ProtocolError,
    RateLimitError,
    ServiceTimeoutError,
    ServiceUnavailableError,
    VoiceNotFoundError,
    error_from_body,
    map_error,
)
from .feed import TextFeed
from .models import (
    DEFAULT_OUTPUT_FORMAT,
    AudioChunk,
    Model,
    SpeechRequest,
    Timeouts,
    Voice,
    VoiceSettings,
)
from .spare import SPARE_KEEP_FOR, SpareSocket
from .stream import WebSocket, WsSynthesis
from .transport import Transport, TransportMemory

_LOGGER = logging.getLogger(__name__)

API_PATH: Final = "/api/v1"
WS_PATH: Final = "/api/v1/websocket/text-to-speech"
DEFAULT_SETTINGS: Final = VoiceSettings()
DEFAULT_TIMEOUTS: Final = Timeouts()
# "Too many at once" before any audio is asked again this many times (Timeouts.busy_retry).
RATE_LIMIT_RETRIES: Final = 3
# What the background probe of a silent socket speaks (billed: a few characters per probe).
SOCKET_PROBE_TEXT: Final = "مرحبا"

_CONTENT_TYPE_RATE: Final = re.compile(r"rate=(\d+)")
_dumps = partial(json.dumps, ensure_ascii=False)


class PcmAssembler:
    """Pass on whole 16-bit samples only, carrying an odd byte over (docs/protocol.md §7)."""

    def __init__(self) -> None:
        """Start with nothing carried over."""
        self._odd = b""
        self.total = 0

    def feed(self, data: bytes) -> bytes:
        """Return the whole samples of the carried byte plus ``data``; keep any odd byte."""
        if self._odd:
            data = self._odd + data
        whole = len(data) - len(data) % 2
        self._odd = data[whole:]
        self.total += whole
        return data[:whole]

    def finish(self) -> None:
        """Drop an odd byte left at the end of the stream."""
        if self._odd:
            _LOGGER.debug("Dropping an odd trailing byte at the end of the audio")
            self._odd = b""


class FaseehClient:
    """Client for the Faseeh (Munsit) text-to-speech API."""

    def __init__(
        self,
        session: aiohttp.ClientSession,
        api_key: str,
        base_url: str,
        *,
        timeouts: Timeouts = DEFAULT_TIMEOUTS,
        transport: TransportMemory | None = None,
        spare_keep_for: float = SPARE_KEEP_FOR,
    ) -> None:
        """Use ``session`` (HA's shared one in production) for every request.

        ``spare_keep_for``: how long a spare socket opened by ``warm_up`` waits unused.
        """
        self._session = session
        self._api_key = api_key
        self._timeouts = timeouts
        self._base_url = base_url.rstrip("/")
        self._api_url = f"{self._base_url}{API_PATH}"
        self._ws_url = re.sub(r"^http", "ws", self._base_url) + WS_PATH
        self._transport = transport if transport is not None else TransportMemory()
        self._probe: asyncio.Task[None] | None = None
        self._spare = SpareSocket(self._connect, keep_for=spare_keep_for)

    def __repr__(self) -> str:
        """Return a repr without the key."""
        return f"{type(self).__name__}(base_url={self._base_url!r})"

    @property
    def base_url(self) -> str:
        """The service's base URL."""
        return self._base_url

    # REST.

    async def list_voices(self) -> list[Voice]:
        """Return the account's voices (GET /voices)."""
        with self._scrubbed():
            items = await self._get_list("/voices", "voices")
        voices = [voice for item in items if (voice := _parse_voice(item)) is not None]
        _LOGGER.debug("Listed %d voices", len(voices))
        return voices

    async def list_models(self) -> list[Model]:
        """Return the models and their cost per character (GET /models)."""
        with self._scrubbed():
            items = await self._get_list("/models", "models")
        models = [model for item in items if (model := _parse_model(item)) is not None]
        _LOGGER.debug("Listed %d models", len(models))
        return models

    async def validate_key(self) -> None:
        """Raise AuthenticationError (or another FaseehError) unless the key works."""
        with self._scrubbed():
            await self._get_list("/models", "models")

    # Speech.

    @property
    def transport(self) -> TransportMemory:
        """Which transport speech takes for this account, and why (for diagnostics)."""
        return self._transport

    @property
    def spare(self) -> SpareSocket:
        """The spare socket kept for the next synthesis."""
        return self._spare

    def warm_up(self) -> None:
        """Speech is likely soon: open a spare socket in the background (call in the loop)."""
        if self._transport.transport is Transport.WEBSOCKET:
            self._spare.warm_up()

    def stream_speech(
        self,
        text: str | AsyncIterable[str],
        *,
        voice_id: str,
        model_id: str,
        settings: VoiceSettings = DEFAULT_SETTINGS,
        output_format: str = DEFAULT_OUTPUT_FORMAT,
    ) -> AsyncGenerator[AudioChunk]:
        """Yield PCM16 audio for ``text`` (a str or an async iterable of deltas) as it arrives.

        See ``speak``; this builds the SpeechRequest from its parts (validated when iterated).
        """
        return ClosedWithConsumer(
            self._speak_parts(text, voice_id, model_id, settings, output_format)
        )

    async def _speak_parts(
        self,
        text: str | AsyncIterable[str],
        voice_id: str,
        model_id: str,
        settings: VoiceSettings,
        output_format: str,
    ) -> AsyncGenerator[AudioChunk]:
        with self._scrubbed():
            request = SpeechRequest(voice_id, model_id, settings, output_format)
        async with aclosing(self._speak(text, request)) as chunks:
            async for chunk in chunks:
                yield chunk

    def speak(
        self, text: str | AsyncIterable[str], request: SpeechRequest
    ) -> AsyncGenerator[AudioChunk]:
        """Yield PCM16 audio for ``text`` (a str or an async iterable of deltas) as it arrives.

        Uses the WebSocket while it delivers audio for this account; if it stays silent (or
        is lost before any audio), the text goes over HTTP streaming at once, one request per
        segment, and so do later requests (transport.py). Nothing is retried once audio has
        been yielded. Empty or invisible-only text is refused before any connection.
        Wrap in ``contextlib.aclosing``; a consumer task that ends without closing it closes
        it at once (abandon.py).
        """
        return ClosedWithConsumer(self._speak(text, request))

    async def _speak(
        self, text: str | AsyncIterable[str], request: SpeechRequest
    ) -> AsyncGenerator[AudioChunk]:
        with self._scrubbed():
            async with TextFeed(text) as feed:
                await feed.wait_speakable()
                handed_over = self._transport.transport is Transport.HTTP
                if not handed_over:
                    pcm = PcmAssembler()
                    retries = 0
                    while True:
                        try:
                            async with aclosing(
                                self._speak_ws(feed, request, pcm, spare=not retries)
                            ) as chunks:
                                async for chunk in chunks:
                                    yield chunk
                            break
                        except _RefusedBeforeAudioError as refused:
                            # Too many at once, before any audio: nothing was spoken or
                            # billed, and the slot of a synthesis that has just ended may
                            # not be free yet. Asked again as HTTP segments are.
                            if retries >= RATE_LIMIT_RETRIES:
                                raise refused.error from None
                            if not refused.on_spare:
                                await self._busy_backoff(retries)
                            retries += 1
                    handed_over = not pcm.total
                if handed_over:
                    async with aclosing(self._speak_http(feed, request)) as chunks:
                        async for chunk in chunks:
                            yield chunk
                    self._maybe_probe_socket(request)
            _LOGGER.debug("Speech complete")

    async def close(self) -> None:
        """Close the spare socket and stop a background probe (the entry is unloading)."""
        await self._spare.close()
        if (probe := self._probe) is not None:
            probe.cancel()
            await asyncio.gather(probe, return_exceptions=True)

    async def _speak_ws(
        self, feed: TextFeed, request: SpeechRequest, pcm: PcmAssembler, *, spare: bool = True
    ) -> AsyncGenerator[AudioChunk]:
        """Yield the socket's audio; yield nothing if the socket gives none (then HTTP speaks).

        Raises _RefusedBeforeAudioError for a 429 or 42901 before any audio (the spare is
        taken if ``spare``).
        """
        on_spare = False
        try:
            async with self._socket(request, spare=spare) as (ws, on_spare):
                try:
                    async with WsSynthesis(ws, feed, self._timeouts) as synthesis:
                        while (frame := await synthesis.next_audio()) is not None:
                            if not pcm.total:
                                self._transport.socket_delivered()
                            if data := pcm.feed(frame.pcm):
                                yield AudioChunk(data, frame.sample_rate or request.sample_rate)
                except ConnectionLostError:
                    # Lost before any audio: an error frame may have been lost with the
                    # connection (a send into a closed socket resets it), so HTTP asks again.
                    if pcm.total:
                        raise
                    lost = True
                else:
                    lost = synthesis.outcome is Decision.LOST
                # Leaving this block closes the socket: a silent socket's generation is
                # abandoned before any HTTP audio flows, so it cannot complete and be billed.
        except RateLimitError as err:
            self._spare.pause("the service refused a synthesis as too many at once")
            if pcm.total:
                raise
            raise _RefusedBeforeAudioError(err, on_spare=on_spare) from None
        pcm.finish()
        if pcm.total:
            return
        if lost:
            # This text goes over HTTP; the socket is not given up for a connection lost once.
            _LOGGER.debug("WebSocket lost before any audio; HTTP takes the text")
            return
        reason = f"no audio {self._timeouts.socket_silence:g} s after the first text"
        _LOGGER.debug("WebSocket: %s; HTTP takes this text and the next ones", reason)
        self._transport.socket_failed(reason)
        await self._spare.discard()

    async def _speak_http(
        self, feed: TextFeed, request: SpeechRequest
    ) -> AsyncGenerator[AudioChunk]:
        """Stream each segment with its own POST, the next one opened while audio flows."""
        index = 0
        ahead = self._open_segment(feed, index, request, _already_set())
        try:
            while (response := await ahead) is not None:
                finished = asyncio.Event()
                # At most one request ahead, opened while this one's audio still flows.
                ahead = self._open_segment(feed, index + 1, request, finished)
                try:
                    async for chunk in self._read_http_audio(response, request):
                        yield chunk
                finally:
                    response.release()
                    finished.set()
                index += 1
        finally:
            ahead.cancel()
            for result in await asyncio.gather(ahead, return_exceptions=True):
                if isinstance(result, aiohttp.ClientResponse):
                    result.release()

    def _open_segment(
        self, feed: TextFeed, index: int, request: SpeechRequest, previous: asyncio.Event
    ) -> asyncio.Task[aiohttp.ClientResponse | None]:
        """Start the POST of segment ``index`` (None once the text has no more segments)."""
        return asyncio.create_task(
            self._post_segment(feed, index, request, previous), name="faseeh-http-segment"
        )

    async def _post_segment(
        self, feed: TextFeed, index: int, request: SpeechRequest, previous: asyncio.Event
    ) -> aiohttp.ClientResponse | None:
        if (segment := await feed.segment(index)) is None:
            return None
        retries = 0
        while True:
            try:
                return await self._send_request(
                    "POST",
                    f"/text-to-speech/{quote(request.model_id, safe='')}",
                    limit=self._timeouts.connect + self._timeouts.first_audio,
                    json_body={
                        "voice_id": request.voice_id,
                        "text": segment,
                        "stability": request.settings.stability,
                        "speed": request.settings.speed,
                        "streaming": True,
                        "sample_rate": request.sample_rate,
                    },
                )
            except RateLimitError:
                # Nothing of this segment was spoken, so asking again bills nothing twice.
                # While our own previous request still streams, the limit may be ours: wait
                # for it without counting a retry.
                if not previous.is_set():
                    await previous.wait()
                    continue
                if retries >= RATE_LIMIT_RETRIES:
                    raise
                await self._busy_backoff(retries)
                retries += 1

    async def _read_http_audio(
        self, response: aiohttp.ClientResponse, request: SpeechRequest
    ) -> AsyncGenerator[AudioChunk]:
        """Yield the whole samples of one streamed HTTP response."""
        rate = _content_type_rate(response.headers.get("Content-Type", "")) or request.sample_rate
        pcm = PcmAssembler()
        read_timeout = self._timeouts.first_audio
        while data := await self._read_chunk(response, read_timeout):
            read_timeout = self._timeouts.idle
            if whole := pcm.feed(data):
                yield AudioChunk(whole, rate)
        pcm.finish()
        _LOGGER.debug("HTTP stream complete: %d bytes at %d Hz", pcm.total, rate)

    def _maybe_probe_socket(self, request: SpeechRequest) -> None:
        """Try the socket again in the background, at most once per retry period."""
        if not self._transport.probe_due() or self._probe is not None:
            return
        self._transport.probe_started()
        self._probe = asyncio.create_task(self._probe_socket(request), name="faseeh-ws-probe")
        self._probe.add_done_callback(self._probe_finished)

    def _probe_finished(self, task: asyncio.Task[None]) -> None:
        self._probe = None
        if not task.cancelled() and (error := task.exception()) is not None:
            _LOGGER.debug("The socket probe failed: %s", type(error).__name__)

    async def _probe_socket(self, request: SpeechRequest) -> None:
        """Speak a short probe text on the socket; its audio is thrown away."""
        with self._scrubbed():
            async with TextFeed(SOCKET_PROBE_TEXT) as feed:
                pcm = PcmAssembler()
                async with aclosing(self._speak_ws(feed, request, pcm)) as chunks:
                    async for _ in chunks:
                        pass
        _LOGGER.debug("Socket probe: %s", self._transport.choice.reason)

    # Internals.

    async def _busy_backoff(self, retries: int) -> None:
        """Wait before asking again after "too many at once": busy_retry, doubling each time."""
        await asyncio.sleep(self._timeouts.busy_retry * 2**retries)

    @contextmanager
    def _scrubbed(self) -> Iterator[None]:
        """Remove the key from any FaseehError leaving the block."""
        try:
            yield
        except FaseehError as err:
            err.scrub(self._api_key)
            raise

    def _transport_error(self, err: BaseException, action: str) -> FaseehError:
        """Map an aiohttp/OS/timeout error without its text (which can hold the URL)."""
        if isinstance(err, TimeoutError):
            return ServiceTimeoutError(f"Timed out {action} Faseeh at {self._base_url}")
        return ServiceUnavailableError(
            f"Error {action} Faseeh at {self._base_url} ({type(err).__name__})"
        )

    @asynccontextmanager
    async def _socket(
        self, request: SpeechRequest, *, spare: bool = True
    ) -> AsyncIterator[tuple[WebSocket, bool]]:
        """Take the spare or open a socket, send initConnection (reply not awaited); close.

        Yields the socket and whether it was the spare.
        """
        ws = await self._spare.take() if spare else None
        if ws is not None:
            try:
                await self._initialize(ws, request)
            except ConnectionLostError:
                # The service closed the spare just now: drop it quietly, connect afresh.
                await ws.close()
                ws = None
        from_spare = ws is not None
        if ws is None:
            ws = await self._connect()
        try:
            if not from_spare:
                await self._initialize(ws, request)
            yield ws, from_spare
        finally:
            await ws.close()
            _LOGGER.debug("WebSocket closed (code %s)", ws.close_code)

    async def _connect(self) -> WebSocket:
        """Open the speech WebSocket (TCP, TLS, upgrade), not initialised yet."""
        _LOGGER.debug("Connecting to %s", self._ws_url)
        try:
            async with asyncio.timeout(self._timeouts.connect):
                ws = await self._session.ws_connect(
                    self._ws_url,
                    params={"x-api-key": self._api_key},
                    timeout=aiohttp.ClientWSTimeout(ws_close=self._timeouts.final_grace),
                )
        except aiohttp.WSServerHandshakeError as err:
            raise _handshake_error(err.status) from None
        except (TimeoutError, aiohttp.ClientError, OSError) as err:
            raise self._transport_error(err, "connecting to") from None
        return ws

    async def _initialize(self, ws: WebSocket, request: SpeechRequest) -> None:
        settings = request.settings
        init: dict[str, Any] = {
            "type": "initConnection",
            "model_id": request.model_id,
            "voice_id": request.voice_id,
            "voice_settings": {
                "stability": settings.stability,
                "similarity_boost": settings.similarity_boost,
                "speed": settings.speed,
            },
            "output_format": request.output_format,
        }
        # The text follows at once: the reply (connectionInitialized or an error frame) is
        # read by the synthesis, so the first text costs no round trip of its own.
        _LOGGER.debug("Sending initConnection %s (and the key)", init)
        try:
            async with asyncio.timeout(self._timeouts.connect):
                await ws.send_json({**init, "x_api_key": self._api_key}, dumps=_dumps)
        except TimeoutError:
            raise ServiceTimeoutError("Timed out sending initConnection") from None
        except (aiohttp.ClientError, ConnectionError, RuntimeError) as err:
            raise ConnectionLostError(
                f"The connection to Faseeh was lost during initialisation ({type(err).__name__})"
            ) from None

    async def _read_chunk(self, response: aiohttp.ClientResponse, seconds: float) -> bytes:
        try:
            async with asyncio.timeout(seconds):
                return await response.content.readany()
        except TimeoutError:
            raise ServiceTimeoutError(
                f"Faseeh stopped sending audio (nothing for {seconds:g} s)"
            ) from None
        except aiohttp.ClientError as err:
            raise ConnectionLostError(
                f"The HTTP audio stream was interrupted ({type(err).__name__})"
            ) from None

    @asynccontextmanager
    async def _request(
        self,
        method: str,
        path: str,
        *,
        limit: float,
        json_body: dict[str, Any] | None = None,
        not_found: type[FaseehError] = VoiceNotFoundError,
    ) -> AsyncIterator[aiohttp.ClientResponse]:
        """Send a REST request; yield the 200 response, raise the mapped error otherwise."""
        response = await self._send_request(
            method, path, limit=limit, json_body=json_body, not_found=not_found
        )
        try:
            yield response
        finally:
            response.release()

    async def _send_request(
        self,
        method: str,
        path: str,
        *,
        limit: float,
        json_body: dict[str, Any] | None = None,
        not_found: type[FaseehError] = VoiceNotFoundError,
    ) -> aiohttp.ClientResponse:
        """Send a REST request; return the 200 response (the caller releases it)."""
        url = f"{self._api_url}{path}"
        _LOGGER.debug("%s %s", method, url)
        try:
            async with asyncio.timeout(limit):
                response = await self._session.request(
                    method,
                    url,
                    headers={"x-api-key": self._api_key},
                    json=json_body,
                    timeout=aiohttp.ClientTimeout(total=None, sock_connect=self._timeouts.connect),
                )
        except (TimeoutError, aiohttp.ClientError, OSError) as err:
            raise self._transport_error(err, "connecting to") from None
        _LOGGER.debug("HTTP %d from %s %s", response.status, method, url)
        if response.status == 200:
            return response
        try:
            raise await self._response_error(response, not_found)
        finally:
            response.release()

    async def _response_error(
        self, response: aiohttp.ClientResponse, not_found: type[FaseehError]
    ) -> FaseehError:
        try:
            async with asyncio.timeout(self._timeouts.idle):
                raw = await response.read()
        except TimeoutError, aiohttp.ClientError:
            raw = b""
        error = error_from_body(response.status, _decode_body(raw), not_found=not_found)
        _LOGGER.debug(
            "Faseeh error: HTTP %d, errorCode %s, %s",
            response.status,
            error.error_code,
            type(error).__name__,
        )
        return error

    async def _get_list(self, path: str, wrapper_key: str) -> list[Any]:
        limit = self._timeouts.connect + self._timeouts.idle
        async with self._request(
            "GET", path, limit=limit, not_found=ServiceUnavailableError
        ) as response:
            try:
                async with asyncio.timeout(self._timeouts.idle):
                    data = await response.json(content_type=None)
            except (TimeoutError, aiohttp.ClientError) as err:
                raise self._transport_error(err, "reading from") from None
            except ValueError:
                raise ProtocolError(f"GET {path} did not return JSON") from None
        if isinstance(data, dict):
            data = data.get(wrapper_key, data.get("data"))
        if not isinstance(data, list):
            raise ProtocolError(f"GET {path} did not return a list")
        return data


class _RefusedBeforeAudioError(Exception):
    """The service refused a synthesis as too many at once, before any of its audio."""

    def __init__(self, error: RateLimitError, *, on_spare: bool) -> None:
        """Carry the service's own error, and whether the refused socket was the spare."""
        super().__init__(str(error))
        self.error = error
        self.on_spare = on_spare


def _handshake_error(status: int) -> FaseehError:
    if status < 400:
        return ProtocolError(f"Unexpected WebSocket handshake response (HTTP {status})")
    return map_error(status=status, not_found=ServiceUnavailableError)


def _content_type_rate(content_type: str) -> int | None:
    match = _CONTENT_TYPE_RATE.search(content_type)
    return int(match.group(1)) if match and len(match.group(1)) <= 6 else None


def _decode_body(raw: bytes) -> Any:
    try:
        return json.loads(raw)
    except ValueError:
        return raw.decode("utf-8", "replace").strip() or None


def _optional_str(value: object) -> str | None:
    return value if isinstance(value, str) and value else None


def _parse_voice(item: object) -> Voice | None:
    if not isinstance(item, dict) or not (voice_id := _optional_str(item.get("voice_id"))):
        return None
    dialects = item.get("dialect", item.get("dialects"))
    if isinstance(dialects, str):
        dialects = [dialects]
    if not isinstance(dialects, list):
        dialects = []
    return Voice(
        voice_id=voice_id,
        name=_optional_str(item.get("name")) or voice_id,
        gender=_optional_str(item.get("gender")),
        dialects=tuple(dialect for dialect in dialects if isinstance(dialect, str)),
        type=_optional_str(item.get("type")),
    )


def _parse_model(item: object) -> Model | None:
    if not isinstance(item, dict) or not (model_id := _optional_str(item.get("model_id"))):
        return None
    cost = item.get("cost")
    try:
        cost_per_character = float(cost) if isinstance(cost, int | float | str) else 0.0
    except ValueError:
        cost_per_character = 0.0
    return Model(
        model_id=model_id,
        name=_optional_str(item.get("model_name")) or _optional_str(item.get("name")) or model_id,
        cost_per_character=cost_per_character,
    )


def _already_set() -> asyncio.Event:
    event = asyncio.Event()
    event.set()
    return event
