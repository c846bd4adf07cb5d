"""speech: the speech path's robustness, without hass (bench_lib/speech_path.py).

Keys: misclassified_errors (every failure fault, multi-sentence texts and LLM-like deltas),
silent_ws_first_audio_s_first and _next (a socket that never speaks: the first request, then
the next one), final_styles_byte_exact (every final style the simulator can produce).
"""

from __future__ import annotations

from ..context import Bench
from ..speech_path import measure as measure_speech_path

KEYS = (
    "misclassified_errors",
    "silent_ws_first_audio_s_first",
    "silent_ws_first_audio_s_next",
    "final_styles_byte_exact",
)


async def measure(bench: Bench) -> None:
    """Run the speech path's measurements against a simulator of their own."""
    found = await measure_speech_path(bench.sizes.speech_repetitions)
    bench.results.update({key: found[key] for key in KEYS})
    bench.details["speech"] = {key: value for key, value in found.items() if key not in KEYS}
