"""Every Faseeh screen in Home Assistant's real frontend, in Arabic and in English, in Chromium.

One real hass (started by the harness, with the real frontend) serves both languages: a user
finds the integration by search, adds it through a wrong key and an unreachable address to
success, changes the voice in the options and opens the wallet repair. Each screen is checked
for raw translation keys, unfilled placeholders and, in Arabic, English words outside the names
a user expects to read in Latin letters; a screenshot of each lands in SCREENSHOTS.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass
import json
from pathlib import Path
import re
import shutil
from typing import Any

import aiohttp
from playwright.async_api import Browser, Locator, Page, async_playwright
import pytest

from harness.api import HassApi
from harness.console import Console
from harness.hass import HassProcess, HassSettings
from harness.processes import free_port
from harness.speech import fetch_speech
from simulator import DEFAULT_API_KEY, FaseehSimulator

ROOT = Path(__file__).resolve().parents[2]
INTEGRATION = ROOT / "custom_components" / "faseeh"
# The README names this folder; it is rewritten on every run.
SCREENSHOTS = ROOT / "screenshots"
CHROMIUM = Path("/usr/bin/chromium")
# The frontend can be slow to load on a busy machine; a step that takes longer has failed.
STEP_TIMEOUT_MS = 60_000
SECOND_KEY = "faseeh-sim-key-english"

# What a user types into the add-integration search (see the README's setup steps).
SEARCH_TERMS = ("Faseeh", "فصيح", "Arabic", "TTS")
# Words a user expects to read in Latin letters even in Arabic: product names, hosts, ids.
LATIN_NAMES = {
    "faseeh", "munsit", "arabic", "tts", "home", "assistant", "api", "http", "https", "ai",
    "ae", "com", "app", "v1", "url",
}  # fmt: skip
RAW_KEY = re.compile(r"\b(?:component|ui|state_attributes)\.[a-z_]+\.|\b[a-z]+(?:_[a-z]+)+\b")
PLACEHOLDER = re.compile(r"\{[A-Za-z_]\w*\}")
LATIN_WORD = re.compile(r"[A-Za-z][A-Za-z']*")

# The visible text of an element and of every shadow tree under it, as the user sees it.
DEEP_TEXT = """
(root) => {
  const parts = [];
  const walk = (node) => {
    if (node.nodeType === Node.TEXT_NODE) { parts.push(node.textContent); return; }
    const element = node.nodeType === Node.ELEMENT_NODE;
    if (!element && node.nodeType !== Node.DOCUMENT_FRAGMENT_NODE) return;
    if (element) {
      if (["STYLE", "SCRIPT", "TEMPLATE"].includes(node.tagName)) return;
      // A host with display: contents reports itself invisible while its content shows.
      const contents = getComputedStyle(node).display === "contents";
      if (!contents && node.checkVisibility && !node.checkVisibility()) return;
      if (node.tagName === "INPUT" || node.tagName === "TEXTAREA") return;
      if (node.shadowRoot) walk(node.shadowRoot);
    }
    const slot = node.tagName === "SLOT";
    const children = slot ? node.assignedNodes({flatten: true}) : node.childNodes;
    for (const child of children) walk(child);
  };
  walk(root);
  return parts.join(" ").replace(/\\s+/g, " ").trim();
}
"""
# The links inside an element's shadow trees.
DEEP_LINKS = """
(root) => {
  const links = [];
  const walk = (node) => {
    if (node.shadowRoot) walk(node.shadowRoot);
    for (const child of node.children || []) {
      if (child.tagName === "A") links.push(child.textContent);
      walk(child);
    }
  };
  walk(root);
  return links;
}
"""


@dataclass(frozen=True, slots=True)
class Language:
    """What a user of one UI language clicks and reads."""

    code: str
    add_integration: str
    custom_url: str
    configure: str
    submit: str
    finish: str


ARABIC = Language("ar", "إضافة التكامل", "عنوان مخصص", "تهيئة", "إرسال", "الانتهاء|إنهاء")
ENGLISH = Language("en", "Add integration", "Custom URL", "Configure", "Submit", "[Ff]inish")


@dataclass(slots=True)
class Home:
    """The running hass, its simulator and the owner's API."""

    hass: HassProcess
    sim: FaseehSimulator
    api: HassApi
    username: str
    password: str


def load_translations(language: str) -> dict[str, Any]:
    """One of the integration's translation files."""
    tree: dict[str, Any] = json.loads(
        (INTEGRATION / "translations" / f"{language}.json").read_text("utf-8")
    )
    return tree


