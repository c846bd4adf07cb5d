"""Every string the user can see exists in English and Arabic, with the same placeholders."""

from collections.abc import Iterator
import json
from pathlib import Path
import re
import string
from typing import Any

import pytest
import yaml

from custom_components.faseeh.config_flow import FlowError
from custom_components.faseeh.const import REGIONS
from custom_components.faseeh.dialects import DIALECT_LANGUAGES
from custom_components.faseeh.sensor import USAGE_SENSORS
from custom_components.faseeh.tts import ERROR_TRANSLATIONS

INTEGRATION = Path(__file__).parents[2] / "custom_components" / "faseeh"
TRANSLATIONS = INTEGRATION / "translations"

# The messages the entity and the coordinator raise (contract with tts.py and coordinator.py).
EXCEPTION_PLACEHOLDERS: dict[str, set[str]] = {
    "invalid_auth": set(),
    "insufficient_balance": {"message"},
    "rate_limited": {"message"},
    "voice_not_found": {"voice"},
    "model_not_found": {"model"},
    "invalid_settings": {"message"},
    "access_denied": {"message"},
    "service_unavailable": {"message"},
    "connection_lost": set(),
    "protocol_error": set(),
    "timeout": set(),
    "unknown_voice": {"voice"},
    "unknown_model": {"model"},
    "out_of_range": {"option", "value", "minimum", "maximum"},
    "catalogue_unreachable": set(),
    "catalogue_unreadable": set(),
    "catalogue_refused": set(),
    "empty_text": set(),
    "request_failed": {"message"},
}

# script/hassfest/quality_scale.py ALL_RULES in Home Assistant 2026.10.
QUALITY_SCALE_RULES = {
    "action-setup", "appropriate-polling", "brands", "common-modules", "config-flow",
    "config-flow-test-coverage", "dependency-transparency", "docs-actions", "docs-conditions",
    "docs-high-level-description", "docs-installation-instructions",
    "docs-removal-instructions", "docs-triggers", "entity-event-setup", "entity-unique-id",
    "has-entity-name", "runtime-data", "test-before-configure", "test-before-setup",
    "unique-config-entry",
    "action-exceptions", "config-entry-unloading", "docs-configuration-parameters",
    "docs-installation-parameters", "entity-unavailable", "integration-owner",
    "log-when-unavailable", "parallel-updates", "reauthentication-flow", "test-coverage",
    "devices", "diagnostics", "discovery", "discovery-update-info", "docs-data-update",
    "docs-examples", "docs-known-limitations", "docs-supported-devices",
    "docs-supported-functions", "docs-troubleshooting", "docs-use-cases", "dynamic-devices",
    "entity-category", "entity-device-class", "entity-disabled-by-default",
    "entity-translations", "exception-translations", "icon-translations",
    "reconfiguration-flow", "repair-issues", "stale-devices",
    "async-dependency", "inject-websession", "strict-typing",
}  # fmt: skip


def load(language: str) -> dict[str, Any]:
    """One translation file."""
    tree: dict[str, Any] = json.loads((TRANSLATIONS / f"{language}.json").read_text("utf-8"))
    return tree


def leaves(tree: dict[str, Any], path: tuple[str, ...] = ()) -> Iterator[tuple[str, str]]:
    """Every string of a translation tree, with its dotted key."""
    for key, value in tree.items():
        if isinstance(value, dict):
            yield from leaves(value, (*path, key))
        else:
            yield ".".join((*path, key)), value


def placeholders(text: str) -> set[str]:
    """The {names} a string expects."""
    return {name for _, name, _, _ in string.Formatter().parse(text) if name}


def source_code() -> str:
    """All of the integration's Python, client included."""
    return "\n".join(path.read_text(encoding="utf-8") for path in INTEGRATION.rglob("*.py"))


EN = load("en")
AR = load("ar")


def test_english_and_arabic_have_exactly_the_same_keys() -> None:
    """No string is missing in either language, and neither has leftovers."""
    assert dict(leaves(EN)).keys() == dict(leaves(AR)).keys()


@pytest.mark.parametrize("language", ["en", "ar"])
def test_no_string_is_empty_or_untrimmed(language: str) -> None:
    """An empty string would show a raw key in the UI."""
    for key, text in leaves(load(language)):
        assert isinstance(text, str), key
        assert text.strip(), key
        assert text == text.strip(), key


def test_each_arabic_string_uses_the_same_placeholders_as_the_english() -> None:
    """A missing or renamed {placeholder} breaks formatting at runtime."""
    arabic = dict(leaves(AR))
    for key, text in leaves(EN):
        assert placeholders(arabic[key]) == placeholders(text), key


