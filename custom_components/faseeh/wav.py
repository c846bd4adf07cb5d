"""WAV framing: a header for audio of unknown length, and removing a header from audio in."""

from collections.abc import AsyncGenerator, AsyncIterable
import struct

# What ffmpeg writes on a pipe: HA's ffmpeg conversion, ESPHome's wav parser and Python's
# `wave` all read such a header as "stream until the data ends" (0 would mean "no audio").
UNKNOWN_SIZE = 0xFFFFFFFF
WAV_HEADER_SIZE = 44


def streaming_wav_header(sample_rate: int, channels: int = 1, sample_width: int = 2) -> bytes:
    """Return a 44-byte PCM WAV header whose RIFF and data sizes say 'unknown'."""
    block_align = channels * sample_width
    return struct.pack(
        "<4sI4s4sIHHIIHH4sI",
        b"RIFF",
        UNKNOWN_SIZE,
        b"WAVE",
        b"fmt ",
        16,  # size of the PCM fmt chunk
        1,  # PCM
        channels,
        sample_rate,
        sample_rate * block_align,
        block_align,
        sample_width * 8,
        b"data",
        UNKNOWN_SIZE,
    )


async def without_wav_header(stream: AsyncIterable[bytes]) -> AsyncGenerator[bytes]:
    """Pass raw PCM on as it arrives; drop a leading RIFF/WAVE header up to its data chunk.

    A file posted to Home Assistant's STT endpoint keeps its header; pipelines send none.
    """
    head = b""
    chunks = aiter(stream)
    async for chunk in chunks:
        head += chunk
        if len(head) < 12 and b"RIFF".startswith(head[:4]):
            continue
        if not (head.startswith(b"RIFF") and head[8:12] == b"WAVE"):
            break
        if (data := _data_offset(head)) is None:
            continue
        head = head[data:]
        break
    else:
        # The stream ended inside a header: there is no audio in it.
        if head.startswith(b"RIFF"):
            return
    if head:
        yield head
    async for chunk in chunks:
        yield chunk


def _data_offset(head: bytes) -> int | None:
    """Where the data chunk's samples start, once the header up to it has arrived."""
    position = 12
    while position + 8 <= len(head):
        chunk_id = head[position : position + 4]
        (size,) = struct.unpack_from("<I", head, position + 4)
        if chunk_id == b"data":
            return position + 8
        position += 8 + size + (size & 1)
    return None
