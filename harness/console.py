"""Progress lines with the time since the run started, with every known secret removed."""

from __future__ import annotations

from pathlib import Path
import sys
import time

REDACTED = "**REDACTED**"


class Console:
    """Prints progress; whatever it prints or redacts has the secrets it was told removed."""

    def __init__(self) -> None:
        """Start the clock."""
        self.started = time.monotonic()
        self._secrets: list[str] = []

    def add_secret(self, secret: str) -> None:
        """Never show this text again (an API key, a password, a token)."""
        if secret and secret not in self._secrets:
            self._secrets.append(secret)

    def redact(self, text: str) -> str:
        """The text with every secret replaced."""
        for secret in self._secrets:
            text = text.replace(secret, REDACTED)
        return text

    def elapsed(self) -> float:
        """Seconds since the run started."""
        return time.monotonic() - self.started

    def say(self, message: str) -> None:
        """One progress line on stdout."""
        print(self.redact(f"[{self.elapsed():5.1f}s] {message}"), flush=True)

    def show(self, text: str, *, error: bool = False) -> None:
        """Text as it is (redacted), on stdout or stderr."""
        print(self.redact(text), file=sys.stderr if error else sys.stdout, flush=True)

    def keep_logs(self, logs: list[Path], output_dir: Path) -> list[Path]:
        """Copy the logs that exist into output_dir with the secrets removed; return the copies."""
        output_dir.mkdir(parents=True, exist_ok=True)
        kept: list[Path] = []
        for log in logs:
            if log.exists():
                target = output_dir / log.name
                text = log.read_text(encoding="utf-8", errors="replace")
                target.write_text(self.redact(text), encoding="utf-8")
                kept.append(target)
        return kept
