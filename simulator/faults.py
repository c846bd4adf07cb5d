"""Named faults the simulator can inject; the names are part of the shared contract."""

FAULTS: dict[str, str] = {
    "invalid_key_handshake": "WS handshake answered with HTTP 401; every REST call gets 401.",
    "invalid_key_frame": "Error frame 40101 in reply to initConnection, then the socket closes.",
    "wallet_empty": "Error frame 40201 before any audio of a generation; REST synthesis gets 402.",
    "wallet_empty_midstream": "Error 40201 after fault_after_chunks audio frames, then close.",
    "rate_limit": "Error frame 42901 in reply to initConnection; REST synthesis gets 429.",
    "rate_limit_handshake": "WS handshake answered with HTTP 429.",
    "unknown_voice": "Error frame 40402 in reply to initConnection whatever the voice; REST 404.",
    "unknown_model": "Error frame 40401 in reply to initConnection whatever the model; REST 404.",
    "invalid_setting": "Error frame 40001 in reply to initConnection; REST synthesis gets 400.",
    "internal_error": "Error frame 50001 in reply to initConnection; REST synthesis gets 500.",
    "drop_mid_audio": "TCP aborted after fault_after_chunks audio frames; no close frame.",
    "stall": "Nothing more is sent after fault_after_chunks audio frames; the socket stays open.",
    "silent": "connectionInitialized, then never audio or a final frame; REST keeps working.",
    "malformed_json": "A text frame that is not JSON right after connectionInitialized.",
    "audio_not_base64": "The first audio frame of each generation has audio that is not base64.",
    "odd_byte_chunks": "Audio frames split at odd byte counts (not an error; carry the odd byte).",
    "binary_frame": "The first audio of each generation arrives as a binary WS frame.",
    "unknown_message_type": "A sessionStats frame before each generation's audio (to be ignored).",
    "slow_handshake": "The WS handshake is answered only after 30 s.",
    # Speech-to-text (/api/v1/listen); fault_after_bytes is SimulatorConfig.stt's.
    "stt_invalid_key_handshake": "STT upgrade answered with HTTP 401 and the 40101 body.",
    "stt_wallet_empty": "STT: Error 1008 'insufficient wallet balance' at open, then close 1008.",
    "stt_wallet_midstream": "STT: Error 1008 'wallet balance exhausted' after fault_after_bytes.",
    "stt_session_limit": "STT: Error 1008 'concurrent session limit reached' at open.",
    "stt_invalid_parameter": "STT: Error 4002 about sample_rate at open, then close 4002.",
    "stt_internal_error": "STT: Error 1011 'internal error' after fault_after_bytes, close 1011.",
    "stt_closed_midstream": "STT: close 1011 without an Error after fault_after_bytes (idle-like).",
    "stt_drop": "STT: TCP aborted after fault_after_bytes; no close frame.",
    "stt_no_metadata": "STT: the upgrade succeeds but the opening Metadata never comes.",
    "stt_slow_drain": "STT: nothing more after CloseStream; the socket stays open.",
    "stt_hotwords_dropped": "STT: the opening Metadata lists every hotword as dropped.",
}

# Faults that fire once a session has sent fault_after_chunks audio frames.
MIDSTREAM_FAULTS: frozenset[str] = frozenset({"wallet_empty_midstream", "drop_mid_audio", "stall"})

# Faults of the speech-to-text socket; they leave the TTS endpoints alone, and vice versa.
STT_FAULTS: frozenset[str] = frozenset(name for name in FAULTS if name.startswith("stt_"))
