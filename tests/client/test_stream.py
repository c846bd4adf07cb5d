"""stream_speech against the simulator: complete, byte-exact audio for every end-of-stream style."""

import asyncio
from collections.abc import AsyncIterator
from contextlib import aclosing

import pytest

from custom_components.faseeh.client import (
    OUTPUT_FORMATS,
    FaseehClient,
    InvalidSettingsError,
    VoiceSettings,
)
from simulator import DEFAULT_API_KEY, FINAL_STYLES, FaseehSimulator, deterministic_pcm
from simulator.server import FinalStyle

from .conftest import MODEL, VOICE, client_tasks, collect, deltas_of, pcm_of

ONE_SENTENCE = "مرحبا بك في فصيح"
SENTENCES = "مرحبا بك في فصيح. كيف حالك؟ أنا بخير، شكرا!\nإلى اللقاء."
TEXTS = [ONE_SENTENCE, SENTENCES, "كيف حالك؟ "]


def _split(text: str, size: int) -> list[str]:
    return [text[index : index + size] for index in range(0, len(text), size)]


def _text_messages(sim: FaseehSimulator) -> list[dict[str, object]]:
    return [m for m in sim.ws_sessions[-1].messages if m.get("type") == "text"]


@pytest.mark.parametrize("final_style", FINAL_STYLES)
@pytest.mark.parametrize("close_after_final", [False, True])
@pytest.mark.parametrize("text", TEXTS)
@pytest.mark.parametrize("streamed", [False, True], ids=["str", "deltas"])
async def test_every_final_style_gives_exact_audio(
    faseeh_sim: FaseehSimulator,
    client: FaseehClient,
    *,
    final_style: FinalStyle,
    close_after_final: bool,
    text: str,
    streamed: bool,
) -> None:
    """Whatever the isFinal style and close behaviour, the audio is complete and exact."""
    faseeh_sim.config.final_style = final_style
    faseeh_sim.config.close_after_final = close_after_final
    source = deltas_of(_split(text, 3)) if streamed else text
    chunks = await collect(client, source)
    session = faseeh_sim.ws_sessions[-1]
    assert session.text == text
    assert pcm_of(chunks) == deterministic_pcm(text, 24000)
    assert {chunk.sample_rate for chunk in chunks} == {24000}
    assert all(len(chunk.pcm) % 2 == 0 and chunk.pcm for chunk in chunks)
    assert session.client_sent_close
    assert not faseeh_sim.http_requests
    assert not client_tasks()
    assert await faseeh_sim.all_sessions_closed()


@pytest.mark.parametrize("output_format", list(OUTPUT_FORMATS))
async def test_sample_rate_comes_from_the_frames(
    faseeh_sim: FaseehSimulator, client: FaseehClient, output_format: str
) -> None:
    """Each output format gives its sample rate, exact audio, and the init carries it."""
    rate = OUTPUT_FORMATS[output_format]
    chunks = await collect(client, SENTENCES, output_format=output_format)
    assert {chunk.sample_rate for chunk in chunks} == {rate}
    assert pcm_of(chunks) == deterministic_pcm(SENTENCES, rate)
    assert faseeh_sim.ws_sessions[-1].init is not None
    assert faseeh_sim.ws_sessions[-1].init["output_format"] == output_format


async def test_init_message_and_key_placement(
    faseeh_sim: FaseehSimulator, client: FaseehClient
) -> None:
    """The key goes in the query and in initConnection (not a header); settings are sent."""
    settings = VoiceSettings(stability=0.3, similarity_boost=0.9, speed=1.1)
    await collect(client, ONE_SENTENCE, settings=settings, voice_id="ar-najdi-male-2")
    session = faseeh_sim.ws_sessions[-1]
    assert session.query_key == DEFAULT_API_KEY
    assert session.header_key is None
    assert session.init == {
        "type": "initConnection",
        "model_id": MODEL,
        "voice_id": "ar-najdi-male-2",
        "voice_settings": {"stability": 0.3, "similarity_boost": 0.9, "speed": 1.1},
        "output_format": "pcm_24000",
        "x_api_key": DEFAULT_API_KEY,
    }
    assert session.messages[0] == session.init
    assert session.messages[-2]["flush"] is True
    assert session.messages[-1] == {"type": "closeConnection"}


@pytest.mark.parametrize(
    ("query", "init"), [(True, False), (False, True)], ids=["query-only", "init-only"]
)
async def test_servers_accepting_one_key_channel(
    faseeh_sim: FaseehSimulator, client: FaseehClient, query: bool, init: bool
) -> None:
    """A server that accepts only the query key, or only the init-message key, works."""
    faseeh_sim.config.accept_query_key = query
    faseeh_sim.config.accept_header_key = False
    faseeh_sim.config.accept_init_key = init
    chunks = await collect(client, SENTENCES)
    assert pcm_of(chunks) == deterministic_pcm(SENTENCES, 24000)
    assert not faseeh_sim.http_requests


