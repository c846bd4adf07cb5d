"""End-of-stream rule, HTTP fallback and frame handling, against the simulator and a scripted
server for the cases the simulator does not produce."""

import asyncio
from collections.abc import AsyncIterator
from contextlib import aclosing

import aiohttp
import pytest

from custom_components.faseeh.client import (
    AudioChunk,
    ConnectionLostError,
    FaseehClient,
    InsufficientBalanceError,
    ProtocolError,
    ServiceTimeoutError,
    ServiceUnavailableError,
    Timeouts,
)
from simulator import DEFAULT_API_KEY, FaseehSimulator, deterministic_pcm

from .conftest import (
    FAST,
    MODEL,
    VOICE,
    client_tasks,
    collect,
    deltas_of,
    fake_client,
    pcm_of,
)
from .fake_server import FakeConnection, FakeFaseeh

TEXT = "مرحبا بك في فصيح. كيف حالك؟ أنا بخير"
TWO_SENTENCES = "مرحبا بك. كيف حالك؟"
SPLIT_TEXT = ["مرحبا بك في فصيح. ", "كيف حالك؟ ", "أنا بخير"]


async def batch_script(
    conn: FakeConnection, *, close: bool = True, delays: tuple[float, ...] = ()
) -> None:
    """Answer every text message with its audio and a final frame; close on closeConnection.

    ``delays[n]`` is a pause before the audio of generation n.
    """
    offset = 0
    generation = 0
    async for message in conn.ws:
        payload = message.json()
        if payload.get("type") == "text":
            conn.texts.append(payload)
        if payload.get("type") == "text" and payload["text"]:
            text = payload["text"]
            if generation < len(delays):
                await asyncio.sleep(delays[generation])
            generation += 1
            await conn.send_audio(deterministic_pcm(text, 24000, offset))
            await conn.send_final()
            offset += len(text)
        if payload.get("type") == "closeConnection" and close:
            await conn.ws.close()


# HTTP fallback, against the simulator.


@pytest.mark.parametrize("streamed", [False, True], ids=["str", "deltas"])
async def test_silent_socket_falls_back_to_http(
    faseeh_sim: FaseehSimulator, client: FaseehClient, streamed: bool
) -> None:
    """A socket that never sends audio falls back to HTTP streaming with the same settings."""
    faseeh_sim.config.fault = "silent"
    source = deltas_of(["مرحبا ب", "ك في فصيح. كي", "ف حالك؟ أنا بخير"]) if streamed else TEXT
    chunks = await collect(client, source, output_format="pcm_16000")
    # One streaming POST per segment (a plain str is one segment), spoken in order.
    requests = faseeh_sim.http_requests
    assert len(requests) == (3 if streamed else 1)
    assert "".join(request.json["text"] for request in requests) == TEXT
    spoken = [deterministic_pcm(request.json["text"], 16000) for request in requests]
    assert pcm_of(chunks) == b"".join(spoken)
    assert {chunk.sample_rate for chunk in chunks} == {16000}
    for request in requests:
        assert request.path == f"/api/v1/text-to-speech/{MODEL}"
        assert request.api_key == DEFAULT_API_KEY
        assert request.json == {
            "voice_id": VOICE,
            "text": request.json["text"],
            "stability": 0.5,
            "speed": 1.0,
            "streaming": True,
            "sample_rate": 16000,
        }
    assert not client_tasks()
    assert await faseeh_sim.all_sessions_closed()


# The end-of-stream rule, against a scripted server.


async def test_final_then_silence_completes_after_grace(session: aiohttp.ClientSession) -> None:
    """(c) isFinal and then silence (the socket stays open) completes the stream."""

    async def script(conn: FakeConnection) -> None:
        text = await conn.read_until_flush()
        await conn.send_audio(deterministic_pcm(text, 24000))
        await conn.send_final()
        await conn.wait_for_client_close()

    async with FakeFaseeh(script) as server:
        source = deltas_of(["مرحبا بك. ", "كيف حالك؟"])
        chunks = await collect(fake_client(session, server), source)
    assert pcm_of(chunks) == deterministic_pcm(TWO_SENTENCES, 24000)
    # Two generations (the second ends with its mark), then the flush, one final.
    texts = server.connections[0].texts
    assert "".join(str(message["text"]) for message in texts) == TWO_SENTENCES
    assert [message.get("flush") for message in texts][-1] is True


