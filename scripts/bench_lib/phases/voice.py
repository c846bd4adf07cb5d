"""voice: the Arabic voice loop through a real Assist pipeline (our STT, HA's agent, our TTS).

Keys: stt_final_after_end_ms (the end of the input stream to the transcript, stt-end, minus the
simulator's finalisation delay) and voice_loop_first_audio_ms (the end of the input stream to
the first byte of the spoken answer, minus the simulator's finalisation and first-audio
delays). Both are medians as a websocket client (a satellite) sees them; the TTS cache is
cleared before each run so every answer is synthesised.
"""

from __future__ import annotations

from harness.voice_loop import COMMAND, prepare_kitchen, run_voice_loop
from simulator import deterministic_pcm

from ..context import FIRST_AUDIO_DELAY, Bench, BenchError
from ..stats import ms, percentile

STT_FINALISE_DELAY = 0.020
# Loud audio the simulator takes for speech, then less silence than the endpointing window:
# the turn is still open when the input ends, so the final comes only after CloseStream.
SILENCE_AFTER = bytes(2 * 1600)


async def measure(bench: Bench) -> None:
    """A few loops in real time; every run must hear the command and answer it."""
    bench.config.first_audio_delay = FIRST_AUDIO_DELAY
    bench.config.stt.finalise_delay = STT_FINALISE_DELAY
    bench.config.stt.transcripts = [COMMAND]
    kitchen = await prepare_kitchen(bench.api, bench.entry_id, bench.entity)
    pcm = deterministic_pcm(COMMAND, 16000) + SILENCE_AFTER
    runs = 10 if bench.sizes.llm_runs > 1 else 1
    transcripts: list[float] = []
    first_audio: list[float] = []
    answer_urls: list[float] = []
    # The simulator shares the loop's clock (CLOCK_MONOTONIC): where the STT wait goes.
    to_close_stream: list[float] = []
    from_finish: list[float] = []
    # Run 0 is a warm-up: the agent loads its Arabic sentences on first use.
    for run in range(runs + 1):
        await bench.api.post_json("/api/services/tts/clear_cache", {})
        loop = await run_voice_loop(bench.api, kitchen.pipeline_id, pcm)
        if loop.transcript != COMMAND or not loop.answer or loop.answer_seconds <= 0:
            raise BenchError(f"voice run {run}: heard {loop.transcript!r}, said {loop.answer!r}")
        if run == 0:
            continue
        transcripts.append(loop.transcript_after_end - STT_FINALISE_DELAY)
        first_audio.append(loop.first_audio_after_end - STT_FINALISE_DELAY - FIRST_AUDIO_DELAY)
        answer_urls.append(loop.answer_url_after_end - STT_FINALISE_DELAY)
        session = bench.sim.stt_sessions[-1]
        if session.close_stream_at is not None and session.finished_at is not None:
            to_close_stream.append(session.close_stream_at - loop.ended_at)
            from_finish.append(loop.ended_at + loop.transcript_after_end - session.finished_at)
    if await bench.api.get_state(kitchen.light_entity_id) != "on":
        raise BenchError("the voice loop did not turn the kitchen light on")
    bench.results["stt_final_after_end_ms"] = ms(percentile(transcripts, 0.5))
    bench.results["voice_loop_first_audio_ms"] = ms(percentile(first_audio, 0.5))
    bench.details["voice"] = {
        "runs": runs,
        "warm_up_runs": 1,
        "input_seconds": round(len(pcm) / 32000, 2),
        "stt_final_after_end_ms_each": [ms(value) for value in transcripts],
        "voice_loop_first_audio_ms_each": [ms(value) for value in first_audio],
        # Where the wait goes: the answer's URL is handed out at tts-end; the rest is the GET.
        "tts_end_after_end_ms_each": [ms(value) for value in answer_urls],
        "end_to_close_stream_at_service_ms_each": [ms(value) for value in to_close_stream],
        "service_closed_to_stt_end_ms_each": [ms(value) for value in from_finish],
        "measured": "as a websocket client: the empty frame that ends the input stream to the "
        "stt-end event, and to the first body byte of the GET of the tts-end URL (MP3, as a "
        "satellite gets it); minus the simulator's STT finalisation delay "
        f"({STT_FINALISE_DELAY * 1000:.0f} ms) and, for the answer, its first-audio delay; "
        "audio sent in real time; TTS cache cleared before each run; median",
    }
