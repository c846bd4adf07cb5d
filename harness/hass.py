"""A real ``hass`` process on a throwaway config directory, and what it logs.

The configuration holds only what is asked for (no ``default_config``, which would bring
network-using integrations): core settings, ``http`` on 127.0.0.1, the frontend, ``api``,
``config``, ``onboarding``, the extra components and links to custom components.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
import importlib.util
from pathlib import Path
import re
import shutil
import subprocess
import sys
import tempfile
from typing import Self, TextIO

import aiohttp

from .console import Console
from .errors import HarnessError
from .processes import free_port, poll, shown_path, stop_process

ROOT = Path(__file__).resolve().parent.parent
INTEGRATION = ROOT / "custom_components" / "faseeh"
START_TIMEOUT = 90.0
LOG_TAIL_LINES = 40

LOG_ENTRY = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d")
# Default integrations whose requirements the venv lacks; their setup errors are expected.
UNUSED_INTEGRATIONS = frozenset(
    {
        "ai_task",
        "assist_pipeline",
        "assist_satellite",
        "camera",
        "cloud",
        "conversation",
        "image_processing",
        "infrared",
        "radio_frequency",
    }
)


@dataclass(frozen=True, slots=True)
class HassSettings:
    """What the throwaway Home Assistant is made of."""

    name: str = "Faseeh demo"
    language: str = "ar"
    # Extra components set up from configuration.yaml, each as `name:`.
    components: Sequence[str] = ()
    # Custom components linked into the config dir: domain -> its source folder.
    custom_components: Mapping[str, Path] = field(default_factory=lambda: {"faseeh": INTEGRATION})
    # False: an empty frontend build (every view registers, no files). True: the installed
    # home-assistant-frontend package, for a browser.
    frontend: bool = False
    log_levels: Mapping[str, str] = field(
        default_factory=lambda: {"custom_components.faseeh": "info"}
    )


class HassProcess:
    """A hass process: ``start``, ``stop`` and ``remove``, or all three with ``async with``.

    ``start`` returns once hass answers; ``remove`` deletes the config dir after ``stop``.
    """

    def __init__(self, settings: HassSettings | None = None) -> None:
        """Make the config dir; nothing runs until ``start``."""
        self.settings = settings if settings is not None else HassSettings()
        self.config_dir = Path(tempfile.mkdtemp(prefix="faseeh-hass-"))
        self.log_path = self.config_dir / "home-assistant.log"
        self.console_path = self.config_dir / "hass-console.log"
        self.port = 0
        self._process: asyncio.subprocess.Process | None = None
        self._console: TextIO | None = None

    @property
    def base_url(self) -> str:
        """Where its HTTP API and frontend answer."""
        return f"http://127.0.0.1:{self.port}"

    @property
    def pid(self) -> int:
        """The hass process id."""
        if self._process is None:
            raise HarnessError("hass is not running")
        return self._process.pid

    def write_config(self) -> None:
        """configuration.yaml and the custom_components links."""
        settings = self.settings
        frontend = "frontend:\n"
        if settings.frontend:
            if importlib.util.find_spec("hass_frontend") is None:
                raise HarnessError("frontend=True needs the home-assistant-frontend package")
        else:
            # HA falls back to recovery mode when the frontend cannot load. Its own
            # development_repo option points it at an empty build instead.
            stub = self.config_dir / "frontend-stub"
            (stub / "hass_frontend").mkdir(parents=True)
            frontend += f"  development_repo: {stub}\n"
        components = "".join(f"{name}:\n" for name in settings.components)
        levels = "".join(f"    {name}: {level}\n" for name, level in settings.log_levels.items())
        (self.config_dir / "configuration.yaml").write_text(
            f"""homeassistant:
  name: {settings.name}
  latitude: 24.4539
  longitude: 54.3773
  elevation: 0
  unit_system: metric
  time_zone: Asia/Dubai
  country: AE
  language: {settings.language}
  internal_url: {self.base_url}