async def test_streamed_text_triggers_at_sentence_marks_before_the_end(
    faseeh_sim: FaseehSimulator, client: FaseehClient
) -> None:
    """Deltas split mid-word: text sent once, triggers at marks, first audio before last delta."""
    first_audio = asyncio.Event()
    log: list[str] = []
    parts = ["مرحبا ب", "ك في فص", "يح. كي", "ف حا", "لك؟", " أنا بخ", "ير"]

    async def deltas() -> AsyncIterator[str]:
        for number, part in enumerate(parts):
            if number == 4:
                # Only audio for the first sentence can unblock the rest of the text.
                await first_audio.wait()
            if number == len(parts) - 1:
                log.append("last delta")
            yield part

    chunks = []
    async with (
        asyncio.timeout(5),
        aclosing(client.stream_speech(deltas(), voice_id=VOICE, model_id=MODEL)) as stream,
    ):
        async for chunk in stream:
            if not first_audio.is_set():
                log.append("first audio")
                first_audio.set()
            chunks.append(chunk)

    text = "".join(parts)
    assert log == ["first audio", "last delta"]
    assert faseeh_sim.ws_sessions[-1].text == text
    assert pcm_of(chunks) == deterministic_pcm(text, 24000)
    messages = _text_messages(faseeh_sim)
    assert [m["text"] for m in messages] == ["مرحبا بك في فصيح. ", "كيف حالك؟", " أنا بخير"]
    assert [m.get("flush", False) for m in messages] == [False, False, True]
    assert all(m["try_trigger_generation"] is True for m in messages)


async def test_long_text_without_punctuation_is_capped(
    faseeh_sim: FaseehSimulator, client: FaseehClient
) -> None:
    """Text with no marks is still triggered, in pieces of at most 200 chars cut at spaces."""
    text = " ".join(["كلمة"] * 120)
    chunks = await collect(client, deltas_of(_split(text, 7)))
    messages = _text_messages(faseeh_sim)
    assert len(messages) > 2
    assert all(len(str(m["text"])) <= 200 for m in messages)
    assert all(str(m["text"]).endswith(" ") for m in messages[:-1])
    assert pcm_of(chunks) == deterministic_pcm(text, 24000)


async def test_realtime_pacing_and_first_audio_delay(
    faseeh_sim: FaseehSimulator, client: FaseehClient
) -> None:
    """Paced audio with a first-audio delay per generation is still complete."""
    faseeh_sim.config.first_audio_delay = 0.05
    faseeh_sim.config.realtime_factor = 50.0
    faseeh_sim.config.final_style = "batch"
    chunks = await collect(client, SENTENCES)
    assert pcm_of(chunks) == deterministic_pcm(SENTENCES, 24000)


async def test_stopping_early_closes_the_socket(
    faseeh_sim: FaseehSimulator, client: FaseehClient
) -> None:
    """A consumer that stops after one chunk closes the socket and leaves no task."""
    faseeh_sim.config.chunk_bytes = 480
    faseeh_sim.config.realtime_factor = 20.0
    async with aclosing(client.stream_speech(SENTENCES, voice_id=VOICE, model_id=MODEL)) as stream:
        async for chunk in stream:
            assert chunk.pcm
            break
    assert not client_tasks()
    assert await faseeh_sim.all_sessions_closed()


async def test_error_in_the_callers_text_propagates(
    faseeh_sim: FaseehSimulator, client: FaseehClient
) -> None:
    """An exception raised by the caller's delta iterable reaches the consumer."""

    async def deltas() -> AsyncIterator[str]:
        yield "مرحبا. "
        await asyncio.sleep(0.05)
        raise RuntimeError("the LLM failed")

    with pytest.raises(RuntimeError, match="the LLM failed"):
        await collect(client, deltas())
    assert not client_tasks()
    assert await faseeh_sim.all_sessions_closed()


async def test_empty_streamed_text_is_invalid(
    faseeh_sim: FaseehSimulator, client: FaseehClient
) -> None:
    """Deltas that add up to nothing (or only whitespace) raise InvalidSettingsError."""
    with pytest.raises(InvalidSettingsError):
        await collect(client, deltas_of(["", "  ", "\n"]))
    assert not client_tasks()
    assert not faseeh_sim.http_requests


async def test_two_streams_in_parallel(faseeh_sim: FaseehSimulator, client: FaseehClient) -> None:
    """Independent streams on one session do not mix their audio."""
    first, second = await asyncio.gather(
        collect(client, ONE_SENTENCE), collect(client, SENTENCES, output_format="pcm_16000")
    )
    assert pcm_of(first) == deterministic_pcm(ONE_SENTENCE, 24000)
    assert pcm_of(second) == deterministic_pcm(SENTENCES, 16000)