def test_arabic_strings_are_written_in_arabic() -> None:
    """Each Arabic string has Arabic letters, not a copy of the English."""
    english = dict(leaves(EN))
    for key, text in leaves(AR):
        assert re.search(r"[\u0600-\u06ff]", text), key
        assert text != english[key], key


def test_every_exception_the_code_raises_is_translated_with_its_placeholders() -> None:
    """Each exception key exists with exactly the placeholders the raiser supplies."""
    messages = {key: value["message"] for key, value in EN["exceptions"].items()}
    assert {key: placeholders(text) for key, text in messages.items()} == EXCEPTION_PLACEHOLDERS


def test_every_translation_key_in_the_code_exists() -> None:
    """translation_key="..." in any module names an exception, issue or selector we translate."""
    used = set(re.findall(r'translation_key\s*=\s*"(\w+)"', source_code()))
    entities = {key for platform in EN["entity"].values() for key in platform}
    known = set(EN["exceptions"]) | set(EN["issues"]) | set(EN["selector"]) | entities
    assert used
    assert used <= known


def test_every_service_failure_has_a_translated_message() -> None:
    """Each error the Faseeh client can raise during speech maps to a translated exception."""
    assert set(ERROR_TRANSLATIONS.values()) <= set(EN["exceptions"])


def test_every_flow_error_and_abort_reason_is_translated() -> None:
    """Errors come from one enum; aborts are found in the flow modules' source."""
    assert {error.value for error in FlowError} == set(EN["config"]["error"])
    flow_source = "\n".join(
        (INTEGRATION / name).read_text(encoding="utf-8")
        for name in ("config_flow.py", "repairs.py")
    )
    reasons = set(re.findall(r'reason\s*=\s*"(\w+)"', flow_source))
    translated = (
        set(EN["config"]["abort"])
        | set(EN["options"]["abort"])
        | set(EN["issues"]["voice_missing"]["fix_flow"]["abort"])
    )
    assert reasons
    assert reasons <= translated


def test_every_region_has_a_label() -> None:
    """The region selector's options are all named."""
    assert set(EN["selector"]["region"]["options"]) == set(REGIONS)


def test_the_issues_name_the_dashboard_and_the_voice() -> None:
    """The placeholders repairs.py fills in are the ones the texts use."""
    assert placeholders(EN["issues"]["wallet_empty"]["description"]) == {"name", "dashboard_url"}
    pick_voice = EN["issues"]["voice_missing"]["fix_flow"]["step"]["pick_voice"]
    assert placeholders(pick_voice["description"]) == {"name", "voice"}


def test_icons_name_a_material_design_icon_for_every_entity() -> None:
    """icons.json is valid and gives each translated entity its icon."""
    icons = json.loads((INTEGRATION / "icons.json").read_text(encoding="utf-8"))
    for _, icon in leaves(icons):
        assert icon.startswith("mdi:")
    assert {platform: set(keys) for platform, keys in icons["entity"].items()} == {
        platform: set(keys) for platform, keys in EN["entity"].items()
    }


def test_every_usage_sensor_is_named() -> None:
    """Each sensor the platform creates has its translated name."""
    assert {description.translation_key for description in USAGE_SENSORS} == set(
        EN["entity"]["sensor"]
    )


def test_the_quality_scale_lists_every_rule_with_a_reason_for_each_exemption() -> None:
    """Each rule is done, todo or exempt, and an exemption says why."""
    scale: dict[str, Any] = yaml.safe_load((INTEGRATION / "quality_scale.yaml").read_text("utf-8"))
    rules: dict[str, Any] = scale["rules"]
    assert set(rules) == QUALITY_SCALE_RULES
    for name, rule in rules.items():
        status = rule if isinstance(rule, str) else rule["status"]
        assert status in {"done", "todo", "exempt"}, name
        if status == "exempt":
            assert isinstance(rule, dict), name
            assert rule["comment"].strip(), name


def test_the_readme_troubleshooting_table_explains_every_error_message() -> None:
    """Each message a user can see is in the README, word for word, with its cause and fix."""
    readme = (INTEGRATION.parents[1] / "README.md").read_text(encoding="utf-8")
    messages = [text["message"] for text in EN["exceptions"].values()]
    messages += list(EN["config"]["error"].values())

    assert [message for message in messages if f"| {message} |" not in readme] == []


# ---- The rules Home Assistant's own validator (hassfest) applies to translation files --------

