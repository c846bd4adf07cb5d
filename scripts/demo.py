"""A real Home Assistant speaking Arabic through the Faseeh integration, end to end.

Starts the Faseeh simulator in speech mode (or uses the real service when FASEEH_API_KEY is set),
starts `hass` on a throwaway config directory with this repository's integration, onboards it
and adds the integration through the real config flow over HTTP, then asks HA for speech the way
a media player would: once as WAV and once as the MP3 a speaker gets. Then the voice loop: Arabic
speech from espeak-ng goes through an Assist pipeline (our STT, HA's built-in Arabic agent, our
TTS), turns on a kitchen light, and the spoken answer is fetched. The files land in demo-output/
(speech.wav, speech.mp3, answer.wav). Everything the demo started is stopped again; the exit
code is the verdict.

Usage: ./scripts/demo ["نص عربي"]   (or: .venv/bin/python -m scripts.demo from the repository)
Environment: FASEEH_API_KEY (use the real service), FASEEH_REGION (global|uae|munsit).
"""

from __future__ import annotations

import argparse
import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
import os
from pathlib import Path
import sys

import aiohttp

from harness.api import FlowKind, HassApi
from harness.audio import Audio, verify_mp3, verify_wav
from harness.console import Console
from harness.errors import HarnessError
from harness.hass import HassProcess, HassSettings
from harness.processes import shown_path
from harness.runner import PASSED, run_job
from harness.simulator_process import SimulatorProcess
from harness.speech import Fetch, fetch_speech
from harness.voice_loop import COMMAND, COMPONENTS, VoiceLoop, prepare_kitchen, run_voice_loop
from simulator import DEFAULT_API_KEY, SimulatorConfig
from simulator.audio import speech_pcm

ROOT = Path(__file__).resolve().parent.parent
OUTPUT_DIR = ROOT / "demo-output"
DOMAIN = "faseeh"
DEFAULT_TEXT = "مرحبا! أنا مساعدك المنزلي، وأتحدث العربية بصوت فصيح."
REGIONS = ("global", "uae", "munsit")
# The WAV and the MP3 are two syntheses of the same text; they must last about as long.
DURATION_TOLERANCE = 0.25


@dataclass(frozen=True, slots=True)
class Service:
    """Where the integration is pointed and how the config flow is answered."""

    description: str
    api_key: str
    region: str  # The config flow's region: global, uae, munsit or custom.
    url: str | None = None  # Only for the custom region.

    @property
    def simulated(self) -> bool:
        """The simulator, whose transcript is known: the loop's outcome is then checked."""
        return self.url is not None


@dataclass(frozen=True, slots=True)
class Speech:
    """One fetched and checked audio file."""

    path: Path
    fetch: Fetch
    audio: Audio