async def test_one_final_per_generation_completes_without_close(
    session: aiohttp.ClientSession,
) -> None:
    """As many isFinal frames as generations completes final_grace after the last, not idle."""

    async def script(conn: FakeConnection) -> None:
        await batch_script(conn, close=False)

    async with FakeFaseeh(script) as server:
        client = fake_client(session, server, final_grace=0.2, idle=30.0)
        async with asyncio.timeout(3):
            chunks = await collect(client, deltas_of(SPLIT_TEXT))
    assert pcm_of(chunks) == deterministic_pcm(TEXT, 24000)
    assert len(server.connections[0].texts) == 3


async def test_audio_after_a_final_disarms_the_grace_rule(session: aiohttp.ClientSession) -> None:
    """Once audio followed an isFinal, a pause after a later isFinal is not the end."""

    async def script(conn: FakeConnection) -> None:
        # Generation 3 starts 0.4 s after the final of generation 2 (> final_grace 0.2).
        await batch_script(conn, close=False, delays=(0, 0, 0.4))

    async with FakeFaseeh(script) as server:
        client = fake_client(session, server, idle=2.0)
        chunks = await collect(client, deltas_of(SPLIT_TEXT))
    assert pcm_of(chunks) == deterministic_pcm(TEXT, 24000)


async def test_a_whole_text_is_one_generation(
    faseeh_sim: FaseehSimulator, client: FaseehClient
) -> None:
    """A str is sent as one flushed message: per-generation finals and slow generations are
    unambiguous (the simulator's first_audio_delay is longer than final_grace)."""
    faseeh_sim.config.final_style = "batch"
    faseeh_sim.config.first_audio_delay = 0.3
    chunks = await collect(client, TEXT)
    assert pcm_of(chunks) == deterministic_pcm(TEXT, 24000)
    texts = [m for m in faseeh_sim.ws_sessions[-1].messages if m.get("type") == "text"]
    assert texts == [{"type": "text", "text": TEXT, "try_trigger_generation": True, "flush": True}]


async def test_final_before_the_flush_is_not_the_end(session: aiohttp.ClientSession) -> None:
    """A slow text source: silence after a final (and longer than idle) before the flush is fine."""

    async def deltas() -> AsyncIterator[str]:
        yield "مرحبا بك. "
        await asyncio.sleep(1.0)  # longer than final_grace and idle
        yield "كيف حالك؟"

    async with FakeFaseeh(batch_script) as server:
        chunks = await collect(fake_client(session, server), deltas())
    assert pcm_of(chunks) == deterministic_pcm(TWO_SENTENCES, 24000)


async def test_stalled_audio_is_a_timeout(session: aiohttp.ClientSession) -> None:
    """Audio, then silence without any final frame, is ServiceTimeoutError, not completion."""

    async def script(conn: FakeConnection) -> None:
        text = await conn.read_until_flush()
        await conn.send_audio(deterministic_pcm(text, 24000)[:4800])
        await conn.wait_for_client_close()

    async with FakeFaseeh(script) as server:
        received: list[AudioChunk] = []
        with pytest.raises(ServiceTimeoutError):
            await collect(fake_client(session, server), TEXT, received)
    assert pcm_of(received) == deterministic_pcm(TEXT, 24000)[:4800]
    assert not server.http_bodies
    assert not client_tasks()


async def test_close_with_an_error_code_is_connection_lost(session: aiohttp.ClientSession) -> None:
    """A close frame with a non-normal code after the flush is ConnectionLostError."""

    async def script(conn: FakeConnection) -> None:
        text = await conn.read_until_flush()
        await conn.send_audio(deterministic_pcm(text, 24000)[:4800])
        await conn.ws.close(code=aiohttp.WSCloseCode.INTERNAL_ERROR)

    async with FakeFaseeh(script) as server:
        with pytest.raises(ConnectionLostError, match="1011"):
            await collect(fake_client(session, server), TEXT)


async def test_clean_close_before_the_flush_is_connection_lost(
    session: aiohttp.ClientSession,
) -> None:
    """A normal close while the text is still coming is ConnectionLostError."""
    never = asyncio.Event()

    async def deltas() -> AsyncIterator[str]:
        yield "مرحبا بك. "
        await never.wait()
        yield "كيف حالك؟"

    async def script(conn: FakeConnection) -> None:
        await conn.ws.receive()
        await conn.send_audio(deterministic_pcm("مرحبا بك. ", 24000))
        await conn.ws.close()

    async with FakeFaseeh(script) as server:
        with pytest.raises(ConnectionLostError, match="before the end of the text"):
            await collect(fake_client(session, server), deltas())
    assert not client_tasks()


