"""The simulated TTS WebSocket: auth, initConnection, buffering, audio, finals and closing."""

import asyncio
import base64
import json
import os
import time
from typing import Any, NamedTuple

import aiohttp
import pytest

from simulator import WS_PATH, FaseehSimulator, SimulatorConfig, deterministic_pcm
from simulator.server import AudioMode, ErrorShape, FinalStyle

from .helpers import (
    GREETING,
    KEY,
    collect,
    generation_tasks,
    init_message,
    initialize,
    is_final,
    post_tts,
    text,
    tts_body,
    wait_for,
    ws_url,
)

# --- authentication --------------------------------------------------------------------------


class Keys(NamedTuple):
    """Where a test client puts its key: query string, handshake header, initConnection."""

    query: str | None = None
    header: str | None = None
    init: str | None = None

    @property
    def headers(self) -> dict[str, str]:
        """The handshake headers."""
        return {} if self.header is None else {"x-api-key": self.header}


def _configure(sim: FaseehSimulator, settings: dict[str, bool]) -> None:
    """Apply accept_* settings to the running simulator."""
    for name, value in settings.items():
        setattr(sim.config, name, value)


@pytest.mark.parametrize(
    ("settings", "keys"),
    [
        pytest.param({}, Keys(query=KEY), id="query"),
        pytest.param({}, Keys(header=KEY), id="header"),
        pytest.param({}, Keys(init=KEY), id="init"),
        pytest.param({}, Keys(query=KEY, init=KEY), id="query-and-init"),
        pytest.param({"accept_query_key": False}, Keys("ignored", KEY), id="query-off-header"),
        pytest.param({"accept_header_key": False}, Keys(KEY, "ignored"), id="header-off-query"),
        pytest.param({"accept_header_key": False}, Keys(None, KEY, KEY), id="header-off-init"),
        pytest.param({"accept_init_key": False}, Keys(KEY, None, "ignored"), id="init-off-query"),
    ],
)
async def test_accepted_auth_paths(
    http: aiohttp.ClientSession, sim: FaseehSimulator, settings: dict[str, bool], keys: Keys
) -> None:
    """A valid key on any channel the config accepts opens a session."""
    _configure(sim, settings)
    async with http.ws_connect(ws_url(sim, keys.query), headers=keys.headers) as ws:
        await initialize(ws, x_api_key=keys.init)
    session = sim.ws_sessions[-1]
    assert (session.query_key, session.header_key) == (keys.query, keys.header)


@pytest.mark.parametrize(
    ("settings", "keys"),
    [
        pytest.param({}, Keys(query="wrong"), id="wrong-query"),
        pytest.param({}, Keys(header="wrong"), id="wrong-header"),
        pytest.param({}, Keys(query="wrong", init=KEY), id="wrong-query-valid-init"),
        pytest.param({"accept_init_key": False}, Keys(), id="no-key-init-off"),
        pytest.param(
            {"accept_query_key": False, "accept_init_key": False},
            Keys(query=KEY),
            id="query-refused",
        ),
        pytest.param(
            {"accept_header_key": False, "accept_init_key": False},
            Keys(header=KEY),
            id="header-refused",
        ),
    ],
)
async def test_handshake_refused_with_http_401(
    http: aiohttp.ClientSession, sim: FaseehSimulator, settings: dict[str, bool], keys: Keys
) -> None:
    """A missing or invalid handshake key with no usable init key is an HTTP 401."""
    _configure(sim, settings)
    with pytest.raises(aiohttp.WSServerHandshakeError) as raised:
        await http.ws_connect(ws_url(sim, keys.query), headers=keys.headers)
    assert raised.value.status == 401
    # The same refusal, read as a plain GET, has the REST error body.
    plain_url = ws_url(sim, keys.query).replace("ws://", "http://")
    async with http.get(plain_url, headers=keys.headers) as response:
        assert response.status == 401
        assert await response.json() == {
            "errorCode": "40101",
            "errorMessage": "Invalid or missing API key",
        }
    assert sim.ws_sessions[-1].closed