@pytest.fixture
async def home(socket_enabled: None) -> AsyncIterator[Home]:
    """hass with the real frontend, onboarded, beside an in-process simulator."""
    assert CHROMIUM.is_file(), f"{CHROMIUM} is missing: ./scripts/setup installs it"  # noqa: ASYNC240
    sim = FaseehSimulator()
    sim.config.api_keys.add(SECOND_KEY)
    await sim.start()
    settings = HassSettings(
        name="Faseeh browser test",
        language="ar",
        frontend=True,
        custom_components={"faseeh": INTEGRATION},
    )
    hass = HassProcess(settings)
    console = Console()
    try:
        base = await hass.start()
        async with aiohttp.ClientSession() as session:
            api = HassApi(session, base, console)
            owner = await api.onboard("ar")
            # The frontend sends a user to onboarding until every step is done; the harness
            # does only the user step (the core_config one starts integrations not used here).
            await api.post_json("/api/onboarding/core_config", {})
            await api.post_json("/api/onboarding/analytics", {})
            await api.post_json(
                "/api/onboarding/integration",
                {"client_id": f"{base}/", "redirect_uri": f"{base}/?auth_callback=1"},
            )
            await remove_other_entries(api)
            yield Home(hass, sim, api, owner.username, owner.password)
    finally:
        await hass.stop()
        await sim.stop()
        hass.remove()


async def faseeh_entries(api: HassApi) -> list[dict[str, Any]]:
    """The Faseeh config entries, as the integrations page lists them."""
    entries = await api.get_json("/api/config/config_entries/entry")
    return [entry for entry in entries if entry["domain"] == "faseeh"]


async def remove_other_entries(api: HassApi) -> None:
    """Onboarding adds entries of its own; the screenshots should show only ours."""
    for entry in await api.get_json("/api/config/config_entries/entry"):
        if entry["domain"] != "faseeh":
            async with api.session.delete(
                f"{api.base}/api/config/config_entries/entry/{entry['entry_id']}",
                headers=api.headers,
            ) as response:
                response.raise_for_status()


class Screens:
    """One user's browser: each screen is checked, then saved as a screenshot."""

    def __init__(self, page: Page, language: Language, names: set[str]) -> None:
        """Check screens in this language; names are the Latin words allowed in Arabic."""
        self.page = page
        self.language = language
        self.names = {name.casefold() for name in names} | LATIN_NAMES
        self.count = 0
        self.folder = SCREENSHOTS / language.code
        shutil.rmtree(self.folder, ignore_errors=True)
        self.folder.mkdir(parents=True)

    async def check(self, name: str, scope: Locator) -> str:
        """Save the screen and check the text in scope; returns that text."""
        self.count += 1
        await self.page.wait_for_timeout(300)
        await self.page.screenshot(path=self.folder / f"{self.count:02d}-{name}.png")
        # One of the frontend's own templates leaves a literal "&nbsp;" in its text.
        text: str = (await scope.evaluate(DEEP_TEXT)).replace("&nbsp;", " ")
        assert text, name
        assert not RAW_KEY.findall(text), (name, text)
        assert not PLACEHOLDER.findall(text), (name, text)
        if self.language is ARABIC:
            english = {
                word
                for word in LATIN_WORD.findall(text)
                if word.casefold().removesuffix("'s") not in self.names
            }
            assert not english, (name, english, text)
        return text


async def log_in(page: Page, base: str, home: Home) -> None:
    """Through HA's own login page, as a user would."""
    await page.goto(f"{base}/")
    await page.locator("input[name=username], input[autocomplete=username]").first.fill(
        home.username
    )
    await page.locator("input[type=password]").fill(home.password)
    await page.keyboard.press("Enter")
    await page.wait_for_function(
        "!location.search.includes('auth_callback') && !!document.querySelector('home-assistant')"
    )


async def search_results(picker: Locator, term: str) -> list[str]:
    """The domains the add-integration dialog lists for a term, rows below the fold included."""
    async with asyncio.timeout(STEP_TIMEOUT_MS / 1000):
        while True:
            shown = await picker.evaluate("d => d._filter")
            if shown == term:
                # The filter is applied on the next render.
                await asyncio.sleep(0.5)
                return list(await picker.evaluate("d => d._getIntegrations().map(i => i.domain)"))
            await asyncio.sleep(0.2)


def dialog(page: Page) -> Locator:
    """The config, options or repair flow dialog that is open."""
    return page.locator("dialog-data-entry-flow, dialog-repairs-issue").first


async def submit(page: Page, language: Language) -> None:
    """Press the dialog's main button."""
    await dialog(page).get_by_role("button", name=language.submit).click()