async def test_clean_close_without_audio_falls_back(session: aiohttp.ClientSession) -> None:
    """A socket closed normally after the flush without any audio falls back to HTTP."""
    http_audio = deterministic_pcm(TEXT, 16000)

    async def script(conn: FakeConnection) -> None:
        await conn.read_until_flush()
        await conn.ws.close()

    async with FakeFaseeh(script, http_audio=http_audio) as server:
        chunks = await collect(fake_client(session, server), TEXT)
    assert pcm_of(chunks) == http_audio
    # The rate comes from the response's Content-Type.
    assert {chunk.sample_rate for chunk in chunks} == {16000}
    assert server.http_bodies[0]["text"] == TEXT


async def test_only_ignored_messages_fall_back_after_first_audio_timeout(
    session: aiohttp.ClientSession,
) -> None:
    """Messages that are not audio do not count: no audio in first_audio means HTTP."""
    http_audio = deterministic_pcm(TEXT, 16000)

    async def script(conn: FakeConnection) -> None:
        await conn.read_until_flush()
        for _ in range(10):
            await conn.ws.send_json({"type": "sessionStats"})
            await conn.ws.send_json({"audio": "", "sampleRate": 24000, "isFinal": False})
            await asyncio.sleep(0.05)
        await conn.wait_for_client_close()

    async with FakeFaseeh(script, http_audio=http_audio) as server:
        chunks = await collect(fake_client(session, server), TEXT)
    assert pcm_of(chunks) == http_audio


async def test_fallback_http_error_is_mapped(session: aiohttp.ClientSession) -> None:
    """An HTTP error of the fallback carries the service's message, code and status."""

    async def script(conn: FakeConnection) -> None:
        await conn.read_until_flush()
        await conn.ws.close()

    async with FakeFaseeh(script, http_status=402) as server:
        with pytest.raises(InsufficientBalanceError) as caught:
            await collect(fake_client(session, server), TEXT)
    assert caught.value.message == "HTTP says no"
    assert caught.value.error_code == "40201"
    assert caught.value.status == 402


# Frame handling, against a scripted server.


async def test_frames_without_sample_rate_use_the_requested_rate(
    session: aiohttp.ClientSession,
) -> None:
    """A frame without sampleRate gets the output format's rate; a frame's own rate wins."""

    async def script(conn: FakeConnection) -> None:
        await conn.read_until_flush()
        await conn.send_audio(b"\x01\x02", rate=None)
        await conn.send_audio(b"\x03\x04", rate=22050)
        await conn.send_final()
        await conn.ws.close()

    async with FakeFaseeh(script) as server:
        chunks = await collect(fake_client(session, server), TEXT, output_format="pcm_16000")
    assert [(chunk.pcm, chunk.sample_rate) for chunk in chunks] == [
        (b"\x01\x02", 16000),
        (b"\x03\x04", 22050),
    ]


async def test_ignored_messages_empty_frames_and_audio_on_the_final_frame(
    session: aiohttp.ClientSession,
) -> None:
    """Repeated connectionInitialized, unknown types and empty frames are skipped."""

    async def script(conn: FakeConnection) -> None:
        await conn.read_until_flush()
        await conn.ws.send_json({"type": "connectionInitialized"})
        await conn.ws.send_json({"type": "sessionStats", "characters": 3})
        await conn.send_audio(b"")
        await conn.send_audio(b"\x01\x02\x03\x04")
        await conn.send_audio(b"\x05\x06", final=True)
        await conn.wait_for_client_close()

    async with FakeFaseeh(script) as server:
        chunks = await collect(fake_client(session, server), "مرحبا")
    assert pcm_of(chunks) == b"\x01\x02\x03\x04\x05\x06"


async def test_odd_bytes_are_carried_and_a_trailing_one_dropped(
    session: aiohttp.ClientSession,
) -> None:
    """Only whole samples are yielded; an odd byte left at the very end is dropped."""

    async def script(conn: FakeConnection) -> None:
        await conn.read_until_flush()
        for piece in (b"\x01", b"\x02\x03\x04", b"\x05\x06", b"\x07"):
            await conn.send_audio(piece)
        await conn.send_final()
        await conn.ws.close()

    async with FakeFaseeh(script) as server:
        chunks = await collect(fake_client(session, server), "مرحبا")
    # Frames that arrive together may come joined; a chunk never ends inside a sample.
    assert pcm_of(chunks) == b"\x01\x02\x03\x04\x05\x06"
    assert all(chunk.pcm and len(chunk.pcm) % 2 == 0 for chunk in chunks)