@pytest.mark.parametrize(
    ("settings", "keys"),
    [
        pytest.param({}, Keys(), id="no-key-anywhere"),
        pytest.param({}, Keys(init="wrong"), id="wrong-init"),
        pytest.param({}, Keys(query=KEY, init="wrong"), id="valid-query-wrong-init"),
        pytest.param({"accept_query_key": False}, Keys(query=KEY), id="query-refused"),
        pytest.param({"accept_header_key": False}, Keys(header=KEY), id="header-refused"),
    ],
)
async def test_init_refused_with_error_frame_40101(
    http: aiohttp.ClientSession, sim: FaseehSimulator, settings: dict[str, bool], keys: Keys
) -> None:
    """Without a usable handshake key the init key decides; a bad one is 40101 then close."""
    _configure(sim, settings)
    async with http.ws_connect(ws_url(sim, keys.query), headers=keys.headers) as ws:
        await ws.send_json(init_message(x_api_key=keys.init))
        received = await collect(ws, finals=None)
    assert received.frames == [
        {"type": "error", "errorCode": 40101, "errorMessage": "Invalid or missing API key"}
    ]
    assert received.closed
    assert received.close_code == 1000


# --- initConnection validation ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("overrides", "code", "message"),
    [
        ({"model_id": "faseeh-v9"}, 40401, "Model not found: faseeh-v9"),
        ({"voice_id": "ar-martian-1"}, 40402, "Voice not found: ar-martian-1"),
        (
            {"voice_settings": {"speed": 1.3}},
            40001,
            "speed must be a number between 0.7 and 1.2",
        ),
        (
            {"voice_settings": {"speed": 0.6}},
            40001,
            "speed must be a number between 0.7 and 1.2",
        ),
        (
            {"voice_settings": {"stability": 1.5}},
            40001,
            "stability must be a number between 0 and 1",
        ),
        (
            {"voice_settings": {"stability": "high"}},
            40001,
            "stability must be a number between 0 and 1",
        ),
        (
            {"voice_settings": {"similarity_boost": -0.1}},
            40001,
            "similarity_boost must be a number between 0 and 1",
        ),
        ({"output_format": "mp3_44100"}, 40001, "Unsupported output_format: mp3_44100"),
    ],
)
async def test_init_validation_errors(
    http: aiohttp.ClientSession,
    sim: FaseehSimulator,
    overrides: dict[str, Any],
    code: int,
    message: str,
) -> None:
    """An invalid initConnection gets one error frame, then the server closes."""
    async with http.ws_connect(ws_url(sim)) as ws:
        await ws.send_json(init_message(**overrides))
        received = await collect(ws, finals=None)
    assert received.frames == [{"type": "error", "errorCode": code, "errorMessage": message}]
    assert received.closed
    assert sim.ws_sessions[-1].init == init_message(**overrides)


async def test_init_without_model_uses_the_mini_default(
    http: aiohttp.ClientSession, sim: FaseehSimulator
) -> None:
    """model_id and voice_settings are optional; the rest of the defaults apply."""
    async with http.ws_connect(ws_url(sim)) as ws:
        await initialize(ws, model_id=None, voice_settings=None, output_format=None)
        await ws.send_json(text("مرحبا", flush=True))
        received = await collect(ws)
    assert received.audio == deterministic_pcm("مرحبا", 24000)
    assert {frame["sampleRate"] for frame in received.frames} == {24000}


@pytest.mark.parametrize(
    "first",
    [
        pytest.param(text("مرحبا", flush=True), id="text-before-init"),
        pytest.param("this is not json", id="not-json"),
        pytest.param(b"\x00\x01", id="binary"),
    ],
)
async def test_protocol_errors_are_40002_then_close(
    http: aiohttp.ClientSession, sim: FaseehSimulator, first: object
) -> None:
    """Text before initConnection, non-JSON and binary messages are refused with 40002."""
    async with http.ws_connect(ws_url(sim)) as ws:
        if isinstance(first, dict):
            await ws.send_json(first)
        elif isinstance(first, str):
            await ws.send_str(first)
        else:
            assert isinstance(first, bytes)
            await ws.send_bytes(first)
        received = await collect(ws, finals=None)
    assert [(f["type"], f["errorCode"]) for f in received.frames] == [("error", 40002)]
    assert received.closed


