"""The console's labels come from one catalogue: every key a template or the code asks for is in English, the
translations only hold keys English has, and Arabic pages are right-to-left."""

from __future__ import annotations

import json
import re
from importlib import resources
from pathlib import Path

import pytest

from dunning.console.i18n import LANGUAGES, Messages, catalogue, pick_language

CONSOLE = Path(resources.files("dunning.console"))  # type: ignore[arg-type]
LITERAL_KEY = re.compile(r"""msg\(\s*["']([a-z_.]+)["']""")
# keys built from a prefix and a value: the prefix and every value the code can produce
DYNAMIC = {
    "action.": ["letter", "email", "activity", "none"],
    "outcome.": ["act", "none", "unassigned", "excluded", "no_balance"],
    "cstatus.": ["pending", "rendered", "sent", "printed", "failed", "suppressed", "open", "closed", "recorded"],
    "status.": ["SUCCEEDED", "FAILED", "RUNNING"],
}


QUOTED = re.compile(r"""["']([a-z_]+\.[a-z_.]+)["']""")


def used_keys() -> set[str]:
    """``msg("key")`` in the templates and the code, and key-like literals in the code (labels kept in tables,
    such as the funnel's stages and the navigation) whose prefix is a catalogue section."""
    sections = {k.split(".")[0] for k in catalogue("en")}
    keys: set[str] = set()
    for path in CONSOLE.joinpath("templates").glob("*.j2"):
        keys.update(k for k in LITERAL_KEY.findall(path.read_text(encoding="utf-8")) if not k.endswith("."))
    for path in CONSOLE.glob("*.py"):
        text = path.read_text(encoding="utf-8")
        keys.update(k for k in LITERAL_KEY.findall(text) if not k.endswith("."))
        keys.update(k for k in QUOTED.findall(text) if k.split(".")[0] in sections and not k.endswith("."))
    return keys


def test_every_key_used_in_the_templates_and_the_code_is_in_the_english_catalogue():
    english = catalogue("en")
    missing = sorted(k for k in used_keys() if k not in english)
    assert missing == []


def test_every_value_of_a_dynamic_key_has_an_english_label():
    from dunning.console.pages import NAV
    from dunning.console.routes import OUTCOMES

    english = catalogue("en")
    wanted = [p + v for p, values in DYNAMIC.items() for v in values]
    wanted += [f"worklist.outcome.{o}" for o in OUTCOMES] + [label for label, _, _ in NAV]
    assert [k for k in wanted if k not in english] == []


@pytest.mark.parametrize("language", [lang for lang in LANGUAGES if lang != "en"])
def test_a_translation_holds_only_keys_english_has_and_the_same_placeholders(language):
    english, other = catalogue("en"), catalogue(language)
    assert other, f"{language} has no catalogue"
    assert sorted(set(other) - set(english)) == []
    fields = re.compile(r"\{(\w+)\}")
    for key, text in other.items():
        assert set(fields.findall(text)) == set(fields.findall(english[key])), key


def test_the_catalogues_are_valid_json_objects_of_strings():
    for language in LANGUAGES:
        text = CONSOLE.joinpath("messages", f"{language}.json").read_text(encoding="utf-8")
        data = json.loads(text)
        assert all(isinstance(v, str) and v for v in data.values()), language


def test_given_a_key_the_translation_lacks_then_the_english_label_is_used():
    msg = Messages("ru")
    assert "account.payment" not in catalogue("ru")
    assert msg("account.payment") == catalogue("en")["account.payment"]
    assert msg("nav.runs") == catalogue("ru")["nav.runs"]


def test_an_unknown_key_is_an_error_not_a_blank_label():
    with pytest.raises(KeyError):
        Messages("en")("no.such.key")


def test_arabic_is_right_to_left_and_the_others_left_to_right():
    assert Messages("ar").direction == "rtl"
    assert {Messages(lang).direction for lang in ("en", "pt-BR", "ru")} == {"ltr"}


def test_the_language_is_the_explicit_choice_then_the_browser_s_then_english():
    assert pick_language(["ar", "ru"]) == "ar"
    assert pick_language([None, "ru"]) == "ru"
    assert pick_language([None, "xx"], "fr-FR,pt-BR;q=0.8,ru;q=0.9") == "ru"
    assert pick_language([None], "pt;q=0.5") == "pt-BR"
    assert pick_language([None], "de") == "en"
