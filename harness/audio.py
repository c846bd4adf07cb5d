"""The one audio verifier: WAV header rules, decoding with the real ffmpeg, silence, duration.

The header rules come from the integration's own ``custom_components/faseeh/wav.py``: a stream
says "unknown" (0xFFFFFFFF) in its RIFF and data sizes, so the PCM is whatever follows the data
chunk's header, never what a size field claims.
"""

from __future__ import annotations

import array
import asyncio
from dataclasses import dataclass
import json
import math
from pathlib import Path
import sys

from custom_components.faseeh.wav import UNKNOWN_SIZE, WAV_HEADER_SIZE

from .errors import HarnessError

# Below this RMS (on the int16 scale, ~ -50 dBFS) a file counts as silence.
SILENCE_RMS = 100.0
PCM_FORMAT = 1
_UNKNOWN = UNKNOWN_SIZE.to_bytes(4, "little")


class AudioError(HarnessError):
    """The audio breaks a rule; the message names the file and the rule."""


@dataclass(frozen=True, slots=True)
class Wav:
    """A parsed PCM16 WAV: its format and the PCM after the data chunk's header."""

    sample_rate: int
    channels: int
    pcm: bytes
    streamed: bool  # Both sizes say "unknown", as a stream that cannot seek back must.

    @property
    def duration(self) -> float:
        """Seconds of audio in the PCM."""
        return len(self.pcm) / (2 * self.channels * self.sample_rate)


@dataclass(frozen=True, slots=True)
class Audio:
    """What the checks found in one file."""

    duration: float
    description: str  # Codec, rate, channels.
    checks: str  # What was verified, for the report.


def parse_wav(data: bytes, name: str = "the audio") -> Wav:
    """Check the RIFF/WAVE rules of a PCM16 WAV and return its format and PCM."""
    if len(data) < WAV_HEADER_SIZE or data[:4] != b"RIFF" or data[8:12] != b"WAVE":
        raise AudioError(f"{name} is not a RIFF/WAVE file (starts {data[:12]!r})")
    fmt, pcm_offset = _wav_chunks(data, name)
    if len(fmt) < 16:
        raise AudioError(f"{name} has a {len(fmt)}-byte fmt chunk")
    audio_format = int.from_bytes(fmt[0:2], "little")
    channels = int.from_bytes(fmt[2:4], "little")
    rate = int.from_bytes(fmt[4:8], "little")
    bits = int.from_bytes(fmt[14:16], "little")
    if audio_format != PCM_FORMAT or bits != 16 or channels < 1 or rate <= 0:
        raise AudioError(
            f"{name} is not PCM16 (format {audio_format}, {bits} bits, {channels} channels)"
        )
    pcm = data[pcm_offset:]
    if len(pcm) % (channels * 2):
        raise AudioError(f"{name} has {len(pcm)} bytes of PCM, not whole frames of audio")
    streamed = data[4:8] == data[pcm_offset - 4 : pcm_offset] == _UNKNOWN
    return Wav(sample_rate=rate, channels=channels, pcm=pcm, streamed=streamed)


def wav_pcm(data: bytes, sample_rate: int, channels: int = 1) -> bytes:
    """The PCM of a WAV that must be PCM16 at this rate and channel count (for the tests)."""
    wav = parse_wav(data)
    if (wav.sample_rate, wav.channels) != (sample_rate, channels):
        raise AudioError(
            f"the audio is {wav.sample_rate} Hz with {wav.channels} channels, "
            f"not {sample_rate} Hz with {channels}"
        )
    return wav.pcm


def _wav_chunks(data: bytes, name: str) -> tuple[bytes, int]:
    """The fmt chunk and the offset of the PCM in the data chunk (whose size is ignored)."""
    offset = 12
    fmt = b""
    while offset + 8 <= len(data):
        chunk_id = data[offset : offset + 4]
        size = int.from_bytes(data[offset + 4 : offset + 8], "little")
        if chunk_id == b"data":
            if not fmt:
                raise AudioError(f"{name} has its data chunk before a fmt chunk")
            return fmt, offset + 8
        if chunk_id == b"fmt ":
            fmt = data[offset + 8 : offset + 8 + size]
        offset += 8 + size + (size & 1)
    raise AudioError(f"{name} has no data chunk")


