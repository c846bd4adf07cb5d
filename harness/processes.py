"""Child processes, ports and waiting: the few things every harness part needs."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
import contextlib
from pathlib import Path
import signal
import socket
import subprocess
import sys
import time
from typing import NamedTuple, TextIO

from .errors import HarnessError

STOP_TIMEOUT = 20.0
POLL_INTERVAL = 0.25


class ModuleRun(NamedTuple):
    """How a ``python -m`` run ended: its exit code, its output, and whether it overran."""

    code: int
    output: str
    overran: bool


def run_module(args: list[str], *, cwd: Path, limit: float, stop_limit: float = 25.0) -> ModuleRun:
    """Run ``python -m ARGS``; on overrun SIGTERM lets it stop what it started, then SIGKILL."""
    with subprocess.Popen(
        [sys.executable, "-m", *args],
        cwd=cwd,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    ) as process:
        try:
            out, _ = process.communicate(timeout=limit)
        except subprocess.TimeoutExpired:
            process.send_signal(signal.SIGTERM)
            try:
                out, _ = process.communicate(timeout=stop_limit)
            except subprocess.TimeoutExpired:
                process.kill()
                out, _ = process.communicate()
            return ModuleRun(process.returncode, out, overran=True)
        return ModuleRun(process.returncode, out, overran=False)


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


async def poll[T](
    check: Callable[[], Awaitable[T | None]], within: float, failure: Callable[[], str]
) -> T:
    """Call check until it returns something other than None; HarnessError after within s."""
    deadline = time.monotonic() + within
    while True:
        if (found := await check()) is not None:
            return found
        if time.monotonic() > deadline:
            raise HarnessError(failure())
        await asyncio.sleep(POLL_INTERVAL)


async def copy_stream(stream: asyncio.StreamReader, out: TextIO) -> None:
    """Keep reading a child's output into its log so the pipe never fills up."""
    while line := await stream.readline():
        out.write(line.decode(errors="replace"))
        out.flush()


async def stop_process(
    name: str, process: asyncio.subprocess.Process, grace: float = STOP_TIMEOUT
) -> None:
    """SIGTERM, then SIGKILL if it has not exited in time."""
    if process.returncode is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        process.send_signal(signal.SIGTERM)
    try:
        await asyncio.wait_for(process.wait(), grace)
    except TimeoutError:
        print(f"{name} ignored SIGTERM for {grace:.0f} s; killing it", file=sys.stderr)
        with contextlib.suppress(ProcessLookupError):
            process.kill()
        await process.wait()


def shown_path(path: Path) -> str:
    """A path relative to the working directory when it is inside it."""
    with contextlib.suppress(ValueError):
        return str(path.relative_to(Path.cwd()))
    return str(path)
