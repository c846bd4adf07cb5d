"""Replay what ./scripts/live-check found: a SimulatorConfig from a live-report.json."""

import json
from pathlib import Path
from typing import Any

from .faults import Fault
from .server import FINAL_STYLES, SimulatorConfig


def config_from_report(path: Path, config: SimulatorConfig | None = None) -> SimulatorConfig:
    """``config`` (or the defaults) changed to behave as the live service did."""
    report: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    config = config if config is not None else SimulatorConfig()
    if not report.get("socket_sends_audio"):
        config.fault = Fault.SILENT
    for style in FINAL_STYLES:
        if report.get("final_style") == style:
            config.final_style = style
    config.close_after_final = bool(report.get("server_closes_after_final"))
    if report.get("error_shape") == "message":
        config.error_shape = "message"
    idle_close = report.get("idle_socket_closed_after_s")
    if isinstance(idle_close, int | float) and idle_close > 0:
        config.idle_timeout = float(idle_close)
    first_audio = report.get("socket_first_audio_s") or report.get("http_first_audio_s")
    if isinstance(first_audio, int | float) and first_audio > 0:
        config.first_audio_delay = float(first_audio)
    return config
