"""Faseeh simulator: a local aiohttp server that speaks the Faseeh TTS protocol.

It plays the protocol as docs/protocol.md describes it, including each reading of its open
questions (for example every end-of-stream style of §4), so the client is tested against all.
"""

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
