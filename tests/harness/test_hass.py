"""A hass the harness starts keeps the address it was given, and cleans up after itself."""

from __future__ import annotations

import asyncio
from pathlib import Path

import aiohttp
import pytest

from harness.api import HassApi
from harness.console import Console
from harness.hass import HassProcess, HassSettings


async def _confirmed_http_settings() -> tuple[dict[str, object], Path]:
    async with (
        HassProcess(HassSettings(custom_components={})) as hass,
        aiohttp.ClientSession() as session,
    ):
        api = HassApi(session, hass.base_url, Console())
        await api.onboard(hass.settings.language)
        config: dict[str, object] = await api.websocket_command({"type": "http/config"})
        return {**config, "port": hass.port}, hass.config_dir


@pytest.mark.usefixtures("socket_enabled")
def test_the_http_settings_are_confirmed_so_hass_never_reverts_to_port_8123() -> None:
    """After onboarding, the written http settings are the stable ones and no revert is due.

    Unconfirmed, HA 2026.10 keeps them as a pending trial and, five minutes later, restarts
    on port 8123 on every interface; the config dir is gone once the block is left.
    """
    config, config_dir = asyncio.run(_confirmed_http_settings())
    assert config["pending"] is None
    assert config["revert_at"] is None
    assert config["active_config_type"] == "stable"
    stable = config["stable"]
    assert isinstance(stable, dict)
    assert stable["server_port"] == config["port"]
    assert stable["server_host"] == ["127.0.0.1"]
    assert not config_dir.exists()
