"""Named faults the simulator can inject: the one list, with what a client sees for each.

Tests, the command line and the bench derive everything from ``Fault``: adding a fault means
adding a member here, its behaviour in the server (or simulator/stt.py), and its check in
tests/simulator. ``effect`` and ``error_code`` describe the TTS client's view; the STT faults'
own codes are close codes, described in their text.
"""

import enum
from typing import Self


class Effect(enum.Enum):
    """What a client observes when a fault fires."""

    # The service reports an error (``error_code``): a WS error frame, or an HTTP error.
    SERVICE_ERROR = "service error"
    # The TCP connection goes away without a close frame.
    CONNECTION_LOST = "connection lost"
    # Nothing more arrives on an open socket (or the handshake never finishes).
    TIMEOUT = "timeout"
    # The service sends something the protocol does not allow.
    PROTOCOL_VIOLATION = "protocol violation"
    # The socket never sends audio; REST synthesis still works.
    SILENT_SOCKET = "silent socket"
    # Not an error: the audio is complete and exact if the client copes.
    HARMLESS = "harmless"


class Fault(enum.StrEnum):
    """A fault of the simulated service; its value is the name on the command line."""

    description: str
    effect: Effect
    error_code: int | None
    handshake: bool
    midstream: bool

    # Enum members pass their tuple positionally.
    def __new__(  # noqa: PLR0917
        cls,
        name: str,
        description: str,
        effect: Effect,
        error_code: int | None = None,
        handshake: bool = False,
        midstream: bool = False,
    ) -> Self:
        """Create a member; ``error_code`` is the service's errorCode for SERVICE_ERROR."""
        member = str.__new__(cls, name)
        member._value_ = name
        member.description = description
        member.effect = effect
        member.error_code = error_code
        member.handshake = handshake
        member.midstream = midstream
        return member

    INVALID_KEY_HANDSHAKE = (
        "invalid_key_handshake",
        "WS handshake answered with HTTP 401; every REST call gets 401.",
        Effect.SERVICE_ERROR,
        40101,
        True,
    )
    INVALID_KEY_FRAME = (
        "invalid_key_frame",
        "Error frame 40101 in reply to initConnection, then the socket closes.",
        Effect.SERVICE_ERROR,
        40101,
    )
    WALLET_EMPTY = (
        "wallet_empty",
        "Error frame 40201 before any audio of a generation; REST synthesis gets 402.",
        Effect.SERVICE_ERROR,
        40201,
    )
    WALLET_EMPTY_MIDSTREAM = (
        "wallet_empty_midstream",
        "Error 40201 after fault_after_chunks audio frames, then close.",
        Effect.SERVICE_ERROR,
        40201,
        False,
        True,
    )
    WALLET_EMPTY_THEN_DROP = (
        "wallet_empty_then_drop",
        "Error frame 40201 before any audio, then TCP aborted at once (no close frame).",
        Effect.SERVICE_ERROR,
        40201,
    )
    RATE_LIMIT = (
        "rate_limit",
        "Error frame 42901 in reply to initConnection; REST synthesis gets 429.",
        Effect.SERVICE_ERROR,
        42901,
    )
    RATE_LIMIT_HANDSHAKE = (
        "rate_limit_handshake",
        "WS handshake answered with HTTP 429.",
        Effect.SERVICE_ERROR,
        42901,
        True,
    )
    UNKNOWN_VOICE = (
        "unknown_voice",
        "Error frame 40402 in reply to initConnection whatever the voice; REST 404.",
        Effect.SERVICE_ERROR,
        40402,
    )
    UNKNOWN_MODEL = (
        "unknown_model",
        "Error frame 40401 in reply to initConnection whatever the model; REST 404.",
        Effect.SERVICE_ERROR,
        40401,
    )
    INVALID_SETTING = (
        "invalid_setting",
        "Error frame 40001 in reply to initConnection; REST synthesis gets 400.",
        Effect.SERVICE_ERROR,
        40001,
    )
    INTERNAL_ERROR = (
        "internal_error",
        "Error frame 50001 in reply to initConnection; REST synthesis gets 500.",
        Effect.SERVICE_ERROR,
        50001,
    )
    DROP_MID_AUDIO = (
        "drop_mid_audio",
        "TCP aborted after fault_after_chunks audio frames; no close frame.",
        Effect.CONNECTION_LOST,
        None,
        False,
        True,
    )
    STALL = (
        "stall",
        "Nothing more is sent after fault_after_chunks audio frames; the socket stays open.",
        Effect.TIMEOUT,
        None,
        False,
        True,
    )
    SILENT = (
        "silent",
        "connectionInitialized, then never audio or a final frame; REST keeps working.",
        Effect.SILENT_SOCKET,
    )
    MALFORMED_JSON = (
        "malformed_json",
        "A text frame that is not JSON right after connectionInitialized.",
        Effect.PROTOCOL_VIOLATION,
    )
    AUDIO_NOT_BASE64 = (
        "audio_not_base64",
        "The first audio frame of each generation has audio that is not base64.",
        Effect.PROTOCOL_VIOLATION,
    )
    ODD_BYTE_CHUNKS = (
        "odd_byte_chunks",
        "Audio frames split at odd byte counts (not an error; carry the odd byte).",
        Effect.HARMLESS,
    )
    BINARY_FRAME = (
        "binary_frame",
        "The first audio of each generation arrives as a binary WS frame.",
        Effect.PROTOCOL_VIOLATION,
    )
    UNKNOWN_MESSAGE_TYPE = (
        "unknown_message_type",
        "A sessionStats frame before each generation's audio (to be ignored).",
        Effect.HARMLESS,
    )
    SLOW_HANDSHAKE = (
        "slow_handshake",
        "The WS handshake is answered only after 30 s.",
        Effect.TIMEOUT,
    )

    # Speech-to-text (/api/v1/listen); fault_after_bytes is SimulatorConfig.stt's.
    STT_INVALID_KEY_HANDSHAKE = (
        "stt_invalid_key_handshake",
        "STT upgrade answered with HTTP 401 and the 40101 body.",
        Effect.SERVICE_ERROR,
        40101,
        True,
    )
    STT_WALLET_EMPTY = (
        "stt_wallet_empty",
        "STT: Error 1008 'insufficient wallet balance' at open, then close 1008.",
        Effect.SERVICE_ERROR,
    )
    STT_WALLET_MIDSTREAM = (
        "stt_wallet_midstream",
        "STT: Error 1008 'wallet balance exhausted' after fault_after_bytes.",
        Effect.SERVICE_ERROR,
        None,
        False,
        True,
    )
    STT_SESSION_LIMIT = (
        "stt_session_limit",
        "STT: Error 1008 'concurrent session limit reached' at open.",
        Effect.SERVICE_ERROR,
    )
    STT_INVALID_PARAMETER = (
        "stt_invalid_parameter",
        "STT: Error 4002 about sample_rate at open, then close 4002.",
        Effect.SERVICE_ERROR,
    )
    STT_INTERNAL_ERROR = (
        "stt_internal_error",
        "STT: Error 1011 'internal error' after fault_after_bytes, close 1011.",
        Effect.SERVICE_ERROR,
        None,
        False,
        True,
    )
    STT_CLOSED_MIDSTREAM = (
        "stt_closed_midstream",
        "STT: close 1011 without an Error after fault_after_bytes (idle-like).",
        Effect.CONNECTION_LOST,
        None,
        False,
        True,
    )
    STT_DROP = (
        "stt_drop",
        "STT: TCP aborted after fault_after_bytes; no close frame.",
        Effect.CONNECTION_LOST,
        None,
        False,
        True,
    )
    STT_NO_METADATA = (
        "stt_no_metadata",
        "STT: the upgrade succeeds but the opening Metadata never comes.",
        Effect.TIMEOUT,
    )
    STT_SLOW_DRAIN = (
        "stt_slow_drain",
        "STT: nothing more after CloseStream; the socket stays open.",
        Effect.TIMEOUT,
    )
    STT_HOTWORDS_DROPPED = (
        "stt_hotwords_dropped",
        "STT: the opening Metadata lists every hotword as dropped.",
        Effect.HARMLESS,
    )

    @property
    def stt(self) -> bool:
        """True for a fault of the speech-to-text socket (it leaves the TTS endpoints alone)."""
        return self.value.startswith("stt_")

    @classmethod
    def parse(cls, name: str | None) -> Fault | None:
        """Return the fault called ``name`` (None for None); ValueError for an unknown name."""
        if name is None:
            return None
        if (fault := next((fault for fault in cls if fault.value == name), None)) is None:
            raise ValueError(f"unknown fault {name!r}; known: {', '.join(cls)}")
        return fault


# Faults of the speech-to-text socket; they leave the TTS endpoints alone, and vice versa.
STT_FAULTS: frozenset[Fault] = frozenset(fault for fault in Fault if fault.stt)
# Faults of the TTS endpoints.
TTS_FAULTS: tuple[Fault, ...] = tuple(fault for fault in Fault if not fault.stt)
