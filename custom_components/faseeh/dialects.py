"""Which Home Assistant language tag each Faseeh dialect belongs to."""

from collections.abc import Iterable

ARABIC = "ar"

# Assist pipelines pick a TTS engine by language tag, so every dialect the account can speak
# is offered as the tag of the country where it is spoken. Fusha (MSA) is plain "ar".
DIALECT_LANGUAGES: dict[str, str] = {
    "najdi": "ar-SA",
    "hijazi": "ar-SA",
    "saudi": "ar-SA",
    "emirati": "ar-AE",
    "uae": "ar-AE",
    "egyptian": "ar-EG",
    "kuwaiti": "ar-KW",
    "khaleeji": "ar-KW",
    "qatari": "ar-QA",
    "bahraini": "ar-BH",
    "omani": "ar-OM",
    "iraqi": "ar-IQ",
    "jordanian": "ar-JO",
    "levantine": "ar-SY",
    "syrian": "ar-SY",
    "lebanese": "ar-LB",
    "palestinian": "ar-PS",
    "sudanese": "ar-SD",
    "yemeni": "ar-YE",
    "libyan": "ar-LY",
    "tunisian": "ar-TN",
    "algerian": "ar-DZ",
    "moroccan": "ar-MA",
}


def dialect_languages(dialects: Iterable[str]) -> set[str]:
    """Return the regional language tags for these dialect names (unknown ones add none)."""
    return {
        DIALECT_LANGUAGES[dialect.strip().lower()]
        for dialect in dialects
        if dialect.strip().lower() in DIALECT_LANGUAGES
    }
