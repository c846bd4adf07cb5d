"""llm: an LLM-like delta stream into the entity, timed inside HA by bench_probe.

Key: llm_first_audio_after_first_sentence_ms.
"""

from __future__ import annotations

import hashlib

from custom_components.faseeh.wav import WAV_HEADER_SIZE
from harness.audio import AudioError, wav_pcm

from ..context import FIRST_AUDIO_DELAY, Bench, BenchError
from ..stats import ms, percentile
from ..texts import llm_deltas
from ..verdicts import SAMPLE_RATE, expected_pcm

LLM_CHARS_PER_SECOND = 40.0
LLM_TEXT = (
    "قمت بتشغيل أضواء غرفة المعيشة وضبطت المكيف على اثنتين وعشرين درجة. "
    "هل تريد أن أطفئ أضواء المطبخ أيضا؟ يمكنني كذلك تذكيرك بموعدك غدا صباحا."
)
LLM_TEXT_QUICK = "قمت بتشغيل أضواء غرفة المعيشة. هل تريد شيئا آخر؟"


async def measure(bench: Bench) -> None:
    """Deltas at ~40 characters a second; first sentence mark to first audio, minus delay."""
    bench.config.first_audio_delay = FIRST_AUDIO_DELAY
    text = LLM_TEXT if bench.sizes.llm_runs > 1 else LLM_TEXT_QUICK
    deltas, mark_index = llm_deltas(text)
    pcm = expected_pcm(text)
    values: list[float] = []
    for run in range(bench.sizes.llm_runs):
        result = await bench.probe(
            {
                "type": "bench_probe/llm",
                "entity_id": bench.entity,
                "deltas": deltas,
                "mark_index": mark_index,
                "chars_per_second": LLM_CHARS_PER_SECOND,
            }
        )
        if result["error"]:
            raise BenchError(f"LLM run {run}: {result['error']}")
        if (
            not _is_stream_header(bytes.fromhex(result["header"]))
            or result["bytes"] != WAV_HEADER_SIZE + len(pcm)
            or result["pcm_sha256"] != hashlib.sha256(pcm).hexdigest()
        ):
            raise BenchError(f"LLM run {run}: not the text's audio ({result['bytes']} bytes)")
        values.append(result["mark_to_first_audio"] - FIRST_AUDIO_DELAY)
    bench.results["llm_first_audio_after_first_sentence_ms"] = ms(percentile(values, 0.5))
    bench.details["llm"] = {
        "runs": len(values),
        "deltas": len(deltas),
        "first_mark_delta": deltas[mark_index],
        "next_delta": deltas[mark_index + 1] if mark_index + 1 < len(deltas) else None,
        "chars_per_second": LLM_CHARS_PER_SECOND,
        "ms_each": [ms(value) for value in values],
        "measured": "inside HA (bench_probe): the yield of the delta holding the first "
        "sentence mark to the first audio byte of the stream's result, minus the "
        "simulator's first-audio delay; median; the whole audio is checked byte for byte",
    }


def _is_stream_header(header: bytes) -> bool:
    """A PCM16 mono WAV header at the simulator's rate, with no audio after it."""
    try:
        return wav_pcm(header, SAMPLE_RATE) == b""
    except AudioError:
        return False
