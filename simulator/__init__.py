"""Faseeh simulator: a local aiohttp server that speaks the Faseeh TTS and Munsit STT protocols.

It plays the protocol as docs/protocol.md describes it, including each reading of its open
questions (for example every end-of-stream style of §4), so the client is tested against all.
"""

from .audio import deterministic_pcm, speech_pcm
from .faults import STT_FAULTS, TTS_FAULTS, Effect, Fault
from .server import (
    DEFAULT_API_KEY,
    FINAL_STYLES,
    WS_PATH,
    Charge,
    FaseehSimulator,
    HttpRequest,
    SimulatorConfig,
    WsSession,
)
from .stt import LISTEN_PATH, ReceivedAudio, SttConfig, SttSession

__all__ = [
    "DEFAULT_API_KEY",
    "FINAL_STYLES",
    "LISTEN_PATH",
    "STT_FAULTS",
    "TTS_FAULTS",
    "WS_PATH",
    "Charge",
    "Effect",
    "FaseehSimulator",
    "Fault",
    "HttpRequest",
    "ReceivedAudio",
    "SimulatorConfig",
    "SttConfig",
    "SttSession",
    "WsSession",
    "deterministic_pcm",
    "speech_pcm",
]
