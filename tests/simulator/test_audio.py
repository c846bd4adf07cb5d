"""Deterministic and speech audio, and the WAV and chunking helpers."""

import asyncio
import itertools
import os
from pathlib import Path
import struct
import time

from hypothesis import given, settings, strategies as st
import pytest

from harness.audio import pcm_rms
from simulator import deterministic_pcm
from simulator.audio import (
    MARKER_MODULUS,
    SpeechError,
    block_offset,
    pcm_to_wav,
    speech_pcm,
    split_chunks,
    wav_to_pcm,
)

from .helpers import GREETING, samples


@pytest.mark.parametrize("rate", [8000, 16000, 22050, 24000, 44100, 48000])
def test_fifty_ms_per_character(rate: int) -> None:
    """Each character is 50 ms; whitespace counts too; odd rates stay exact overall."""
    for length in (1, 2, 7, 40):
        pcm = deterministic_pcm(("ab c" * 10)[:length], rate)
        assert len(pcm) == 2 * (length * rate // 20)


def test_first_sample_of_each_block_is_the_character_index() -> None:
    """Reordered audio is visible: block i starts with sample value i."""
    pcm = deterministic_pcm(GREETING, 24000, start=5)
    values = samples(pcm)
    assert [values[i * 1200] for i in range(len(GREETING))] == list(range(5, 5 + len(GREETING)))
    assert samples(deterministic_pcm("x", 8000, start=MARKER_MODULUS + 3))[0] == 3


def test_tone_depends_on_the_character() -> None:
    """Different characters sound different; one character has one tone at any index."""
    pair = deterministic_pcm("مب", 24000)
    assert pair[2:2400] != pair[2402:]
    assert deterministic_pcm("م", 24000, start=9)[2:] == deterministic_pcm("م", 24000)[2:]
    assert pcm_rms(deterministic_pcm(" ", 24000)) > 1000


@settings(max_examples=50, deadline=None)
@given(
    text=st.text(min_size=0, max_size=30),
    cuts=st.lists(st.integers(min_value=0, max_value=30), max_size=5),
    rate=st.sampled_from([8000, 16000, 22050, 24000]),
)
def test_audio_depends_only_on_character_and_index(text: str, cuts: list[int], rate: int) -> None:
    """However text is split, the pieces (started at their index) concatenate to the whole."""
    bounds = sorted({0, len(text), *(min(cut, len(text)) for cut in cuts)})
    pieces = [
        deterministic_pcm(text[start:end], rate, start) for start, end in itertools.pairwise(bounds)
    ]
    assert b"".join(pieces) == deterministic_pcm(text, rate)
    assert len(b"".join(pieces)) == 2 * (block_offset(len(text), rate))


def test_generation_is_far_faster_than_real_time() -> None:
    """Cached tone blocks make deterministic audio well over 1000x real time."""
    text = (GREETING + " ") * 1000  # 17,000 characters = 850 s of audio.
    deterministic_pcm(text[:50], 48000)  # Warm the cache of this rate.
    started = time.perf_counter()
    pcm = deterministic_pcm(text, 48000)
    elapsed = time.perf_counter() - started
    seconds_of_audio = len(pcm) / 2 / 48000
    assert seconds_of_audio == pytest.approx(850)
    assert seconds_of_audio / elapsed > 1000


def test_invalid_arguments() -> None:
    """A nonsense rate or a negative start is refused."""
    with pytest.raises(ValueError, match="sample_rate"):
        deterministic_pcm("a", 10)
    with pytest.raises(ValueError, match="start"):
        deterministic_pcm("a", 8000, start=-1)


def test_split_chunks() -> None:
    """Even splitting keeps chunk sizes; odd splitting puts boundaries inside samples."""
    pcm = bytes(range(100)) * 100
    assert [len(c) for c in split_chunks(pcm, 4000)] == [4000, 4000, 2000]
    odd = split_chunks(pcm, 4000, odd=True)
    assert b"".join(odd) == pcm
    assert len(odd[0]) % 2 == 1
    short = split_chunks(pcm[:100], 4000, odd=True)
    assert len(short) > 1
    assert b"".join(short) == pcm[:100]
    assert split_chunks(b"", 10) == []
    with pytest.raises(ValueError, match="positive"):
        split_chunks(pcm, 0)


def test_wav_round_trip_and_streamed_headers() -> None:
    """wav_to_pcm skips extra chunks and tolerates espeak-ng's placeholder data size."""
    pcm = deterministic_pcm("ab", 16000)
    assert wav_to_pcm(pcm_to_wav(pcm, 16000)) == (16000, pcm)
    fmt = struct.pack("<4sIHHIIHH", b"fmt ", 16, 1, 1, 22050, 44100, 2, 16)
    extra = b"LIST" + struct.pack("<I", 3) + b"abc\x00"
    streamed = b"RIFF\xff\xff\xff\x7fWAVE" + fmt + extra + b"data\x00\xf0\xff\x7f" + pcm
    assert wav_to_pcm(streamed) == (22050, pcm)


@pytest.mark.parametrize(
    ("wav", "message"),
    [
        (b"not a wav at all", "RIFF"),
        (b"RIFF\x00\x00\x00\x00WAVE", "no data"),
        (
            b"RIFF\x00\x00\x00\x00WAVE"
            + struct.pack("<4sIHHIIHH", b"fmt ", 16, 1, 2, 22050, 88200, 4, 16),
            "unsupported",
        ),
        (b"RIFF\x00\x00\x00\x00WAVEdata\x02\x00\x00\x00\x00\x00", "before fmt"),
    ],
)
def test_bad_wavs(wav: bytes, message: str) -> None:
    """Anything but PCM16 mono WAV is a SpeechError."""
    with pytest.raises(SpeechError, match=message):
        wav_to_pcm(wav)


@pytest.mark.parametrize("rate", [8000, 16000, 22050, 24000])
async def test_speech_is_real_audible_arabic_at_the_requested_rate(rate: int) -> None:
    """espeak-ng speech, resampled by ffmpeg, is non-silent PCM of a plausible length."""
    pcm = await speech_pcm(GREETING, rate)
    seconds = len(pcm) / 2 / rate
    assert len(pcm) % 2 == 0
    assert 0.8 < seconds < 5
    assert pcm_rms(pcm) > 300


async def test_speech_duration_does_not_depend_on_the_rate() -> None:
    """Resampling changes the sample count, not the duration."""
    low, high = await speech_pcm(GREETING, 8000), await speech_pcm(GREETING, 24000)
    assert len(high) / len(low) == pytest.approx(3, rel=0.01)


def _children() -> set[int]:
    """PIDs of this process's direct children (Linux)."""
    pid = os.getpid()
    return {int(child) for child in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()}


async def test_cancelled_speech_leaves_no_process_behind() -> None:
    """A client that goes away mid-synthesis does not leave espeak-ng running."""
    before = _children()
    task = asyncio.create_task(speech_pcm(GREETING * 200, 24000))
    for _ in range(200):
        if _children() - before:
            break
        await asyncio.sleep(0.005)
    assert _children() - before, "espeak-ng did not start"
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert _children() == before


async def test_speech_of_blank_text_is_empty() -> None:
    """Nothing to say, nothing to run."""
    assert await speech_pcm("  ", 24000) == b""
