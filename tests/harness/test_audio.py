"""The one audio verifier: which WAVs pass, which are refused, and what it says about them."""

from __future__ import annotations

import asyncio
from pathlib import Path
import struct

import pytest

from custom_components.faseeh.wav import streaming_wav_header
from harness.audio import AudioError, parse_wav, verify_wav, wav_pcm
from simulator import deterministic_pcm

SPEECH = deterministic_pcm("مرحبا بك", 24000)


def test_a_streamed_wav_gives_its_pcm_rate_and_duration() -> None:
    """The integration's own streaming header: sizes 'unknown', the PCM is what follows."""
    wav = parse_wav(streaming_wav_header(24000) + SPEECH)
    assert wav.streamed
    assert (wav.sample_rate, wav.channels, wav.pcm) == (24000, 1, SPEECH)
    assert wav.duration == pytest.approx(len(SPEECH) / 48000)


def test_a_wav_with_fixed_sizes_and_an_extra_chunk_is_read_past_the_chunk() -> None:
    """A LIST chunk between fmt and data is skipped; fixed sizes are reported as such."""
    header = streaming_wav_header(16000)
    fmt = header[12:36]
    extra = b"LIST" + struct.pack("<I", 3) + b"abc\x00"  # Odd size: one pad byte.
    data = b"data" + struct.pack("<I", len(SPEECH)) + SPEECH
    wav = parse_wav(b"RIFF" + struct.pack("<I", 1234) + b"WAVE" + fmt + extra + data)
    assert not wav.streamed
    assert (wav.sample_rate, wav.pcm) == (16000, SPEECH)


@pytest.mark.parametrize(
    ("audio", "complaint"),
    [
        (b"ID3" + bytes(60), "not a RIFF/WAVE file"),
        (streaming_wav_header(24000)[:36] + b"junk" + bytes(8), "no data chunk"),
        (b"RIFF\xff\xff\xff\xffWAVEdata\xff\xff\xff\xff" + bytes(40), "before a fmt chunk"),
        (streaming_wav_header(24000, sample_width=1) + SPEECH, "not PCM16"),
        (streaming_wav_header(24000) + SPEECH[:-1], "not whole frames"),
    ],
)
def test_audio_that_breaks_a_rule_is_refused_with_the_rule(audio: bytes, complaint: str) -> None:
    """Each broken rule is named in the error."""
    with pytest.raises(AudioError, match=complaint):
        parse_wav(audio)


def test_pcm_at_another_rate_than_expected_is_refused() -> None:
    """A test expecting 24 kHz mono does not silently accept 16 kHz."""
    with pytest.raises(AudioError, match="16000 Hz"):
        wav_pcm(streaming_wav_header(16000) + SPEECH, 24000)


def test_a_wav_of_silence_is_not_speech(tmp_path: Path) -> None:
    """A well-formed file of zeros fails the not-silence check."""
    path = tmp_path / "silence.wav"
    path.write_bytes(streaming_wav_header(24000) + bytes(48000))
    with pytest.raises(AudioError, match="silence"):
        asyncio.run(verify_wav(path))


def test_a_wav_of_speech_decodes_in_full_with_ffmpeg(tmp_path: Path) -> None:
    """The real ffmpeg decodes every sample; the report says the header was streamed."""
    path = tmp_path / "speech.wav"
    path.write_bytes(streaming_wav_header(24000) + SPEECH)
    audio = asyncio.run(verify_wav(path))
    assert audio.duration == pytest.approx(len(SPEECH) / 48000)
    assert "0xFFFFFFFF (streamed)" in audio.checks