async def test_non_json_after_init_is_also_40002(
    http: aiohttp.ClientSession, sim: FaseehSimulator
) -> None:
    """A broken message mid-session stops the session."""
    async with http.ws_connect(ws_url(sim)) as ws:
        await initialize(ws)
        await ws.send_str("{broken")
        received = await collect(ws, finals=None)
    assert received.errors[0]["errorCode"] == 40002
    assert received.closed


async def test_unknown_client_message_types_are_ignored(
    http: aiohttp.ClientSession, sim: FaseehSimulator
) -> None:
    """{"type": "clear"} and friends neither fail nor produce anything."""
    async with http.ws_connect(ws_url(sim)) as ws:
        await initialize(ws)
        await ws.send_json({"type": "clear"})
        await ws.send_json({"type": "keepAlive", "text": "not buffered"})
        await ws.send_json(text("مرحبا", flush=True))
        received = await collect(ws)
    assert received.kinds() == ["audio", "audio", "audio", "final"]
    assert sim.ws_sessions[-1].text == "مرحبا"


# --- buffering and audio ------------------------------------------------------------------------


async def test_text_is_buffered_until_trigger_or_flush(
    http: aiohttp.ClientSession, sim: FaseehSimulator
) -> None:
    """No audio is generated for text that was neither triggered nor flushed."""
    sim.config.final_style = "end"  # one final, at the end of the input
    async with http.ws_connect(ws_url(sim)) as ws:
        await initialize(ws)
        await ws.send_json(text("مرحبا "))
        await ws.send_json(text("بك"))
        waiting = await collect(ws, idle=0.2)
        assert waiting.timed_out
        assert waiting.frames == []
        await ws.send_json(text("", trigger=True))
        triggered = await collect(ws, finals=None, idle=0.3)
        await ws.send_json(text(" في فصيح", flush=True))
        flushed = await collect(ws)
    assert triggered.audio == deterministic_pcm("مرحبا بك", 24000)
    assert triggered.finals == []
    assert flushed.audio == deterministic_pcm(" في فصيح", 24000, start=len("مرحبا بك"))


BATCHINGS: dict[str, list[dict[str, Any]]] = {
    "one-flush": [text(GREETING, flush=True)],
    "words-triggered-then-empty-flush": [
        *(text(word + " ", trigger=True) for word in GREETING.split(" ")[:-1]),
        text(GREETING.split(" ")[-1], trigger=True),
        text("", flush=True),
    ],
    "characters-buffered-then-flush": [
        *(text(character) for character in GREETING),
        text("", flush=True),
    ],
    "mixed": [
        text("مرح"),
        text("با ", trigger=True),
        text("بك في"),
        text(" ", trigger=True),
        text("فصيح", flush=True),
    ],
}


@pytest.mark.parametrize("batching", BATCHINGS)
@pytest.mark.parametrize("output_format", ["pcm_8000", "pcm_22050", "pcm_24000"])
async def test_deterministic_audio_is_byte_exact_however_text_is_batched(
    http: aiohttp.ClientSession, sim: FaseehSimulator, batching: str, output_format: str
) -> None:
    """The session's audio is deterministic_pcm(session.text, rate) for every batching."""
    sim.config.final_style = "end"  # one final, at the end of the input
    rate = int(output_format.removeprefix("pcm_"))
    async with http.ws_connect(ws_url(sim)) as ws:
        await initialize(ws, output_format=output_format)
        for message in BATCHINGS[batching]:
            await ws.send_json(message)
        received = await collect(ws)
    session = sim.ws_sessions[-1]
    assert session.text == GREETING
    assert received.audio == deterministic_pcm(GREETING, rate)
    assert session.audio_bytes_sent == len(received.audio)
    assert {frame["sampleRate"] for frame in received.frames} == {rate}
    assert received.kinds()[-1] == "final"