class Demo:
    """The user's main job, once: a service, a Home Assistant, the integration, speech."""

    def __init__(self, text: str, output_dir: Path, console: Console) -> None:
        """Prepare; nothing runs until ``run``."""
        self.text = text
        self.output_dir = output_dir
        self.console = console
        self.hass = HassProcess(HassSettings(components=COMPONENTS))
        self.simulator = SimulatorProcess(
            SimulatorConfig(audio="speech"), self.hass.config_dir / "simulator.log"
        )

    async def choose_service(self) -> Service:
        """The real service when FASEEH_API_KEY is set, otherwise the simulator."""
        if api_key := os.environ.get("FASEEH_API_KEY", "").strip():
            self.console.add_secret(api_key)
            region = os.environ.get("FASEEH_REGION", "global").strip().lower() or "global"
            if region not in REGIONS:
                raise HarnessError(
                    f"FASEEH_REGION must be one of {', '.join(REGIONS)}, not {region!r}"
                )
            return Service(f"the real Faseeh service (region {region})", api_key, region)
        url = await self.simulator.start()
        self.console.say(f"simulator listening at {url} (speech mode, espeak-ng Arabic)")
        return Service(
            f"the Faseeh simulator at {url}: espeak-ng Arabic, sent as fast as it is made, "
            "so the times below are mostly Home Assistant's own",
            DEFAULT_API_KEY,
            "custom",
            url,
        )

    async def run(self) -> None:
        """Every step in order; raises on the first failure."""
        say = self.console.say
        print(f"Faseeh demo: Home Assistant speaking «{self.text}»", flush=True)
        service = await self.choose_service()
        base = await self.hass.start()
        say(f"Home Assistant answering at {base} (config dir {self.hass.config_dir})")
        async with aiohttp.ClientSession() as session:
            api = HassApi(session, base, self.console)
            owner = await api.onboard(self.hass.settings.language)
            version = (await api.get_json("/api/config")).get("version")
            say(f"onboarded Home Assistant {version} and logged in as {owner.username!r}")
            answers: dict[str, dict[str, str]] = {
                "user": {"api_key": service.api_key, "region": service.region}
            }
            if service.url is not None:
                answers["custom_url"] = {"url": service.url}
            created = await api.run_flow(FlowKind.CONFIG, {"handler": DOMAIN}, answers)
            entry = created["result"]
            say(f"config entry {entry.get('title')!r} created ({entry.get('state')})")
            entity_id, state = await api.wait_for_entity(entry["entry_id"], "tts", DOMAIN)
            say(f"TTS entity {entity_id} is ready (state {state!r})")
            self.output_dir.mkdir(parents=True, exist_ok=True)
            wav = await self.speak(api, entity_id, "wav", verify_wav)
            say(f"WAV fetched and checked: {wav.audio.duration:.2f} s of speech")
            mp3 = await self.speak(api, entity_id, "mp3", verify_mp3)
            say(f"MP3 fetched and checked: {mp3.audio.duration:.2f} s of speech")
            loop = await self.voice_loop(api, service, entry["entry_id"], entity_id)
        wav_seconds, mp3_seconds = wav.audio.duration, mp3.audio.duration
        if abs(wav_seconds - mp3_seconds) > max(DURATION_TOLERANCE, 0.1 * wav_seconds):
            raise HarnessError(
                f"the MP3 lasts {mp3_seconds:.2f} s but the WAV {wav_seconds:.2f} s: "
                "one of them is truncated"
            )
        self.report(service, entity_id, wav, mp3)
        self.report_loop(loop)

    async def voice_loop(
        self, api: HassApi, service: Service, entry_id: str, tts_entity_id: str
    ) -> VoiceLoop:
        """Say «شغل ضوء المطبخ» to an Assist pipeline; the light turns on, the answer is heard."""
        say = self.console.say
        kitchen = await prepare_kitchen(api, entry_id, tts_entity_id)
        say(
            f"area مطبخ with {kitchen.light_entity_id}, and an Arabic pipeline on "
            f"{kitchen.stt_entity_id} and {tts_entity_id}"
        )
        spoken = await speech_pcm(COMMAND, 16000)
        loop = await run_voice_loop(api, kitchen.pipeline_id, spoken)
        say(f"voice loop: heard «{loop.transcript}», answered «{loop.answer}»")
        light = await api.get_state(kitchen.light_entity_id)
        if service.simulated and (loop.transcript != COMMAND or light != "on"):
            raise HarnessError(
                f"the voice loop heard «{loop.transcript}» and left the light {light!r}"
            )
        path = self.output_dir / "answer.wav"
        await asyncio.to_thread(path.write_bytes, loop.answer_wav)
        audio = await verify_wav(path)
        say(f"answer.wav checked: {audio.duration:.2f} s of speech; the light is {light}")
        return loop

    async def speak(
        self, api: HassApi, entity_id: str, suffix: str, verify: Callable[[Path], Awaitable[Audio]]
    ) -> Speech:
        """Fetch the text as a player would (a WAV when asked, else HA's default MP3); check it."""
        path = self.output_dir / f"speech.{suffix}"
        options = {"preferred_format": "wav"} if suffix == "wav" else {}
        fetch = await fetch_speech(api, entity_id, self.text, options, save_to=path)
        fetch.raise_for_error()
        return Speech(path, fetch, await verify(path))

    def report(self, service: Service, entity_id: str, wav: Speech, mp3: Speech) -> None:
        """The summary a person reads."""
        lines = ["", f"Text:     «{self.text}»", f"Service:  {service.description}"]
        lines.append(f"Entity:   {entity_id}")
        for title, speech in (
            ('WAV (options {"preferred_format": "wav"})', wav),
            ("MP3 (no preferred format: what a media player gets, encoded by HA's ffmpeg)", mp3),
        ):
            fetch, audio = speech.fetch, speech.audio
            assert fetch.first_byte is not None
            lines += [
                "",
                title,
                f"  time to first byte  {fetch.first_byte:.2f} s after POST "
                f"/api/tts_get_url ({fetch.first_byte_after_get:.2f} s after the GET of its URL)",
                f"  total time          {fetch.total:.2f} s (POST to last byte)",
                f"  audio duration      {audio.duration:.2f} s  ({audio.description})",
                f"  file                {shown_path(speech.path)} "
                f"({len(fetch.body) / 1024:.1f} KiB)",
                f"  checks              {audio.checks}",
            ]
        self.console.show("\n".join(lines))

    def report_loop(self, loop: VoiceLoop) -> None:
        """The voice loop's summary."""
        self.console.show(
            "\n".join(
                [
                    "",
                    "Voice loop (espeak-ng speech → Faseeh STT → HA's Arabic agent → Faseeh TTS)",
                    f"  input audio         {loop.input_seconds:.2f} s, sent in real time",
                    f"  transcript          «{loop.transcript}»",
                    f"  answer              «{loop.answer}»",
                    f"  end of speech → transcript         {loop.transcript_after_end:.2f} s",
                    f"  end of speech → answer's 1st audio {loop.first_audio_after_end:.2f} s",
                    f"  file                {shown_path(self.output_dir / 'answer.wav')} "
                    f"({loop.answer_seconds:.2f} s)",
                ]
            )
        )

    async def stop_everything(self, outcome: int) -> None:
        """Stop hass and the simulator; keep the logs in the output dir unless all went well."""
        await self.hass.stop()
        await self.simulator.stop()
        self.hass.settle_logs(self.console, outcome, self.output_dir, [self.simulator.log_path])
        self.hass.remove()


async def _main(text: str, output_dir: Path) -> int:
    console = Console()
    demo = Demo(text, output_dir, console)
    outcome = await run_job("DEMO", console, demo.run, demo.stop_everything)
    if outcome == PASSED:
        print(
            f"\nDEMO PASSED in {console.elapsed():.1f} s; everything it started has been stopped."
        )
    return outcome


def main() -> int:
    """Parse the command line and run the demo."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("text", nargs="*", help=f"Arabic text to speak (default: {DEFAULT_TEXT})")
    parser.add_argument(
        "--output-dir", type=Path, default=OUTPUT_DIR, help="where speech.wav/mp3 are written"
    )
    args = parser.parse_args()
    text = " ".join(args.text).strip() or DEFAULT_TEXT
    return asyncio.run(_main(text, args.output_dir.resolve()))


if __name__ == "__main__":
    sys.exit(main())
