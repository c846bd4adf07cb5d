"""Audio for the simulator: deterministic tones for exact tests, espeak-ng speech for demos."""

import array
import asyncio
from functools import lru_cache
import math
import struct
import sys

MS_PER_CHARACTER = 50
_BLOCKS_PER_SECOND = 1000 // MS_PER_CHARACTER
_AMPLITUDE = 9000
# The marker in a block's first sample is the character index modulo this.
MARKER_MODULUS = 0x8000

ESPEAK_NG = "espeak-ng"
FFMPEG = "ffmpeg"
ESPEAK_VOICE = "ar"


class SpeechError(RuntimeError):
    """espeak-ng or ffmpeg failed or produced something unusable."""


def tone_frequency(character: str) -> float:
    """Return the tone frequency (Hz) used for a character."""
    # Capped at 2 kHz so the tone stays below Nyquist even at 8 kHz.
    return 220.0 + (ord(character) % 90) * 20.0


def block_offset(index: int, sample_rate: int) -> int:
    """Return the first sample of character `index`; integer maths keeps 22050 Hz exact."""
    return index * sample_rate // _BLOCKS_PER_SECOND


@lru_cache(maxsize=8192)
def _tone_tail(character: str, sample_rate: int, length: int) -> bytes:
    """Return a character's tone block without its first sample, as PCM16 LE."""
    step = 2.0 * math.pi * tone_frequency(character) / sample_rate
    samples = array.array("h", (int(_AMPLITUDE * math.sin(step * n)) for n in range(1, length)))
    if sys.byteorder == "big":
        samples.byteswap()
    return samples.tobytes()


def deterministic_pcm(text: str, sample_rate: int, start: int = 0) -> bytes:
    """Return 50 ms of PCM16 LE mono per character of `text`, the first at index `start`."""
    if sample_rate < _BLOCKS_PER_SECOND:
        raise ValueError(f"sample_rate must be at least {_BLOCKS_PER_SECOND}")
    if start < 0:
        raise ValueError("start must not be negative")
    parts: list[bytes] = []
    position = block_offset(start, sample_rate)
    for index, character in enumerate(text, start):
        end = block_offset(index + 1, sample_rate)
        # The index in the first sample makes reordered or repeated audio visible.
        parts.append((index % MARKER_MODULUS).to_bytes(2, "little"))
        parts.append(_tone_tail(character, sample_rate, end - position))
        position = end
    return b"".join(parts)


def wav_to_pcm(wav: bytes) -> tuple[int, bytes]:
    """Return (sample_rate, PCM16 LE mono data) from a RIFF/WAVE file."""
    if len(wav) < 12 or wav[:4] != b"RIFF" or wav[8:12] != b"WAVE":
        raise SpeechError("not a RIFF/WAVE file")
    position = 12
    sample_rate: int | None = None
    while position + 8 <= len(wav):
        chunk_id = wav[position : position + 4]
        (size,) = struct.unpack_from("<I", wav, position + 4)
        body = position + 8
        if chunk_id == b"fmt ":
            fmt, channels, sample_rate, _, _, bits = struct.unpack_from("<HHIIHH", wav, body)
            if fmt != 1 or channels != 1 or bits != 16:
                raise SpeechError(f"unsupported WAV format {fmt}/{channels}ch/{bits}bit")
        elif chunk_id == b"data":
            if sample_rate is None:
                raise SpeechError("WAV data chunk before fmt chunk")
            # Streamed WAVs (espeak-ng --stdout) carry a placeholder size; the slice clamps it.
            data = wav[body : body + size]
            return sample_rate, data[: len(data) - len(data) % 2]
        position = body + size + (size & 1)
    raise SpeechError("WAV file has no data chunk")


async def _run(argv: list[str], stdin: bytes) -> bytes:
    """Run a program with `stdin` and return its stdout; never leaves the process behind."""
    process = await asyncio.create_subprocess_exec(
        *argv,
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        stdout, stderr = await process.communicate(stdin)
    except BaseException:
        if process.returncode is None:
            process.kill()
        await process.wait()
        raise
    if process.returncode != 0:
        message = stderr.decode(errors="replace").strip()
        raise SpeechError(f"{argv[0]} exited with {process.returncode}: {message}")
    return stdout


async def speech_pcm(text: str, sample_rate: int) -> bytes:
    """Return real Arabic speech for `text` as PCM16 LE mono at `sample_rate`."""
    if not text.strip():
        return b""
    wav = await _run([ESPEAK_NG, "-v", ESPEAK_VOICE, "--stdin", "--stdout"], text.encode())
    source_rate, pcm = wav_to_pcm(wav)
    if source_rate == sample_rate or not pcm:
        return pcm
    raw = ["-f", "s16le", "-ac", "1"]
    resample = [
        *[FFMPEG, "-hide_banner", "-loglevel", "error"],
        *[*raw, "-ar", str(source_rate), "-i", "pipe:0"],
        *[*raw, "-ar", str(sample_rate), "pipe:1"],
    ]
    return await _run(resample, pcm)


def split_chunks(pcm: bytes, size: int, *, odd: bool = False) -> list[bytes]:
    """Split PCM into frames of `size` bytes; `odd` forces boundaries inside samples."""
    if size < 1:
        raise ValueError("chunk size must be positive")
    if odd:
        size |= 1
        if 1 < len(pcm) <= size:
            # Short audio would fit one even frame; split it so a boundary is still odd.
            size = (len(pcm) // 2) | 1
    return [pcm[offset : offset + size] for offset in range(0, len(pcm), size)]


def pcm_to_wav(pcm: bytes, sample_rate: int) -> bytes:
    """Wrap PCM16 LE mono in a minimal WAV container."""
    header = struct.pack(
        "<4sI4s4sIHHIIHH4sI",
        b"RIFF",
        36 + len(pcm),
        b"WAVE",
        b"fmt ",
        16,
        1,
        1,
        sample_rate,
        sample_rate * 2,
        2,
        16,
        b"data",
        len(pcm),
    )
    return header + pcm