async def test_frames_are_chunk_bytes_long(
    http: aiohttp.ClientSession, sim: FaseehSimulator
) -> None:
    """Every audio frame but a generation's last is exactly chunk_bytes."""
    sim.config.chunk_bytes = 1000
    async with http.ws_connect(ws_url(sim)) as ws:
        await initialize(ws)
        await ws.send_json(text(GREETING, flush=True))
        received = await collect(ws)
    sizes = [len(base64.b64decode(frame["audio"])) for frame in received.audio_frames]
    assert sizes[:-1] == [1000] * (len(sizes) - 1)
    assert 0 < sizes[-1] <= 1000
    assert sum(sizes) == len(deterministic_pcm(GREETING, 24000))


# --- final frames and closing ---------------------------------------------------------------------

SENTENCES = ["مرحبا. ", "كيف حالك؟ ", "مع السلامة"]


async def _three_generations(
    http: aiohttp.ClientSession, sim: FaseehSimulator, *, last_flush: bool = True
) -> tuple[aiohttp.ClientWebSocketResponse, list[int]]:
    """Open a session and queue three generations; returns the socket and their sizes."""
    ws = await http.ws_connect(ws_url(sim))
    await initialize(ws)
    for sentence in SENTENCES[:-1]:
        await ws.send_json(text(sentence, trigger=True))
    await ws.send_json(text(SENTENCES[-1], trigger=True, flush=last_flush))
    sizes = [len(deterministic_pcm(sentence, 24000)) for sentence in SENTENCES]
    return ws, sizes


def _audio_runs(kinds: list[str]) -> list[str]:
    """Collapse consecutive audio frames into one 'audio' entry."""
    runs: list[str] = []
    for kind in kinds:
        if not (kind == "audio" and runs and runs[-1] == "audio"):
            runs.append(kind)
    return runs


@pytest.mark.parametrize(
    ("style", "expected"),
    [
        ("end", ["audio", "final"]),
        ("batch", ["audio", "final", "audio", "final", "audio", "final"]),
        ("never", ["audio"]),
        (
            "duplicate",
            ["audio", "final", "final", "audio", "final", "final", "audio", "final", "final"],
        ),
    ],
)
async def test_final_styles(
    http: aiohttp.ClientSession, sim: FaseehSimulator, style: FinalStyle, expected: list[str]
) -> None:
    """end: one final after the flush; batch: one per generation; never: none."""
    sim.config.chunk_bytes = 48000  # One frame per generation makes the order readable.
    sim.config.final_style = style
    ws, _ = await _three_generations(http, sim)
    async with ws:
        received = await collect(ws, finals=None, idle=0.3)
    assert received.timed_out
    assert not received.closed
    assert _audio_runs(received.kinds()) == expected
    assert received.audio == deterministic_pcm("".join(SENTENCES), 24000)
    assert all(f == {"audio": "", "sampleRate": 24000, "isFinal": True} for f in received.finals)


async def test_inside_style_marks_batches_inside_a_generation_as_final(
    http: aiohttp.ClientSession, sim: FaseehSimulator
) -> None:
    """inside: audio frames that end a batch carry isFinal, and more audio follows them."""
    sim.config.final_style = "inside"
    async with await http.ws_connect(ws_url(sim)) as ws:
        await initialize(ws)
        await ws.send_json(text(GREETING, trigger=True, flush=True))
        received = await collect(ws, finals=None, idle=0.3)
    kinds = received.kinds()
    inner = [
        index for index, frame in enumerate(received.frames) if is_final(frame) and frame["audio"]
    ]
    assert inner
    assert all("audio" in kinds[index + 1 :] for index in inner)
    assert kinds[-1] == "final"
    assert received.audio == deterministic_pcm(GREETING, 24000)


