"""The user's main job, end to end: ./scripts/demo against a real hass and the simulator.

One run of the demo (one hass start, about ten seconds) serves every test here: it adds the
integration through the real config flow over HTTP, fetches WAV and MP3 speech as a media player
does, checks both, runs the Arabic voice loop through an Assist pipeline, confirms the http
settings as the UI would (the demo fails if they are still pending), and stops everything it
started.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from pathlib import Path
import re

import pytest

from harness.audio import decode, parse_wav, pcm_rms, verify_mp3, verify_wav
from harness.processes import run_module

ROOT = Path(__file__).resolve().parents[2]
RUN_LIMIT = 120.0
TEXT = "الباب الأمامي مقفل، والأضواء مطفأة."


@dataclass(frozen=True, slots=True)
class DemoRun:
    """What one run of the demo left behind."""

    code: int
    output: str
    output_dir: Path


@pytest.fixture(scope="module")
def demo_run(tmp_path_factory: pytest.TempPathFactory) -> DemoRun:
    """Run the demo's entry point once; on overrun, SIGTERM lets it stop hass first."""
    output_dir = tmp_path_factory.mktemp("demo-output")
    run = run_module(
        ["scripts.demo", "--output-dir", str(output_dir), TEXT], cwd=ROOT, limit=RUN_LIMIT
    )
    if run.overran:
        pytest.fail(f"the demo ran over {RUN_LIMIT:.0f} s\n{run.output}")
    return DemoRun(run.code, run.output, output_dir)


def test_the_demo_passes_through_the_real_config_flow(demo_run: DemoRun) -> None:
    """Exit code 0, the config flow answered step by step, and the entity made from it."""
    assert demo_run.code == 0, demo_run.output[-4000:]
    assert "config flow: answering the 'user' step" in demo_run.output
    assert "config flow: answering the 'custom_url' step" in demo_run.output
    assert re.search(r"TTS entity tts\.faseeh_127_0_0_1_\d+_speech is ready", demo_run.output)
    assert "DEMO PASSED" in demo_run.output


def test_the_wav_a_satellite_gets_is_streamed_speech_of_the_text(demo_run: DemoRun) -> None:
    """A streamed PCM16 WAV that ffmpeg decodes in full and that is not silence."""
    path = demo_run.output_dir / "speech.wav"
    wav = parse_wav(path.read_bytes(), path.name)
    assert wav.streamed
    assert (wav.sample_rate, wav.channels) == (24000, 1)
    assert asyncio.run(verify_wav(path)).duration == pytest.approx(wav.duration)
    assert wav.duration > 1.0


def test_the_mp3_a_speaker_gets_holds_the_same_speech(demo_run: DemoRun) -> None:
    """The MP3 decodes to speech that lasts as long as the WAV: nothing was cut."""
    wav = parse_wav((demo_run.output_dir / "speech.wav").read_bytes())
    mp3 = asyncio.run(verify_mp3(demo_run.output_dir / "speech.mp3"))
    assert mp3.duration == pytest.approx(wav.duration, abs=0.25)
    decoded = asyncio.run(decode(demo_run.output_dir / "speech.mp3"))
    assert pcm_rms(decoded) > 100


def test_the_demo_stops_everything_and_leaves_no_config_dir(demo_run: DemoRun) -> None:
    """The throwaway config dir is gone, and no log was kept because nothing failed."""
    found = re.search(r"config dir (\S+)\)", demo_run.output)
    assert found is not None, demo_run.output
    assert not Path(found.group(1)).exists()
    assert sorted(path.name for path in demo_run.output_dir.iterdir()) == [
        "answer.wav",
        "speech.mp3",
        "speech.wav",
    ]
    assert "everything it started has been stopped" in demo_run.output


def test_the_voice_loop_turns_on_the_kitchen_light_and_speaks_the_answer(
    demo_run: DemoRun,
) -> None:
    """Arabic speech in, the built-in agent acts, and answer.wav is the spoken Arabic answer."""
    assert "transcript          «شغل ضوء المطبخ»" in demo_run.output
    assert "answer              «تم تشغيل الأضواء»" in demo_run.output
    assert "the light is on" in demo_run.output
    assert re.search(r"end of speech → transcript +\d+\.\d\d s", demo_run.output)
    assert re.search(r"end of speech → answer's 1st audio +\d+\.\d\d s", demo_run.output)
    answer = asyncio.run(verify_wav(demo_run.output_dir / "answer.wav"))
    assert answer.duration > 0.5