http:
  server_host: 127.0.0.1
  server_port: {self.port}
{frontend}onboarding:
config:
api:
{components}logger:
  default: warning
  logs:
{levels}""",
            encoding="utf-8",
        )
        custom = self.config_dir / "custom_components"
        custom.mkdir()
        for domain, source in settings.custom_components.items():
            (custom / domain).symlink_to(source, target_is_directory=True)

    async def start(self) -> str:
        """Start hass and return its base URL once it answers."""
        self.port = free_port()
        self.write_config()
        self._console = self.console_path.open("w", encoding="utf-8")
        self._process = process = await asyncio.create_subprocess_exec(
            str(Path(sys.executable).parent / "hass"),
            "--config",
            str(self.config_dir),
            "--skip-pip",
            "--log-no-color",
            cwd=self.config_dir,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=self._console,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        async with aiohttp.ClientSession() as session:

            async def answers() -> bool | None:
                if process.returncode is not None:
                    raise HarnessError(f"hass exited with code {process.returncode} while starting")
                try:
                    async with session.get(
                        f"{self.base_url}/api/onboarding", timeout=aiohttp.ClientTimeout(total=5)
                    ) as response:
                        return True if response.status == 200 else None
                except aiohttp.ClientError, TimeoutError:
                    return None

            await poll(
                answers,
                START_TIMEOUT,
                lambda: f"Home Assistant did not answer in {START_TIMEOUT:.0f} s",
            )
        return self.base_url

    async def stop(self) -> None:
        """End hass (SIGTERM, then SIGKILL) and close its console log."""
        if self._process is not None:
            await stop_process("hass", self._process)
        if self._console is not None:
            self._console.close()
            self._console = None

    def remove(self) -> None:
        """Delete the config dir (after ``stop``)."""
        shutil.rmtree(self.config_dir, ignore_errors=True)

    async def __aenter__(self) -> Self:
        """Start; leaving the block stops hass and deletes its config dir, whatever happened."""
        try:
            await self.start()
        except BaseException:
            await self.stop()
            self.remove()
            raise
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        """Stop hass and delete its config dir."""
        await self.stop()
        self.remove()

    def settle_logs(
        self, console: Console, outcome: int, output_dir: Path, others: Sequence[Path] = ()
    ) -> None:
        """After ``stop``: drop old copies if all went well, else keep them and show the tail.

        A failure (outcome 1) also shows the end of HA's log; an interruption only keeps it.
        """
        logs = [self.log_path, self.console_path, *others]
        if outcome == 0:
            # Logs kept by an earlier failed run would only confuse now.
            for log in logs:
                (output_dir / log.name).unlink(missing_ok=True)
            return
        kept = console.keep_logs(logs, output_dir)
        if outcome == 1 and (tail := self.log_tail()):
            console.show(
                f"\n---- home-assistant.log, last {len(tail)} lines "
                "(without the setup errors of integrations the demo does not use) ----\n"
                + "\n".join(tail)
                + "\n---- end of log ----",
                error=True,
            )
        for path in kept:
            console.show(f"log kept: {shown_path(path)}", error=True)

    def log_tail(self, lines: int = LOG_TAIL_LINES) -> list[str]:
        """The end of home-assistant.log, without the noise of integrations nobody uses."""
        if not self.log_path.exists():
            return []
        text = self.log_path.read_text(encoding="utf-8", errors="replace")
        return without_known_noise(text).splitlines()[-lines:]


def without_known_noise(log: str) -> str:
    """HA's log without the entries about integrations that cannot load in this venv.

    The venv holds what the tests need, not every default integration's requirements, so
    HA logs a setup error (with a traceback) for each of these; none of them is used here.
    """
    kept: list[str] = []
    entry: list[str] = []
    for line in log.splitlines():
        if LOG_ENTRY.match(line):
            if not _is_noise(entry):
                kept.extend(entry)
            entry = []
        entry.append(line)
    if not _is_noise(entry):
        kept.extend(entry)
    return "\n".join(kept)


def _is_noise(entry: list[str]) -> bool:
    if not entry or "[homeassistant.setup]" not in entry[0]:
        return False
    failed = re.search(r"(?:Setup failed for|dependencies of) '([a-z0-9_]+)'", entry[0])
    return failed is not None and failed.group(1) in UNUSED_INTEGRATIONS