async def test_max_sessions_refuses_one_more_synthesis_with_42901(
    http: aiohttp.ClientSession, sim: FaseehSimulator
) -> None:
    """With max_sessions 1, a second socket and a REST synthesis get 42901 while one is open."""
    sim.config.max_sessions = 1
    async with await http.ws_connect(ws_url(sim)) as first:
        await initialize(first)
        async with await http.ws_connect(ws_url(sim)) as second:
            await second.send_json(init_message())
            refused = await collect(second, finals=None)
        status, _, body = await post_tts(http, sim, tts_body())
    assert refused.errors[0]["errorCode"] == 42901
    assert (status, json.loads(body)["errorCode"]) == (429, "42901")
    # Once the first socket is gone, a new one is accepted.
    await wait_for(lambda: sim.ws_sessions[0].closed)
    async with await http.ws_connect(ws_url(sim)) as third:
        await initialize(third)


async def test_max_sessions_frees_the_slot_of_every_synthesis_that_ended(
    http: aiohttp.ClientSession, sim: FaseehSimulator
) -> None:
    """Back-to-back syntheses under max_sessions 1 each get the slot (none is held for ever)."""
    sim.config.max_sessions = 1
    for _ in range(5):
        async with await http.ws_connect(ws_url(sim)) as ws:
            await initialize(ws)
            await ws.send_json(text(GREETING, trigger=True, flush=True))
            await ws.send_json({"type": "closeConnection"})
            received = await collect(ws, finals=None)
        assert received.errors == []
        assert received.audio == deterministic_pcm(GREETING, 24000)
        await wait_for(lambda: sim.open_sessions() == 0)


async def test_idle_timeout_closes_an_unused_socket(
    http: aiohttp.ClientSession, sim: FaseehSimulator
) -> None:
    """A socket that receives nothing for idle_timeout is closed normally by the server."""
    sim.config.idle_timeout = 0.2
    async with await http.ws_connect(ws_url(sim)) as ws:
        await initialize(ws)
        received = await collect(ws, finals=None)
    assert received.closed
    assert received.close_code == 1000
    assert received.frames == []


async def test_idle_timeout_spares_a_socket_that_is_speaking(
    http: aiohttp.ClientSession, sim: FaseehSimulator
) -> None:
    """Generating audio is not idleness: the whole audio arrives, then the socket closes."""
    sim.config.idle_timeout = 0.2
    sim.config.realtime_factor = 4.0  # 1.6 s of audio takes 0.4 s, longer than the timeout
    async with await http.ws_connect(ws_url(sim)) as ws:
        await initialize(ws)
        await ws.send_json(text(GREETING, trigger=True, flush=True))
        received = await collect(ws, finals=None)
    assert received.audio == deterministic_pcm(GREETING, 24000)
    assert received.closed


async def test_end_style_has_no_final_without_a_flush(
    http: aiohttp.ClientSession, sim: FaseehSimulator
) -> None:
    """try_trigger_generation alone never ends the input."""
    sim.config.final_style = "end"  # one final, at the end of the input
    ws, _ = await _three_generations(http, sim, last_flush=False)
    async with ws:
        received = await collect(ws, finals=None, idle=0.3)
    assert received.finals == []
    assert received.audio == deterministic_pcm("".join(SENTENCES), 24000)


@pytest.mark.parametrize(
    ("style", "expected"),
    [
        ("end", ["audio", "final"]),
        ("batch", ["audio", "final", "audio", "final", "audio", "final"]),
        ("never", ["audio"]),
        (
            "duplicate",
            ["audio", "final", "final", "audio", "final", "final", "audio", "final", "final"],
        ),
    ],
)
async def test_close_after_final(
    http: aiohttp.ClientSession, sim: FaseehSimulator, style: FinalStyle, expected: list[str]
) -> None:
    """The socket closes with 1000 right after the flush's final frame (or its audio)."""
    sim.config.chunk_bytes = 48000
    sim.config.final_style = style
    sim.config.close_after_final = True
    ws, _ = await _three_generations(http, sim)
    async with ws:
        received = await collect(ws, finals=None)
    assert received.closed
    assert received.close_code == 1000
    assert _audio_runs(received.kinds()) == expected
    assert received.audio == deterministic_pcm("".join(SENTENCES), 24000)
    await wait_for(lambda: sim.ws_sessions[-1].closed)


