"""Command line: run the Faseeh simulator until SIGINT or SIGTERM."""

import argparse
import asyncio
import logging
from pathlib import Path
import sys

from .faults import Fault
from .profile import config_from_report
from .server import FINAL_STYLES, SimulatorConfig, serve_until_signalled


def _parser() -> argparse.ArgumentParser:
    """Build the argument parser."""
    parser = argparse.ArgumentParser(
        prog="python -m simulator", description="Run a local Faseeh TTS and Munsit STT simulator."
    )
    parser.add_argument("--port", type=int, default=0, help="TCP port (0 = any free port)")
    parser.add_argument(
        "--fault",
        choices=sorted(Fault),
        metavar="NAME",
        help="fault to inject (see --list-faults)",
    )
    parser.add_argument("--audio", choices=["deterministic", "speech"], default="deterministic")
    parser.add_argument(
        "--api-key",
        action="append",
        dest="api_keys",
        metavar="KEY",
        help="accepted API key (repeatable; default faseeh-sim-key)",
    )
    parser.add_argument("--first-audio-delay", type=float, default=0.0, metavar="S")
    parser.add_argument("--realtime-factor", type=float, default=None, metavar="N")
    parser.add_argument("--chunk-bytes", type=int, default=4800, metavar="N")
    parser.add_argument("--final-style", choices=FINAL_STYLES, default=FINAL_STYLES[0])
    parser.add_argument("--close-after-final", action="store_true")
    parser.add_argument(
        "--stt-transcript",
        action="append",
        dest="stt_transcripts",
        metavar="TEXT",
        help="what speech-to-text answers, one per turn (repeatable; default شغل ضوء المطبخ)",
    )
    parser.add_argument(
        "--max-sessions",
        type=int,
        default=None,
        metavar="N",
        help="at most N syntheses at once per key; more get 42901",
    )
    parser.add_argument(
        "--idle-timeout",
        type=float,
        default=None,
        metavar="S",
        help="close a WebSocket that received nothing for S seconds",
    )
    parser.add_argument(
        "--profile",
        type=Path,
        metavar="REPORT",
        help="behave as ./scripts/live-check found the live service (live-report.json)",
    )
    parser.add_argument("--list-faults", action="store_true", help="print every fault and exit")
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run the command line; returns the exit status."""
    args = _parser().parse_args(argv)
    if args.list_faults:
        width = max(map(len, Fault))
        for fault in Fault:
            print(f"{fault:<{width}}  {fault.description}")
        return 0
    if args.chunk_bytes < 1:
        _parser().error("--chunk-bytes must be positive")
    config = SimulatorConfig(
        port=args.port,
        audio=args.audio,
        first_audio_delay=args.first_audio_delay,
        realtime_factor=args.realtime_factor,
        chunk_bytes=args.chunk_bytes,
        final_style=args.final_style,
        close_after_final=args.close_after_final,
        max_sessions=args.max_sessions,
        idle_timeout=args.idle_timeout,
        fault=args.fault,
    )
    if args.api_keys:
        config.api_keys = set(args.api_keys)
    if args.stt_transcripts:
        config.stt.transcripts = list(args.stt_transcripts)
    if args.profile is not None:
        config = config_from_report(args.profile, config)
    logging.basicConfig(level=logging.INFO, stream=sys.stderr)
    asyncio.run(serve_until_signalled(config))
    return 0


if __name__ == "__main__":
    sys.exit(main())
