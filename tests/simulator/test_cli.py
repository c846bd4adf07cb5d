"""python -m simulator: fault listing, and a real server process started and stopped."""

import asyncio
from pathlib import Path
import signal
import subprocess
import sys

import aiohttp
import pytest

from simulator import DEFAULT_API_KEY, Fault

ROOT = Path(__file__).resolve().parents[2]


def test_list_faults() -> None:
    """--list-faults prints one line per fault with its description, and exits 0."""
    result = subprocess.run(
        [sys.executable, "-m", "simulator", "--list-faults"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert result.returncode == 0
    lines = result.stdout.splitlines()
    assert len(lines) == len(Fault)
    for line, fault in zip(lines, Fault, strict=True):
        assert line.split()[0] == fault
        assert line.endswith(fault.description)


def test_unknown_fault_is_a_usage_error() -> None:
    """A typo in --fault is refused by argparse."""
    result = subprocess.run(
        [sys.executable, "-m", "simulator", "--fault", "nope"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert result.returncode == 2
    assert "invalid choice" in result.stderr


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
async def test_server_process(socket_enabled: None, signum: signal.Signals) -> None:
    """The first stdout line is FASEEH_URL=...; the server answers; a signal stops it cleanly."""
    process = await asyncio.create_subprocess_exec(
        *[sys.executable, "-m", "simulator", "--port", "0", "--api-key", "cli-key"],
        *["--chunk-bytes", "960", "--final-style", "batch", "--first-audio-delay", "0"],
        cwd=ROOT,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        assert process.stdout is not None
        async with asyncio.timeout(20):
            line = (await process.stdout.readline()).decode().strip()
        assert line.startswith("FASEEH_URL=http://127.0.0.1:")
        url = line.removeprefix("FASEEH_URL=")
        async with aiohttp.ClientSession() as http:
            async with http.get(f"{url}/api/v1/voices", headers={"x-api-key": "cli-key"}) as r:
                assert r.status == 200
                assert len(await r.json()) == 9
            async with http.get(
                f"{url}/api/v1/voices", headers={"x-api-key": DEFAULT_API_KEY}
            ) as r:
                assert r.status == 401
        process.send_signal(signum)
        async with asyncio.timeout(10):
            _, stderr = await process.communicate()
        assert process.returncode == 0, stderr.decode()
        assert b"cli-key" not in stderr
    finally:
        if process.returncode is None:
            process.kill()
            await process.communicate()
