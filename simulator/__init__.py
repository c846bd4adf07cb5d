"""Faseeh simulator: a local aiohttp server that speaks the Faseeh TTS protocol."""

from .audio import deterministic_pcm, speech_pcm
from .faults import FAULTS
from .server import (
    DEFAULT_API_KEY,
    WS_PATH,
    FaseehSimulator,
    HttpRequest,
    SimulatorConfig,
    WsSession,
)

__all__ = [
    "DEFAULT_API_KEY",
    "FAULTS",
    "WS_PATH",
    "FaseehSimulator",
    "HttpRequest",
    "SimulatorConfig",
    "WsSession",
    "deterministic_pcm",
    "speech_pcm",
]