async def journey(home: Home, browser: Browser, language: Language, api_key: str) -> None:
    """Everything one user sees, from the search to the wallet repair."""
    base = home.hass.base_url
    sim = home.sim
    voices = {voice["name"] for voice in sim.config.voices}
    models = {model["model_name"] for model in sim.config.models}
    words = {word for name in voices | models for word in LATIN_WORD.findall(name)}
    context = await browser.new_context(
        locale=language.code, viewport={"width": 1100, "height": 850}
    )
    await context.add_init_script(
        f"localStorage.setItem('selectedLanguage', JSON.stringify({language.code!r}))"
    )
    existing = {entry["entry_id"] for entry in await faseeh_entries(home.api)}
    page = await context.new_page()
    page.set_default_timeout(STEP_TIMEOUT_MS)
    screens = Screens(page, language, words)
    translations = load_translations(language.code)
    errors = translations["config"]["error"]
    try:
        await log_in(page, base, home)

        # Found by search.
        await page.goto(f"{base}/config/integrations/dashboard")
        await page.get_by_text(language.add_integration).first.click()
        search = page.locator("dialog-add-integration input").first
        picker = page.locator("dialog-add-integration")
        for term in SEARCH_TERMS:
            await search.fill(term)
            found = await search_results(picker, term)
            assert "faseeh" in found, (term, found)
        await search.fill("Faseeh")
        row = picker.locator("ha-integration-list-item").first
        await row.wait_for()
        await screens.check("search", picker)
        await row.click()

        # A wrong key: the address answers, so the key form comes back with the error.
        await dialog(page).locator("input[type=password]").wait_for()
        await screens.check("user", dialog(page))
        await dialog(page).locator("input[type=password]").fill("a-wrong-key")
        await dialog(page).get_by_text(language.custom_url, exact=True).click()
        await submit(page, language)
        url_field = dialog(page).locator("input[type=url], input:not([type=password])").first
        await url_field.wait_for()
        text = await screens.check("custom-url", dialog(page))
        assert "192.168.1.10:8080" in text
        links = await dialog(page).evaluate(DEEP_LINKS)
        assert not [link for link in links if "192.168" in link]
        await url_field.fill(sim.url)
        await submit(page, language)
        await dialog(page).get_by_text(errors["invalid_auth"]).wait_for()
        await screens.check("wrong-key", dialog(page))

        # An unreachable address: the address form says so.
        await dialog(page).locator("input[type=password]").fill(api_key)
        await dialog(page).get_by_text(language.custom_url, exact=True).click()
        await submit(page, language)
        await url_field.wait_for()
        await url_field.fill(f"http://127.0.0.1:{free_port()}")
        await submit(page, language)
        await dialog(page).get_by_text(errors["cannot_connect"]).wait_for()
        await screens.check("unreachable", dialog(page))

        # Success.
        await url_field.fill(sim.url)
        await submit(page, language)
        finish = dialog(page).get_by_role("button", name=re.compile(language.finish))
        await finish.wait_for()
        await screens.check("created", dialog(page))
        await finish.click()
        [entry] = [e for e in await faseeh_entries(home.api) if e["entry_id"] not in existing]
        assert entry["state"] == "loaded"

        # The options: pick another voice.
        await page.goto(f"{base}/config/integrations/integration/faseeh")
        await page.get_by_role("button", name=language.configure).first.click()
        await dialog(page).locator("ha-selector-select, ha-select").first.wait_for()
        await screens.check("options", dialog(page))
        # The last switch (keep a connection ready) sits below the sliders.
        await dialog(page).locator("ha-switch").last.scroll_into_view_if_needed()
        await screens.check("options-end", dialog(page))
        await dialog(page).locator("ha-select, ha-combo-box, ha-picker-field").first.click()
        fahad = dialog(page).get_by_text("Fahad").first
        await fahad.wait_for()
        await screens.check("voices", dialog(page))
        await fahad.click()
        await submit(page, language)
        await dialog(page).wait_for(state="hidden")
        diagnostics = await home.api.get_json(f"/api/diagnostics/config_entry/{entry['entry_id']}")
        assert diagnostics["data"]["options"]["voice"] == "ar-najdi-male-2"

        # The wallet repair, after a message fails for lack of balance.
        [entity_id, _] = await home.api.wait_for_entity(entry["entry_id"], "tts")
        sim.config.fault = "wallet_empty"
        try:
            fetch = await fetch_speech(home.api, entity_id, "مرحبا")
        finally:
            sim.config.fault = None
        assert fetch.error is not None
        await page.goto(f"{base}/config/repairs")
        wallet = translations["issues"]["wallet_empty"]["title"]
        await page.get_by_text(wallet).first.click()
        await page.locator("dialog-repairs-issue").get_by_text(wallet).wait_for()
        await screens.check("wallet-repair", dialog(page))
    except BaseException:
        # What the user was looking at when it went wrong.
        await page.screenshot(path=screens.folder / "failure.png")
        raise
    finally:
        await context.close()


async def test_every_screen_reads_cleanly_in_arabic_and_english(home: Home) -> None:
    """Search, the config flow's errors and success, the options and the wallet repair."""
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=["--no-sandbox"]
        )
        try:
            await journey(home, browser, ARABIC, DEFAULT_API_KEY)
            # Labels follow the home's language: an English home for the English user.
            await home.api.websocket_command({"type": "config/core/update", "language": "en"})
            await journey(home, browser, ENGLISH, SECOND_KEY)
        finally:
            await browser.close()
