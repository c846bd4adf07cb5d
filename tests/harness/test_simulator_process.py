"""The simulator in a process of its own keeps every switch it was given."""

from __future__ import annotations

from harness.simulator_process import config_from_json, config_to_json
from simulator import Fault, SimulatorConfig


def test_every_switch_survives_the_trip_to_the_child_process() -> None:
    """Faults, delays, keys and the catalogue reach the child exactly as configured."""
    config = SimulatorConfig(
        audio="speech",
        api_keys={"key-one", "key-two"},
        first_audio_delay=0.25,
        realtime_factor=2.0,
        final_style="batch",
        accept_query_key=False,
        fault=sorted(Fault)[0],
        fault_after_chunks=3,
    )
    config.voices = config.voices[:1]
    config.stt.transcripts = ["افتح الباب", "أغلق الستائر"]
    config.stt.finalise_delay = 0.05
    assert config_from_json(config_to_json(config)) == config
