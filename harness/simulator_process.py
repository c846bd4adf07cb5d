"""The Faseeh simulator in a process of its own, with any SimulatorConfig switch.

In-process, use ``simulator.FaseehSimulator`` itself: it has the same ``start``, ``stop`` and
``url``. A process of its own is what a real ``hass`` meets: the service across a process
boundary, with its own event loop. ``python -m harness.simulator_process CONFIG_JSON`` is the
child's entry point; it prints ``FASEEH_URL=...`` first, as ``python -m simulator`` does.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import json
import logging
from pathlib import Path
import sys
from typing import Any, TextIO

from simulator import SimulatorConfig, SttConfig
from simulator.server import URL_LINE_PREFIX, serve_until_signalled

from .errors import HarnessError
from .processes import copy_stream, stop_process

ROOT = Path(__file__).resolve().parent.parent
START_TIMEOUT = 30.0


def config_to_json(config: SimulatorConfig) -> str:
    """Every field of the config, as the child rebuilds it."""
    fields = dataclasses.asdict(config)
    fields["api_keys"] = sorted(config.api_keys)
    return json.dumps(fields, ensure_ascii=False)


def config_from_json(text: str) -> SimulatorConfig:
    """The inverse of ``config_to_json``."""
    fields: dict[str, Any] = json.loads(text)
    fields["api_keys"] = set(fields["api_keys"])
    fields["stt"] = SttConfig(**fields["stt"])
    return SimulatorConfig(**fields)


class SimulatorProcess:
    """``await start()`` runs the child and returns its URL; ``await stop()`` ends it."""

    def __init__(self, config: SimulatorConfig, log_path: Path) -> None:
        """Prepare; the child's stderr and later stdout go to log_path."""
        self.config = config
        self.log_path = log_path
        self._url: str | None = None
        self._process: asyncio.subprocess.Process | None = None
        self._log: TextIO | None = None
        self._drain: asyncio.Task[None] | None = None

    @property
    def url(self) -> str:
        """The base URL, e.g. http://127.0.0.1:PORT."""
        if self._url is None:
            raise HarnessError("the simulator is not running")
        return self._url

    async def start(self) -> str:
        """Start the child and wait for the URL it prints first."""
        self._log = self.log_path.open("w", encoding="utf-8")
        self._process = process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "harness.simulator_process",
            config_to_json(self.config),
            cwd=ROOT,
            stdout=asyncio.subprocess.PIPE,
            stderr=self._log,
            start_new_session=True,
        )
        assert process.stdout is not None
        try:
            first = await asyncio.wait_for(process.stdout.readline(), START_TIMEOUT)
        except TimeoutError as err:
            raise HarnessError(f"the simulator printed nothing in {START_TIMEOUT:.0f} s") from err
        line = first.decode(errors="replace").strip()
        if not line.startswith(URL_LINE_PREFIX):
            raise HarnessError(f"the simulator's first line is {line!r}, not {URL_LINE_PREFIX}...")
        self._drain = asyncio.create_task(copy_stream(process.stdout, self._log))
        self._url = line.removeprefix(URL_LINE_PREFIX)
        return self._url

    async def stop(self) -> None:
        """End the child (SIGTERM, then SIGKILL) and close its log."""
        if self._process is not None:
            await stop_process("simulator", self._process)
        if self._drain is not None:
            with contextlib.suppress(TimeoutError, OSError):
                await asyncio.wait_for(self._drain, 5)
        if self._log is not None:
            self._log.close()
        self._url = None


def main() -> int:
    """The child: serve the config given as the one argument until SIGTERM."""
    logging.basicConfig(level=logging.INFO, stream=sys.stderr)
    asyncio.run(serve_until_signalled(config_from_json(sys.argv[1])))
    return 0


if __name__ == "__main__":
    sys.exit(main())