async def test_server_gone_is_service_unavailable(session: aiohttp.ClientSession) -> None:
    """Nothing listening on the port is ServiceUnavailableError."""
    async with FakeFaseeh(batch_script) as server:
        url = server.url
    client = FaseehClient(session, DEFAULT_API_KEY, url, timeouts=FAST)
    with pytest.raises(ServiceUnavailableError):
        await collect(client, TEXT)


async def test_idle_timeout_is_configurable(
    faseeh_sim: FaseehSimulator, session: aiohttp.ClientSession
) -> None:
    """Audio slower than the default test timeouts stays on the socket with longer ones."""
    faseeh_sim.config.first_audio_delay = 0.9
    patient = Timeouts(connect=1.0, first_audio=1.8, idle=1.8, final_grace=0.2)
    client = FaseehClient(session, DEFAULT_API_KEY, faseeh_sim.url, timeouts=patient)
    chunks = await collect(client, TEXT)
    assert pcm_of(chunks) == deterministic_pcm(TEXT, 24000)
    assert not faseeh_sim.http_requests


async def _behind_a_slow_consumer(
    session: aiohttp.ClientSession, server: FakeFaseeh, all_sent: asyncio.Event
) -> list[AudioChunk]:
    """Take the first chunk, then fall behind until the server has sent everything."""
    chunks: list[AudioChunk] = []
    client = fake_client(session, server)
    async with (
        asyncio.timeout(10),
        aclosing(client.stream_speech(TEXT, voice_id=VOICE, model_id=MODEL)) as speech,
    ):
        async for chunk in speech:
            chunks.append(chunk)
            if len(chunks) == 1:
                await all_sent.wait()
                await asyncio.sleep(0.2)
    return chunks


async def test_audio_that_arrived_together_is_handed_on_joined_and_byte_exact(
    session: aiohttp.ClientSession,
) -> None:
    """A consumer that fell behind gets the frames waiting for it in one go, nothing lost."""
    frames = [bytes([n]) * 480 for n in range(40)]
    all_sent = asyncio.Event()

    async def script(conn: FakeConnection) -> None:
        await conn.read_until_flush()
        for pcm in frames:
            await conn.send_audio(pcm)
        await conn.send_final()
        all_sent.set()
        await conn.wait_for_client_close()

    async with FakeFaseeh(script) as server:
        chunks = await _behind_a_slow_consumer(session, server, all_sent)
    assert pcm_of(chunks) == b"".join(frames)
    assert len(chunks) < len(frames) / 2


async def test_audio_at_another_rate_is_never_joined_to_the_audio_before_it(
    session: aiohttp.ClientSession,
) -> None:
    """Each chunk keeps its own sample rate, even when frames of two rates wait together."""
    all_sent = asyncio.Event()

    async def script(conn: FakeConnection) -> None:
        await conn.read_until_flush()
        for pcm, rate in ((b"\x01\x02", 24000), (b"\x03\x04", 24000), (b"\x05\x06", 16000)):
            await conn.send_audio(pcm, rate=rate)
        await conn.send_audio(b"\x07\x08", rate=16000, final=True)
        all_sent.set()
        await conn.wait_for_client_close()

    async with FakeFaseeh(script) as server:
        chunks = await _behind_a_slow_consumer(session, server, all_sent)
    by_rate: dict[int, bytes] = {}
    for chunk in chunks:
        by_rate[chunk.sample_rate] = by_rate.get(chunk.sample_rate, b"") + chunk.pcm
    assert by_rate == {24000: b"\x01\x02\x03\x04", 16000: b"\x05\x06\x07\x08"}
    assert [chunk.sample_rate for chunk in chunks][-1] == 16000


@pytest.mark.parametrize(
    ("behind", "error"),
    [
        (
            '{"type": "error", "errorCode": 40201, "errorMessage": "empty"}',
            InsufficientBalanceError,
        ),
        ("not json", ProtocolError),
    ],
    ids=["error_frame", "malformed_frame"],
)
async def test_a_failure_behind_waiting_audio_is_still_reported_as_itself(
    session: aiohttp.ClientSession, behind: str, error: type[Exception]
) -> None:
    """Joining the audio that waits never swallows the error frame behind it."""
    all_sent = asyncio.Event()

    async def script(conn: FakeConnection) -> None:
        await conn.read_until_flush()
        for _ in range(10):
            await conn.send_audio(b"\x01\x02" * 240)
        await conn.ws.send_str(behind)
        all_sent.set()
        await conn.wait_for_client_close()

    async with FakeFaseeh(script) as server:
        with pytest.raises(error):
            await _behind_a_slow_consumer(session, server, all_sent)