# What hassfest accepts at the top of a translation file (those an integration like ours can use).
HASSFEST_SECTIONS = {
    "title", "config", "options", "selector", "issues", "exceptions", "entity", "device",
    "common", "services", "entity_component", "device_automation", "system_health",
}  # fmt: skip
HASSFEST_STEP_KEYS = {
    "title", "description", "data", "data_description", "menu_options",
    "menu_option_descriptions", "submit", "sections",
}  # fmt: skip
HASSFEST_FLOW_KEYS = {"flow_title", "step", "error", "abort", "progress", "create_entry"}
TRANSLATION_KEY = re.compile(r"^(?!.*[_-]{2})(?![_-])[a-z0-9_-]+(?<![_-])$")
# A URL written into a string; hassfest wants it in a placeholder instead. A bare host, or an
# address whose host is numeric, is not one.
URL_IN_TEXT = re.compile(
    r"(?:(?:https?|ftps?|mqtts?|wss?)://|www\.)[a-z0-9]+(?:[.-][a-z0-9]+)*\.[a-z]{2,5}\b", re.I
)
HTML_TAG = re.compile(r"<[a-z/][^>]*>", re.I)
QUOTED_PLACEHOLDER = re.compile(r"'\{\w+\}'")


def flows(tree: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    """Every data-entry flow of a file: config, options and each issue's fix flow."""
    for section in ("config", "options"):
        if section in tree:
            yield section, tree[section]
    for issue_id, issue in tree.get("issues", {}).items():
        if "fix_flow" in issue:
            yield f"issues.{issue_id}.fix_flow", issue["fix_flow"]


@pytest.mark.parametrize("language", ["en", "ar"])
def test_hassfest_accepts_the_sections_of_the_file(language: str) -> None:
    """Only sections hassfest knows; an unknown one fails the validator."""
    assert set(load(language)) <= HASSFEST_SECTIONS


@pytest.mark.parametrize("language", ["en", "ar"])
def test_hassfest_flow_rules_hold(language: str) -> None:
    """Known keys per flow and step, and each data_description names a field in data."""
    for name, flow in flows(load(language)):
        assert set(flow) <= HASSFEST_FLOW_KEYS, name
        for step_id, step in flow["step"].items():
            assert set(step) <= HASSFEST_STEP_KEYS, (name, step_id)
            assert set(step.get("data_description", {})) <= set(step.get("data", {})), step_id


@pytest.mark.parametrize("language", ["en", "ar"])
def test_hassfest_issue_rules_hold(language: str) -> None:
    """An issue has a title and either a description or a fix flow, never both."""
    for issue_id, issue in load(language)["issues"].items():
        assert issue["title"], issue_id
        assert ("description" in issue) != ("fix_flow" in issue), issue_id


@pytest.mark.parametrize("language", ["en", "ar"])
def test_hassfest_string_rules_hold(language: str) -> None:
    """No HTML, no URL, no quoted or non-identifier placeholder in any string."""
    for key, text in leaves(load(language)):
        assert not HTML_TAG.search(text), key
        assert not URL_IN_TEXT.search(text), key
        assert not QUOTED_PLACEHOLDER.search(text), key
        assert all(name.isidentifier() for name in placeholders(text)), key


def test_hassfest_key_rules_hold() -> None:
    """Selector option, exception and entity keys are lower-case slugs."""
    keys = [*EN["exceptions"], *EN["entity"]["tts"]]
    for selector in EN["selector"].values():
        keys += list(selector["options"])
    assert [key for key in keys if not TRANSLATION_KEY.match(key)] == []


# ---- Arabic text with Latin in it --------------------------------------------------------------

ISOLATED = re.compile("[\u2066\u2067\u2068][^\u2069]*\u2069")


def test_latin_text_and_placeholders_in_arabic_strings_are_isolated() -> None:
    """Names, hosts and {placeholders} keep their order in right-to-left text (issue 15.3)."""
    for key, text in leaves(AR):
        bare = ISOLATED.sub("", text)
        assert not re.search(r"[A-Za-z]", bare), (key, bare)
        assert "{" not in bare, (key, bare)


@pytest.mark.parametrize("language", ["en", "ar"])
def test_example_addresses_are_code_not_links(language: str) -> None:
    """The frontend turns a bare http:// address into a link; in `code` it stays text."""
    custom_url = load(language)["config"]["step"]["custom_url"]
    for text in (custom_url["description"], custom_url["data_description"]["url"]):
        assert not re.search(r"(?<!`)https?://[^\s`]*(?![^`]*`)", text), text


def test_every_dialect_has_a_name_in_both_languages() -> None:
    """Each dialect the entity maps to a language tag, and Fusha, is named, never shown raw."""
    expected = {*DIALECT_LANGUAGES, "fusha"}
    assert set(EN["selector"]["dialect"]["options"]) == expected
    assert set(AR["selector"]["dialect"]["options"]) == expected