async def verify_wav(path: Path) -> Audio:
    """A streamed WAV of speech that ffmpeg decodes in full; its duration comes from the PCM."""
    data = await asyncio.to_thread(path.read_bytes)
    wav = parse_wav(data, path.name)
    if not wav.pcm:
        raise AudioError(f"{path.name} has no PCM after its header")
    rms = pcm_rms(wav.pcm)
    if rms < SILENCE_RMS:
        raise AudioError(f"{path.name} is silence (RMS {rms:.0f})")
    decoded = await decode(path)
    expected = len(wav.pcm) // wav.channels
    if len(decoded) != expected:
        raise AudioError(f"ffmpeg decoded {len(decoded)} bytes of {path.name}, expected {expected}")
    sizes = "0xFFFFFFFF (streamed)" if wav.streamed else "fixed"
    return Audio(
        duration=wav.duration,
        description=(
            f"PCM16, {wav.sample_rate} Hz, {_channels(wav.channels)}, "
            f"{len(wav.pcm)} bytes after the header"
        ),
        checks=(
            f"header sizes {sizes}, not silence (RMS {dbfs(rms):.1f} dBFS), "
            "ffmpeg decodes every sample without an error"
        ),
    )


async def verify_mp3(path: Path) -> Audio:
    """An MP3 stream (ffprobe) that ffmpeg decodes to speech; its duration from the samples.

    HA encodes VBR MP3 to a pipe, where ffmpeg cannot go back to fill in the Xing header, so
    ffprobe's own duration is only a bitrate estimate.
    """
    probe = await run_tool(
        "ffprobe",
        "-v",
        "error",
        "-show_entries",
        "stream=codec_name,sample_rate,channels:format=bit_rate",
        "-of",
        "json",
        str(path),
        subject=path.name,
    )
    info = json.loads(probe)
    stream = (info.get("streams") or [{}])[0]
    if stream.get("codec_name") != "mp3":
        raise AudioError(f"{path.name} holds {stream.get('codec_name')!r}, not mp3")
    rate = int(stream.get("sample_rate") or 0)
    if rate <= 0:
        raise AudioError(f"ffprobe finds no sample rate in {path.name}")
    decoded = await decode(path)
    duration = len(decoded) / (2 * rate)
    if duration <= 0:
        raise AudioError(f"{path.name} decodes to no audio at all")
    rms = pcm_rms(decoded)
    if rms < SILENCE_RMS:
        raise AudioError(f"{path.name} decodes to silence (RMS {rms:.0f})")
    bit_rate = int(info.get("format", {}).get("bit_rate") or 0)
    return Audio(
        duration=duration,
        description=(
            f"MP3, {rate} Hz, {_channels(int(stream.get('channels') or 0))}, "
            f"~{bit_rate // 1000} kbit/s VBR; measured by decoding it"
        ),
        checks=(
            f"ffprobe: mp3 stream; not silence (RMS {dbfs(rms):.1f} dBFS); "
            "ffmpeg decodes it without an error"
        ),
    )


async def decode(source: Path | bytes, sample_rate: int | None = None) -> bytes:
    """Decode a file or bytes to mono PCM16 with ffmpeg; any error it reports is a failure.

    Not warnings: ffmpeg warns about the "unknown" 0xFFFFFFFF sizes and the short last packet
    of every streamed WAV, its own piped output included. Callers check the decoded length.
    """
    rate = ["-ar", str(sample_rate)] if sample_rate is not None else []
    target = str(source) if isinstance(source, Path) else "pipe:0"
    return await run_tool(
        "ffmpeg",
        "-nostdin" if isinstance(source, Path) else "-hide_banner",
        "-v",
        "error",
        "-i",
        target,
        "-f",
        "s16le",
        "-acodec",
        "pcm_s16le",
        "-ac",
        "1",
        *rate,
        "-",
        subject=source.name if isinstance(source, Path) else "the audio",
        quiet=True,
        stdin=None if isinstance(source, Path) else source,
    )


async def run_tool(
    *command: str, subject: str, quiet: bool = False, stdin: bytes | None = None
) -> bytes:
    """Run a tool on subject; fail on a non-zero exit or (quiet) on anything it complains of."""
    process = await asyncio.create_subprocess_exec(
        *command,
        stdin=asyncio.subprocess.DEVNULL if stdin is None else asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await process.communicate(stdin)
    complaint = err.decode(errors="replace").strip()
    if process.returncode != 0 or (quiet and complaint):
        raise AudioError(f"{command[0]} failed on {subject}: {complaint or process.returncode}")
    return out


def pcm_rms(pcm: bytes) -> float:
    """Root mean square of little-endian PCM16 samples."""
    samples = array.array("h")
    samples.frombytes(pcm[: len(pcm) - len(pcm) % 2])
    if sys.byteorder == "big":
        samples.byteswap()
    if not samples:
        return 0.0
    return math.sqrt(sum(sample * sample for sample in samples) / len(samples))


def dbfs(rms: float) -> float:
    """An RMS on the int16 scale in dB below full scale."""
    return 20 * math.log10(max(rms, 1e-9) / 32768)


def _channels(count: int) -> str:
    return {1: "mono", 2: "stereo"}.get(count, f"{count} channels")
