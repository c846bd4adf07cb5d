"""The client subpackage imports nothing from Home Assistant."""

import ast
from pathlib import Path
import subprocess
import sys

CLIENT_DIR = Path(__file__).parents[2] / "custom_components" / "faseeh" / "client"

SCRIPT = """
import asyncio
import importlib.abc
import sys


class BlockHomeAssistant(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path, target=None):
        if name == "homeassistant" or name.startswith("homeassistant."):
            raise ImportError(f"blocked import of {name}")
        return None


sys.meta_path.insert(0, BlockHomeAssistant())
sys.path.insert(0, sys.argv[1])

import aiohttp
import client
from client.frames import parse_frame


async def main():
    async with aiohttp.ClientSession() as session:
        faseeh = client.FaseehClient(session, "key", "http://127.0.0.1:9")
        try:
            async for _ in faseeh.stream_speech("", voice_id="v", model_id="m"):
                pass
        except client.InvalidSettingsError:
            pass
        else:
            raise AssertionError("empty text accepted")
    assert client.split_sentences("a. b") == ["a. ", "b"]
    assert parse_frame('{"type": "connectionInitialized"}')


asyncio.run(main())
loaded = sorted(name for name in sys.modules if name.split(".")[0] == "homeassistant")
assert not loaded, loaded
print("ok", client.__name__)
"""


def test_imports_as_a_top_level_package_without_homeassistant() -> None:
    """Imported by path as `client` with homeassistant imports blocked, it works."""
    result = subprocess.run(
        [sys.executable, "-c", SCRIPT, str(CLIENT_DIR.parent)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "ok client"


def test_no_module_imports_homeassistant_or_absolute_paths() -> None:
    """Every module uses relative imports inside the package and never homeassistant."""
    modules = sorted(CLIENT_DIR.glob("*.py"))
    assert len(modules) >= 6
    for module in modules:
        tree = ast.parse(module.read_text(encoding="utf-8"), filename=str(module))
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0:
                names = [node.module or ""]
            else:
                continue
            for name in names:
                top = name.split(".")[0]
                assert top not in {"homeassistant", "custom_components"}, (module.name, name)
