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
    known = (
        set(EN["exceptions"])
        | set(EN["issues"])
        | set(EN["selector"])
        | set(EN["entity"]["tts"])
        | set(EN["entity"]["stt"])
    )
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


def test_icons_name_a_material_design_icon_for_each_entity() -> None:
    """icons.json is valid and gives the speech and speech recognition entities their icons."""
    icons = json.loads((INTEGRATION / "icons.json").read_text(encoding="utf-8"))
    for _, icon in leaves(icons):
        assert icon.startswith("mdi:")
    assert icons["entity"]["tts"]
    assert icons["entity"]["stt"]["speech_recognition"]


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