async def test_close_connection_finishes_pending_generations_then_closes(
    http: aiohttp.ClientSession, sim: FaseehSimulator
) -> None:
    """closeConnection right after the text still delivers all audio and finals, then 1000."""
    sim.config.final_style = "batch"
    sim.config.first_audio_delay = 0.05
    ws, _ = await _three_generations(http, sim, last_flush=False)
    async with ws:
        await ws.send_json({"type": "closeConnection"})
        received = await collect(ws, finals=None)
    assert received.closed
    assert received.close_code == 1000
    assert len(received.finals) == 3
    assert received.audio == deterministic_pcm("".join(SENTENCES), 24000)
    session = sim.ws_sessions[-1]
    assert session.client_sent_close
    await wait_for(lambda: session.closed)


async def test_close_connection_does_not_speak_untriggered_text(
    http: aiohttp.ClientSession, sim: FaseehSimulator
) -> None:
    """Only pending generations are finished; a never-triggered buffer is dropped."""
    async with http.ws_connect(ws_url(sim)) as ws:
        await initialize(ws)
        await ws.send_json(text("مرحبا ", trigger=True))
        await ws.send_json(text("بك"))
        await ws.send_json({"type": "closeConnection"})
        received = await collect(ws, finals=None)
    assert received.closed
    assert received.audio == deterministic_pcm("مرحبا ", 24000)
    assert sim.ws_sessions[-1].text == "مرحبا بك"


async def test_close_connection_before_init_just_closes(
    http: aiohttp.ClientSession, sim: FaseehSimulator
) -> None:
    """A client that gives up before initConnection gets a clean close."""
    async with http.ws_connect(ws_url(sim)) as ws:
        await ws.send_json({"type": "closeConnection"})
        received = await collect(ws, finals=None)
    assert received.frames == []
    assert received.close_code == 1000


@pytest.mark.parametrize(
    ("shape", "frame"),
    [
        (
            "code",
            {"type": "error", "errorCode": 40401, "errorMessage": "Model not found: nope"},
        ),
        ("message", {"type": "error", "message": "Model not found: nope"}),
    ],
)
async def test_error_shapes(
    http: aiohttp.ClientSession, sim: FaseehSimulator, shape: ErrorShape, frame: dict[str, Any]
) -> None:
    """error_shape picks the bifrost shape (int errorCode) or the documented one."""
    sim.config.error_shape = shape
    async with http.ws_connect(ws_url(sim)) as ws:
        await ws.send_json(init_message(model_id="nope"))
        received = await collect(ws, finals=None)
    assert received.frames == [frame]
    assert received.closed


# --- pacing -------------------------------------------------------------------------------------


async def test_handshake_delay(http: aiohttp.ClientSession, sim: FaseehSimulator) -> None:
    """The handshake is answered only after handshake_delay."""
    sim.config.handshake_delay = 0.2
    started = time.monotonic()
    async with http.ws_connect(ws_url(sim)):
        assert time.monotonic() - started >= 0.2


async def test_first_audio_delay_applies_to_every_generation(
    http: aiohttp.ClientSession, sim: FaseehSimulator
) -> None:
    """Each generation waits first_audio_delay before its first frame."""
    sim.config.first_audio_delay = 0.15
    sim.config.final_style = "batch"
    async with http.ws_connect(ws_url(sim)) as ws:
        await initialize(ws)
        started = time.monotonic()
        await ws.send_json(text("مرحبا", trigger=True))
        await ws.send_json(text("بك", flush=True))
        await collect(ws)
        first = time.monotonic()
        await collect(ws)
        second = time.monotonic()
    assert first - started >= 0.15
    assert second - first >= 0.14


async def test_realtime_factor_paces_the_frames(
    http: aiohttp.ClientSession, sim: FaseehSimulator
) -> None:
    """N x real time: 1 s of audio at factor 5 takes about 0.2 s."""
    sim.config.realtime_factor = 5
    sim.config.chunk_bytes = 1600  # 100 ms at 8 kHz.
    async with http.ws_connect(ws_url(sim)) as ws:
        await initialize(ws, output_format="pcm_8000")
        started = time.monotonic()
        await ws.send_json(text("x" * 20, flush=True))
        received = await collect(ws)
        elapsed = time.monotonic() - started
    assert len(received.audio_frames) == 10
    assert 0.17 <= elapsed < 1.5


