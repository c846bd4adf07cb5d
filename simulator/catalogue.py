"""Default voice and model catalogue served by the simulator."""

from typing import TypedDict


class VoiceInfo(TypedDict):
    """One entry of GET /api/v1/voices."""

    voice_id: str
    name: str
    gender: str | None
    dialect: list[str] | None
    type: str


class ModelInfo(TypedDict):
    """One entry of GET /api/v1/models."""

    id: str
    model_id: str
    model_name: str
    cost: float
    description: str | None


def _premade(voice_id: str, name: str, gender: str, *dialects: str) -> VoiceInfo:
    """Build a premade voice entry."""
    return {
        "voice_id": voice_id,
        "name": name,
        "gender": gender,
        "dialect": list(dialects),
        "type": "premade",
    }


def default_voices() -> list[VoiceInfo]:
    """Return a fresh copy of the default voice catalogue."""
    return [
        _premade("ar-hijazi-female-1", "Lama", "female", "hijazi"),
        _premade("ar-hijazi-female-2", "Reem", "female", "hijazi"),
        _premade("ar-najdi-male-2", "Fahad", "male", "najdi"),
        _premade("ar-najdi-female-1", "Maha", "female", "najdi"),
        _premade("ar-uae-male-1", "Hamdan", "male", "emirati"),
        _premade("ar-egyptian-male-1", "Karim", "male", "egyptian"),
        _premade("ar-kuwaiti-male-1", "Yousef", "male", "khaleeji", "kuwaiti"),
        _premade("ar-fusha-female-1", "Noor", "female", "fusha"),
        # The real service returns cloned voices with null gender and dialect.
        {
            "voice_id": "cl-my-voice-01",
            "name": "My cloned voice",
            "gender": None,
            "dialect": None,
            "type": "cloned",
        },
    ]


def default_models() -> list[ModelInfo]:
    """Return a fresh copy of the default model catalogue."""
    return [
        {
            "id": "6f1c2a52-3f1e-4d0b-9a55-0e7c1b2d3a01",
            "model_id": "faseeh-v1-preview",
            "model_name": "Faseeh v1",
            "cost": 0.0001,
            "description": "Full quality Arabic text-to-speech model.",
        },
        {
            "id": "6f1c2a52-3f1e-4d0b-9a55-0e7c1b2d3a02",
            "model_id": "faseeh-mini-v1-preview",
            "model_name": "Faseeh Mini",
            "cost": 0.00005,
            "description": "Faster, lighter Arabic text-to-speech model.",
        },
    ]
