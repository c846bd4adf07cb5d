"""A WAV header on audio coming in is removed however the bytes are split; raw PCM is untouched."""

import asyncio
from collections.abc import AsyncIterator
import struct

from hypothesis import given, strategies as st

from custom_components.faseeh.wav import streaming_wav_header, without_wav_header


async def _pieces(data: bytes, cuts: list[int]) -> AsyncIterator[bytes]:
    start = 0
    for cut in sorted({min(cut, len(data)) for cut in cuts}):
        yield data[start:cut]
        start = cut
    yield data[start:]


def _passed(data: bytes, cuts: list[int]) -> bytes:
    async def collect() -> bytes:
        return b"".join([chunk async for chunk in without_wav_header(_pieces(data, cuts))])

    return asyncio.run(collect())


def _wav_with_list_chunk(pcm: bytes) -> bytes:
    info = b"LIST" + struct.pack("<I", 5) + b"INFO\x00\x00"  # odd size: a pad byte follows
    fmt = struct.pack("<4sIHHIIHH", b"fmt ", 16, 1, 1, 16000, 32000, 2, 16)
    body = b"WAVE" + fmt + info + b"data" + struct.pack("<I", len(pcm)) + pcm
    return b"RIFF" + struct.pack("<I", len(body)) + body


@given(st.binary(max_size=400), st.lists(st.integers(0, 500), max_size=8))
def test_a_file_with_a_header_passes_only_its_samples(pcm: bytes, cuts: list[int]) -> None:
    """The header, with any chunks before the data, never reaches the service."""
    assert _passed(_wav_with_list_chunk(pcm), cuts) == pcm
    assert _passed(streaming_wav_header(16000) + pcm, cuts) == pcm


@given(st.binary(max_size=400), st.lists(st.integers(0, 500), max_size=8))
def test_raw_pcm_passes_unchanged(pcm: bytes, cuts: list[int]) -> None:
    """A pipeline's headerless audio is passed on byte for byte."""
    if pcm.startswith(b"RIFF"):
        pcm = b"\x00" + pcm
    assert _passed(pcm, cuts) == pcm


def test_a_stream_that_ends_inside_a_header_has_no_audio() -> None:
    """Half a header is not audio."""
    assert _passed(streaming_wav_header(16000)[:30], [10]) == b""
