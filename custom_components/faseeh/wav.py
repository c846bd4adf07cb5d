"""WAV framing for audio whose length is unknown when it starts."""

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
