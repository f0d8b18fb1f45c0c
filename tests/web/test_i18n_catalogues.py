"""web/i18n/*.json against English and Intl: the same keys, the same placeholders (per plural
form too), the plural categories Intl.PluralRules lists for the language (asked of Node), valid
JSON, no empty texts; and LANGUAGES in web/js/i18n.js names exactly these files."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from tests.node import node_json

I18N = Path(__file__).resolve().parents[2] / "web" / "i18n"
PLACEHOLDER = re.compile(r"\{(\w+)\}")
# Forms that stand for exactly one number (Arabic's zero, one and two): the word says it, so
# "{count}" may be left out there ("ملفان", two files). Every other form keeps every placeholder.
EXACT_FORMS: dict[str, frozenset[str]] = {"ar": frozenset({"zero", "one", "two"})}


def languages() -> dict[str, str]:
    found: dict[str, str] = node_json(
        "import { LANGUAGES } from './js/i18n.js'; console.log(JSON.stringify(LANGUAGES));"
    )
    return found


def plural_categories(codes: list[str]) -> dict[str, list[str]]:
    program = (
        f"const codes = {json.dumps(codes)};"
        "console.log(JSON.stringify(Object.fromEntries(codes.map((c) =>"
        " [c, new Intl.PluralRules(c).resolvedOptions().pluralCategories]))));"
    )
    found: dict[str, list[str]] = node_json(program)
    return found


def load(code: str) -> dict[str, Any]:
    text = (I18N / f"{code}.json").read_text(encoding="utf-8")
    catalogue = json.loads(text)  # valid JSON, or the test fails here
    assert isinstance(catalogue, dict), code
    return catalogue


def placeholders(text: str) -> set[str]:
    return set(PLACEHOLDER.findall(text))


ENGLISH = load("en")
CODES = sorted(languages())
CATEGORIES = plural_categories(CODES)


def test_languages_are_the_catalogues() -> None:
    assert sorted(p.stem for p in I18N.glob("*.json")) == CODES
    for code, name in languages().items():
        assert load(code)["lang.name"] == name, code


@pytest.mark.parametrize("code", CODES)
def test_catalogue_has_englishs_keys_placeholders_and_plural_forms(code: str) -> None:
    catalogue = load(code)
    missing, extra = sorted(set(ENGLISH) - set(catalogue)), sorted(set(catalogue) - set(ENGLISH))
    assert not missing and not extra, f"{code}: missing {missing}, extra {extra}"
    wanted_forms = set(CATEGORIES[code])
    assert "other" in wanted_forms
    for key, english in ENGLISH.items():
        value = catalogue[key]
        if isinstance(english, str):
            assert isinstance(value, str), f"{code} {key}: a text, as in English"
            assert value.strip(), f"{code} {key}: empty"
            assert placeholders(value) == placeholders(english), f"{code} {key}: {value!r}"
            continue
        assert isinstance(value, dict), f"{code} {key}: plural forms, as in English"
        assert set(value) == wanted_forms, f"{code} {key}: {sorted(value)}, Intl: {wanted_forms}"
        needed = placeholders(english["other"])
        assert all(placeholders(form) == needed for form in english.values()), f"en {key}"
        for form, text in value.items():
            assert isinstance(text, str) and text.strip(), f"{code} {key}.{form}: empty"
            have = placeholders(text)
            if form in EXACT_FORMS.get(code, frozenset()):
                assert have <= needed, f"{code} {key}.{form}: {text!r}"
                assert needed - have <= {"count"}, f"{code} {key}.{form}: {text!r}"
            else:
                assert have == needed, f"{code} {key}.{form}: {text!r}"


def test_english_plural_keys_have_englishs_forms() -> None:
    for key, value in ENGLISH.items():
        if isinstance(value, dict):
            assert set(value) == set(CATEGORIES["en"]), key
