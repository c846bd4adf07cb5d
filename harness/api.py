"""Home Assistant's HTTP and websocket API as the UI uses it: onboarding, login, flows.

``onboard`` creates the owner as the onboarding page does, logs in with the code it returns and
then confirms the ``http`` settings the harness wrote: HA 2026.10 moves YAML ``http:`` settings
into its store as a *pending* trial and reverts them (restarting on port 8123 on every
interface) unless someone confirms them within five minutes. The UI confirms with the
``http/config/promote`` websocket command; so does the harness.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import Enum
import secrets
from typing import Any

import aiohttp

from .console import Console
from .errors import HarnessError
from .processes import poll

REQUEST_TIMEOUT = 30.0
ENTITY_TIMEOUT = 30.0


class FlowKind(Enum):
    """The data-entry flows HA offers over HTTP: (name, start path, step path prefix)."""

    CONFIG = ("config flow", "/api/config/config_entries/flow")
    OPTIONS = ("options flow", "/api/config/config_entries/options/flow")
    REPAIR = ("repair flow", "/api/repairs/issues/fix")

    @property
    def label(self) -> str:
        """How progress lines name it."""
        return self.value[0]

    @property
    def path(self) -> str:
        """Where a flow starts; its steps are POSTed to path/flow_id."""
        return self.value[1]


@dataclass(frozen=True, slots=True)
class Owner:
    """The onboarded owner: what a browser logs in with."""

    name: str
    username: str
    password: str


class HassApi:
    """HA's HTTP and websocket API with the owner's access token once there is one."""

    def __init__(self, session: aiohttp.ClientSession, base: str, console: Console) -> None:
        """Use session (not closed here) against base, e.g. http://127.0.0.1:PORT."""
        self.session = session
        self.base = base
        self.console = console
        self.token = ""
        self.owner: Owner | None = None
        self._timeout = aiohttp.ClientTimeout(total=REQUEST_TIMEOUT)

    @property
    def headers(self) -> dict[str, str]:
        """The Authorization header, once logged in."""
        return {"Authorization": f"Bearer {self.token}"} if self.token else {}

    async def _json(self, response: aiohttp.ClientResponse, what: str) -> Any:
        if response.status >= 300:
            body = (await response.text())[:500]
            raise HarnessError(f"{what} answered HTTP {response.status}: {body}")
        return await response.json()

    async def get_json(self, path: str) -> Any:
        """GET a JSON document."""
        async with self.session.get(
            self.base + path, headers=self.headers, timeout=self._timeout
        ) as response:
            return await self._json(response, f"GET {path}")

    async def post_json(self, path: str, body: Mapping[str, Any], *, auth: bool = True) -> Any:
        """POST a JSON body and return the JSON answer."""
        async with self.session.post(
            self.base + path,
            json=body,
            headers=self.headers if auth else {},
            timeout=self._timeout,
        ) as response:
            return await self._json(response, f"POST {path}")

    async def post_form(self, path: str, form: Mapping[str, str]) -> Any:
        """POST a form (the OAuth token endpoint) and return the JSON answer."""
        async with self.session.post(
            self.base + path, data=dict(form), timeout=self._timeout
        ) as response:
            return await self._json(response, f"POST {path}")

    async def remove_entry(self, entry_id: str) -> None:
        """Delete a config entry, as its ⋮ menu's Delete does."""
        path = f"/api/config/config_entries/entry/{entry_id}"
        async with self.session.delete(
            self.base + path, headers=self.headers, timeout=self._timeout
        ) as response:
            await self._json(response, f"DELETE {path}")

    async def get_state(self, entity_id: str) -> str:
        """The entity's state, or "" while the state machine does not have it."""
        async with self.session.get(
            f"{self.base}/api/states/{entity_id}", headers=self.headers, timeout=self._timeout
        ) as response:
            if response.status == 404:
                return ""
            return str((await self._json(response, f"GET /api/states/{entity_id}"))["state"])

    async def websocket_command(self, command: Mapping[str, Any]) -> Any:
        """Run one websocket command on a connection of its own and return its result."""
        async with self.session.ws_connect(
            f"{self.base}/api/websocket", timeout=aiohttp.ClientWSTimeout(ws_close=5)
        ) as ws:
            await ws.receive_json(timeout=10)  # auth_required
            await ws.send_json({"type": "auth", "access_token": self.token})
            auth = await ws.receive_json(timeout=10)
            if auth.get("type") != "auth_ok":
                raise HarnessError(f"the websocket API refused the token: {auth.get('type')}")
            await ws.send_json({"id": 1, **command})
            while True:
                message = await ws.receive_json(timeout=REQUEST_TIMEOUT)
                if message.get("id") == 1 and message.get("type") == "result":
                    break
            if not message.get("success"):
                raise HarnessError(f"websocket {command['type']} failed: {message.get('error')}")
            return message["result"]

    # ---- onboarding and login -------------------------------------------------------------

    async def onboard(self, language: str, username: str = "demo") -> Owner:
        """Create the owner, log in, and confirm the http settings as the UI would.

        The other onboarding steps only matter to the frontend: core_config would set up
        network-using integrations (met, radio_browser, google_translate).
        """
        owner = Owner("Faseeh Demo", username, secrets.token_urlsafe(18))
        self.console.add_secret(owner.password)
        client_id = f"{self.base}/"
        created = await self.post_json(
            "/api/onboarding/users",
            {
                "client_id": client_id,
                "name": owner.name,
                "username": owner.username,
                "password": owner.password,
                "language": language,
            },
            auth=False,
        )
        token = await self.post_form(
            "/auth/token",
            {
                "grant_type": "authorization_code",
                "code": str(created["auth_code"]),
                "client_id": client_id,
            },
        )
        self.token = str(token["access_token"])
        self.console.add_secret(self.token)
        self.owner = owner
        await self.confirm_http_settings()
        return owner

    async def confirm_http_settings(self) -> None:
        """Promote a pending http config (the YAML the harness wrote) so it is never reverted."""
        config = await self.websocket_command({"type": "http/config"})
        if config.get("pending") is not None:
            await self.websocket_command({"type": "http/config/promote"})
            config = await self.websocket_command({"type": "http/config"})
        if config.get("pending") is not None or config.get("revert_at") is not None:
            raise HarnessError(f"the http settings are still unconfirmed: {config}")

    # ---- flows ------------------------------------------------------------------------------

    async def run_flow(
        self,
        kind: FlowKind,
        start: Mapping[str, Any],
        answers: Mapping[str, Mapping[str, Any]],
        *,
        expect: str = "create_entry",
        announce: bool = True,
    ) -> dict[str, Any]:
        """Start a flow and answer its steps (by step_id) until it ends as expected.

        start is the body of the first POST: {"handler": domain} for a config flow,
        {"handler": entry_id} for an options flow, {"handler": domain, "issue_id": id} for a
        repair. A menu step's answer is {"next_step_id": ...}. announce prints each step.
        """
        body = {"show_advanced_options": False, **start} if kind is FlowKind.CONFIG else start
        result: dict[str, Any] = await self.post_json(kind.path, body)
        remaining = dict(answers)
        for _ in range(len(answers) + 1):
            if result.get("type") not in ("form", "menu"):
                break
            step = str(result.get("step_id"))
            if result.get("errors"):
                raise HarnessError(f"the {kind.label}'s {step!r} step reported {result['errors']}")
            if step not in remaining:
                raise HarnessError(f"the {kind.label} asked for an unexpected step {step!r}")
            if announce:
                self.console.say(f"{kind.label}: answering the {step!r} step")
            result = await self.post_json(
                f"{kind.path}/{result['flow_id']}", dict(remaining.pop(step))
            )
        if result.get("type") != expect:
            shown = {key: result.get(key) for key in ("type", "step_id", "reason", "errors")}
            raise HarnessError(f"the {kind.label} ended with {shown} instead of {expect}")
        return result

    async def wait_for_entity(
        self, entry_id: str, entity_domain: str, platform: str | None = None
    ) -> tuple[str, str]:
        """The entry's first entity of a domain once it has a usable state: (id, state)."""
        seen: dict[str, Any] = {"ids": [], "state": "", "entry": None}

        async def usable() -> tuple[str, str] | None:
            entries = await self.get_json("/api/config/config_entries/entry")
            entry = next((e for e in entries if e.get("entry_id") == entry_id), None)
            seen["entry"] = entry and entry.get("state")
            if entry is not None and entry.get("state") in ("setup_error", "setup_retry"):
                reason = entry.get("reason") or entry.get("error_reason_translation_key")
                raise HarnessError(f"the config entry did not load: {entry['state']} ({reason})")
            registry = await self.websocket_command({"type": "config/entity_registry/list"})
            seen["ids"] = ids = [
                str(item["entity_id"])
                for item in registry
                if item.get("config_entry_id") == entry_id
                and (platform is None or item.get("platform") == platform)
                and str(item.get("entity_id", "")).startswith(f"{entity_domain}.")
            ]
            if ids:
                seen["state"] = state = await self.get_state(ids[0])
                if state not in ("", "unavailable"):
                    return ids[0], state
            return None

        return await poll(
            usable,
            ENTITY_TIMEOUT,
            lambda: (
                f"no usable {entity_domain} entity for the entry after {ENTITY_TIMEOUT:.0f} s "
                f"(found {seen['ids']}, state {seen['state']!r}, entry {seen['entry']})"
            ),
        )
