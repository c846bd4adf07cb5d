"""./scripts/bench in its quick mode runs end to end, so the bench cannot rot unnoticed.

It starts a real hass, the simulator and a Wyoming server like the full bench (about 10 s), and
checks the report's keys and the properties that do not depend on timing: byte-exact audio,
nothing leaked, no soak request that hung, failed without a fault or left a cut file in the cache.
"""

import json
from pathlib import Path

from harness.processes import run_module

ROOT = Path(__file__).resolve().parent.parent
RUN_LIMIT = 90.0

KEYS: dict[str, type | tuple[type, ...]] = {
    "first_audio_overhead_ms_p50": (int, float),
    "first_audio_overhead_ms_p95": (int, float),
    "wyoming_first_audio_overhead_ms_p50": (int, float),
    "wyoming_first_audio_overhead_ms_p95": (int, float),
    "llm_first_audio_after_first_sentence_ms": (int, float),
    "stt_final_after_end_ms": (int, float),
    "voice_loop_first_audio_ms": (int, float),
    "throughput_x_realtime": (int, float),
    "concurrent_50_byte_exact": bool,
    "concurrent_50_overhead_ms_p95": (int, float),
    "rss_growth_mb_1000": (int, float),
    "leaked_sockets": int,
    "leaked_tasks": int,
    "soak_500_hangs": int,
    "soak_500_unexpected_errors": int,
    "soak_500_truncated_cached": int,
    "misclassified_errors": int,
    "silent_ws_first_audio_s_first": (int, float),
    "silent_ws_first_audio_s_next": (int, float),
    "final_styles_byte_exact": bool,
    # Ratios are None when the denominator is not above zero (possible in a run this small).
    "overhead_vs_wyoming": (int, float, type(None)),
    "throughput_vs_raw": (int, float, type(None)),
    "concurrent_p95_vs_wyoming": (int, float, type(None)),
    "wan_rtt_ms": int,
    "wan_first_audio_rtt_cold": (int, float),
    "wan_first_audio_rtt_warm": (int, float),
    "wan_first_audio_rtt_http": (int, float),
    "wan_first_audio_rtt_wyoming": (int, float),
}


def _run_bench(output: Path) -> tuple[int, str]:
    """Run the quick bench; on overrun, SIGTERM lets it stop hass before it is killed."""
    run = run_module(
        ["scripts.bench", "--quick", "--output", str(output)], cwd=ROOT, limit=RUN_LIMIT
    )
    if run.overran:
        return -1, f"the quick bench ran over {RUN_LIMIT:.0f} s\n{run.output}"
    return run.code, run.output


def test_quick_bench_reports_every_key(tmp_path: Path) -> None:
    """The quick bench exits 0 and writes every key the issue names, with sound results."""
    output = tmp_path / "bench-results.json"
    code, out = _run_bench(output)
    assert code == 0, out[-4000:]
    results = json.loads(output.read_text(encoding="utf-8"))
    for key, kind in KEYS.items():
        assert isinstance(results.get(key), kind), (key, results.get(key))
    assert results["details"]["mode"] == "quick"
    assert results["concurrent_50_byte_exact"] is True
    assert results["leaked_sockets"] == 0
    assert results["soak_500_hangs"] == 0
    assert results["soak_500_unexpected_errors"] == 0
    assert results["soak_500_truncated_cached"] == 0
    assert results["misclassified_errors"] == 0
    assert results["final_styles_byte_exact"] is True
    # Over the delay proxy nothing can be faster than one round trip, on any path.
    for key in KEYS:
        if key.startswith("wan_first_audio_rtt_"):
            assert results[key] >= 1.0, (key, results[key])
    assert "TLS is not emulated" in out
    assert "first_audio_overhead_ms_p50" in out  # the table was printed