async def test_unthrottled_audio_is_much_faster_than_real_time(
    http: aiohttp.ClientSession, sim: FaseehSimulator
) -> None:
    """realtime_factor None sends 100 s of audio in well under a second."""
    sim.config.final_style = "end"  # one final, at the end of the input
    long_text = GREETING * 125
    async with http.ws_connect(ws_url(sim)) as ws:
        await initialize(ws, output_format="pcm_8000")
        started = time.monotonic()
        await ws.send_json(text(long_text, flush=True))
        received = await collect(ws)
        elapsed = time.monotonic() - started
    assert received.audio == deterministic_pcm(long_text, 8000)
    assert elapsed < 2.0


# --- disconnects and stop -----------------------------------------------------------------------


async def test_client_leaving_mid_generation_ends_the_server_side(
    http: aiohttp.ClientSession, sim: FaseehSimulator
) -> None:
    """The server notices the client is gone and keeps no generation running."""
    sim.config.realtime_factor = 1
    sim.config.chunk_bytes = 480
    async with http.ws_connect(ws_url(sim)) as ws:
        await initialize(ws)
        await ws.send_json(text(GREETING * 10, flush=True))
        assert (await ws.receive_json(timeout=2))["isFinal"] is False
        assert generation_tasks()
    await wait_for(lambda: sim.ws_sessions[-1].closed and not generation_tasks())


def _masked_text_frame(payload: dict[str, Any]) -> bytes:
    """One client-to-server WebSocket text frame (clients must mask)."""
    data = json.dumps(payload).encode()
    mask = os.urandom(4)
    length = len(data)
    header = bytes([0x81]) + (
        bytes([0x80 | length]) if length < 126 else bytes([0x80 | 126]) + length.to_bytes(2, "big")
    )
    return header + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(data))


@pytest.mark.parametrize("audio", ["deterministic", "speech"])
async def test_client_vanishing_without_close_frame_ends_the_server_side(
    sim: FaseehSimulator, audio: AudioMode
) -> None:
    """A raw client that aborts its TCP connection mid-generation leaves nothing running."""
    sim.config.audio = audio
    sim.config.realtime_factor = 1
    reader, writer = await asyncio.open_connection("127.0.0.1", sim.port)
    writer.write(
        (
            f"GET {WS_PATH}?x-api-key={KEY} HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            "Upgrade: websocket\r\nConnection: Upgrade\r\n"
            f"Sec-WebSocket-Key: {base64.b64encode(os.urandom(16)).decode()}\r\n"
            "Sec-WebSocket-Version: 13\r\n\r\n"
        ).encode()
    )
    assert (await reader.readuntil(b"\r\n\r\n")).startswith(b"HTTP/1.1 101")
    writer.write(_masked_text_frame(init_message()))
    writer.write(_masked_text_frame(text(GREETING * 5, flush=True)))
    await reader.readexactly(2 + len('{"type": "connectionInitialized"}'))
    # The start of the first audio frame: the generation is running and paced.
    assert b'"audio"' in await reader.readexactly(20)
    writer.transport.abort()
    await wait_for(lambda: sim.ws_sessions[-1].closed and not generation_tasks())
    writer.close()


@pytest.mark.parametrize("fault", ["silent", "stall", None])
async def test_stop_closes_open_sockets_promptly(socket_enabled: None, fault: str | None) -> None:
    """sim.stop() closes idle, silent and stalled sockets with 1001 and leaves nothing behind."""
    sim = FaseehSimulator(SimulatorConfig(fault=fault))
    await sim.start()
    async with aiohttp.ClientSession() as http:
        ws = await http.ws_connect(ws_url(sim))
        await initialize(ws)
        await ws.send_json(text(GREETING * 4, flush=True))
        if fault == "stall":
            for _ in range(2):
                await ws.receive_json(timeout=2)
        elif fault is None:
            await collect(ws)
        started = time.monotonic()
        await sim.stop()
        assert time.monotonic() - started < 1.5
        received = await collect(ws, finals=None)
        assert received.closed
        assert received.close_code == 1001
        assert not generation_tasks()
        assert sim.ws_sessions[-1].closed
        await ws.close()


