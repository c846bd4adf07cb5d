"""The one ``main`` skeleton: run a job, always undo what it started, the exit code is the verdict.

Ctrl-C or SIGTERM stops the job but not its cleanup. A ``HarnessError`` is a failed step and
prints one line; anything else prints its traceback. Everything printed is redacted.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
import signal
import traceback

from .console import Console
from .errors import HarnessError

PASSED = 0
FAILED = 1
INTERRUPTED = 130


async def run_job(
    label: str,
    console: Console,
    job: Callable[[], Awaitable[None]],
    cleanup: Callable[[int], Awaitable[None]],
) -> int:
    """Run job, then cleanup(outcome) whatever happened; return the outcome."""
    loop = asyncio.get_running_loop()
    task = asyncio.current_task()
    assert task is not None
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, task.cancel)
    outcome = FAILED
    try:
        await job()
        outcome = PASSED
    except HarnessError as err:
        console.show(f"\n{label} FAILED: {err}", error=True)
    except asyncio.CancelledError:
        task.uncancel()
        console.show(f"\n{label} INTERRUPTED; stopping what it started", error=True)
        outcome = INTERRUPTED
    except Exception:  # A bug in a step still gets its cleanup and its trace.
        console.show(f"\n{label} FAILED unexpectedly:\n{traceback.format_exc()}", error=True)
    finally:
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(signum, _still_stopping, console)
        await cleanup(outcome)
    return outcome


def _still_stopping(console: Console) -> None:
    console.show("still stopping what the run started...", error=True)