async def test_stop_with_a_client_that_never_reads(socket_enabled: None) -> None:
    """A client that neither reads nor closes cannot hold up stop()."""
    sim = FaseehSimulator(SimulatorConfig(fault="silent"))
    await sim.start()
    async with aiohttp.ClientSession() as http:
        ws = await http.ws_connect(ws_url(sim))
        await ws.send_json(init_message())
        await ws.send_json(text(GREETING, flush=True))
        await wait_for(lambda: bool(sim.ws_sessions[-1].messages[1:]))
        started = time.monotonic()
        await sim.stop()
        assert time.monotonic() - started < 1.5
        await ws.close()


async def test_stop_during_a_slow_handshake(socket_enabled: None) -> None:
    """A handshake still sleeping is cut short by stop()."""
    sim = FaseehSimulator(SimulatorConfig(fault="slow_handshake"))
    await sim.start()
    async with aiohttp.ClientSession() as http:

        async def connect() -> aiohttp.ClientWebSocketResponse:
            return await http.ws_connect(ws_url(sim))

        connecting = asyncio.create_task(connect())
        await wait_for(lambda: bool(sim.ws_sessions))
        started = time.monotonic()
        await sim.stop()
        assert time.monotonic() - started < 1.5
        with pytest.raises(aiohttp.ClientError):
            await connecting


async def test_simulator_as_context_manager_and_restart_guard(socket_enabled: None) -> None:
    """async with starts and stops; url is only available while running."""
    sim = FaseehSimulator()
    with pytest.raises(RuntimeError):
        _ = sim.url
    async with sim:
        assert sim.url == f"http://127.0.0.1:{sim.port}"
        with pytest.raises(RuntimeError):
            await sim.start()
    with pytest.raises(RuntimeError):
        _ = sim.url
    await sim.stop()  # A second stop is harmless.


def test_unknown_fault_names_are_refused() -> None:
    """A typo in a fault name fails loudly instead of silently doing nothing."""
    with pytest.raises(ValueError, match="unknown fault"):
        SimulatorConfig(fault="wallet_emptyy")


# --- recording ------------------------------------------------------------------------------------


async def test_recording(http: aiohttp.ClientSession, sim: FaseehSimulator) -> None:
    """Every session records keys, init, messages, text, closing and audio bytes."""
    messages = [
        init_message(x_api_key=KEY),
        text("مرحبا ", trigger=True),
        {"type": "clear"},
        text("بك", flush=True),
        {"type": "closeConnection"},
    ]
    async with http.ws_connect(ws_url(sim), headers={"x-api-key": KEY}) as ws:
        for message in messages:
            await ws.send_json(message)
        received = await collect(ws, finals=None)
    await wait_for(lambda: sim.ws_sessions[-1].closed)
    [session] = sim.ws_sessions
    assert session.query_key == KEY
    assert session.header_key == KEY
    assert session.init == messages[0]
    assert session.messages == messages
    assert session.text == "مرحبا بك"
    assert session.client_sent_close
    assert (
        session.audio_bytes_sent == len(received.audio) == len(deterministic_pcm("مرحبا بك", 24000))
    )

    sim.reset_records()
    assert sim.ws_sessions == []
    assert sim.http_requests == []


async def test_config_changes_apply_to_the_next_session(
    http: aiohttp.ClientSession, sim: FaseehSimulator
) -> None:
    """sim.config is read per session, so a test can change it between requests."""
    for rate_format, chunk in (("pcm_16000", 800), ("pcm_24000", 3000)):
        sim.config.chunk_bytes = chunk
        async with http.ws_connect(ws_url(sim)) as ws:
            await initialize(ws, output_format=rate_format)
            await ws.send_json(text(GREETING, flush=True))
            received = await collect(ws)
        assert len(base64.b64decode(received.frames[0]["audio"])) == chunk
