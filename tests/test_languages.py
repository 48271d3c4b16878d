"""Tests for s2st.languages: the supported table and input normalisation."""

from __future__ import annotations

import re
import types

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from s2st.errors import ConfigurationError, UnsupportedLanguageError
from s2st.languages import (
    SUPPORTED_LANGUAGES,
    is_supported,
    language_name,
    normalize_language,
    search_languages,
    table_language_code,
    wire_language_code,
)

# Rows counted by hand in Google's "Using speech-to-speech translation" page (Vertex AI).
SEED_ROW_COUNT = 252


def test_table_size_matches_published_page() -> None:
    assert len(SUPPORTED_LANGUAGES) == SEED_ROW_COUNT


@pytest.mark.parametrize(
    ("code", "name"),
    [
        ("aa", "Afar"),
        ("bci", "Baoulé"),
        ("cmn", "Mandarin Chinese"),
        ("de", "German"),
        ("en", "English"),
        ("fa", "Farsi"),
        ("ht", "Haitian, Haitian Creole"),
        ("km", "Central Khmer"),
        ("lu", "Luba-Katanga"),
        ("nb", "Norwegian Bokmål"),
        ("nhe", "Eastern Huasteca Nahuatl"),
        ("crs", "Seselwa Creole French"),
        ("tl", "Tagalog"),
        ("fil", "Filipino"),
        ("yue", "Cantonese"),
        ("zh", "Chinese"),
        ("zu", "Zulu"),
    ],
)
def test_table_spot_checks(code: str, name: str) -> None:
    assert SUPPORTED_LANGUAGES[code] == name


def test_table_is_immutable_and_well_formed() -> None:
    assert isinstance(SUPPORTED_LANGUAGES, types.MappingProxyType)
    with pytest.raises(TypeError):
        SUPPORTED_LANGUAGES["xx"] = "Nope"  # type: ignore[index]
    for code, name in SUPPORTED_LANGUAGES.items():
        assert code == code.strip().lower() and 2 <= len(code) <= 3 and code.isalpha()
        assert name and name == name.strip()


NORMALISE = [
    # exact and case/whitespace
    ("cmn", "cmn"),
    ("EN", "en"),
    (" en ", "en"),
    ("\tDe\n", "de"),
    ("FIL", "fil"),
    # BCP-47 with supported primary subtag
    ("en-US", "en"),
    ("en_us", "en"),
    ("en-Latn-GB", "en"),
    ("es-419", "es"),
    ("pt-BR", "pt"),
    ("pt_BR", "pt"),
    ("fr_CA", "fr"),
    ("sr-Latn", "sr"),
    ("nb-NO", "nb"),
    ("fil-PH", "fil"),
    ("arb_Arab", "ar"),
    # English names and aliases
    ("mandarin chinese", "cmn"),
    ("German", "de"),
    ("  japanese  ", "ja"),
    ("mandarin", "cmn"),
    ("Mandarin", "cmn"),
    ("cantonese", "yue"),
    ("Chinese", "zh"),
    ("Haitian", "ht"),
    ("haitian creole", "ht"),
    ("Haitian, Haitian Creole", "ht"),
    ("norwegian bokmal", "nb"),
    ("Norwegian Bokmål", "nb"),
    ("baoule", "bci"),
    ("Luba-Katanga", "lu"),
    ("persian", "fa"),
    ("Farsi", "fa"),
    ("Central   Khmer", "km"),
    # Chinese rule
    ("zh", "zh"),
    ("zh-CN", "cmn"),
    ("zh-Hans", "cmn"),
    ("zh-SG", "cmn"),
    ("zh-Hans-CN", "cmn"),
    ("zh_cmn", "cmn"),
    ("zh-cmn-Hant", "cmn"),
    ("cmn-Hant-TW", "cmn"),
    ("cmn-CN", "cmn"),
    ("cmn-Hans-CN", "cmn"),
    ("cmn-TW", "cmn"),
    ("zh-HK", "yue"),
    ("zh-Hant-HK", "yue"),
    ("zh-MO", "yue"),
    ("zh-yue", "yue"),
    ("yue-HK", "yue"),
    ("zho", "zh"),
    ("chi", "zh"),
    ("zh-US", "zh"),
    # ISO 639-2/3 and deprecated codes
    ("eng", "en"),
    ("spa", "es"),
    ("fra", "fr"),
    ("fre", "fr"),
    ("deu", "de"),
    ("ger", "de"),
    ("jpn", "ja"),
    ("kor", "ko"),
    ("rus", "ru"),
    ("ara", "ar"),
    ("hin", "hi"),
    ("por", "pt"),
    ("ita", "it"),
    ("iw", "he"),
    ("in", "id"),
    ("tgl", "tl"),
    ("ENG-us", "en"),
]


@pytest.mark.parametrize(("value", "expected"), NORMALISE)
def test_normalize_language(value: str, expected: str) -> None:
    assert normalize_language(value) == expected
    assert is_supported(expected)


REJECT = [
    # value, suggestions that must be offered (in this order, as a prefix), words in the message
    ("xx", (), ()),
    ("", (), ("empty",)),
    ("   ", (), ("empty",)),
    ("nor", ("nb", "nn"), ("ambiguous", "Norwegian")),
    ("no", ("nb", "nn"), ("ambiguous",)),
    ("NO-no", ("nb", "nn"), ("ambiguous",)),
    ("norwegian", ("nb", "nn"), ("ambiguous",)),
    ("zh-TW", ("cmn", "yue", "zh"), ("Traditional", "Mandarin")),
    ("zh-Hant", ("cmn", "yue", "zh"), ("Traditional",)),
    ("zh_Hant_TW", ("cmn", "yue", "zh"), ("Traditional",)),
    ("zh-Hans-HK", ("cmn", "yue"), ("both",)),
    ("zh-Hant-CN", ("cmn", "yue", "zh"), ("Traditional",)),
    ("mandarn", ("cmn",), ()),
    ("germna", ("de",), ()),
    ("englsh", ("en",), ()),
    ("en-", ("en",), ("BCP-47",)),
    ("en--US", ("en",), ()),
    ("12", (), ()),
    ("klingon", (), ()),
    ("english language", ("en",), ("English language name",)),
    ("x" * 200, (), ("longer than",)),
]


@pytest.mark.parametrize(("value", "suggestions", "words"), REJECT)
def test_normalize_language_rejects(
    value: str, suggestions: tuple[str, ...], words: tuple[str, ...]
) -> None:
    with pytest.raises(UnsupportedLanguageError) as info:
        normalize_language(value)
    err = info.value
    assert isinstance(err, ValueError) and isinstance(err, ConfigurationError)
    assert err.suggestions[: len(suggestions)] == suggestions
    assert len(err.suggestions) <= 3
    assert all(is_supported(s) for s in err.suggestions)
    message = str(err)
    assert "SUPPORTED_LANGUAGES" in message and "s2st languages" in message
    for word in words:
        assert word in message


def test_unknown_suggestions_are_reported_in_message() -> None:
    with pytest.raises(UnsupportedLanguageError, match="did you mean 'cmn'"):
        normalize_language("mandarn")


def test_long_input_is_truncated_in_error() -> None:
    with pytest.raises(UnsupportedLanguageError) as info:
        normalize_language("y" * 5000)
    assert len(str(info.value)) < 400


@pytest.mark.parametrize("value", [None, 1, b"en", ["en"], 3.5])
def test_non_str_is_configuration_error(value: object) -> None:
    with pytest.raises(ConfigurationError, match="must be a str") as info:
        normalize_language(value)  # type: ignore[arg-type]
    assert not isinstance(info.value, UnsupportedLanguageError)


def test_every_code_and_name_round_trips() -> None:
    for code, name in SUPPORTED_LANGUAGES.items():
        assert normalize_language(code) == code
        assert normalize_language(code.upper()) == code
        if code == "gaa":
            continue  # the name "Ga" is the code "ga" (Irish); codes win (module docstring)
        assert normalize_language(name) == code
        assert normalize_language(name.upper()) == code
        assert language_name(code) == name


def test_code_wins_over_name() -> None:
    assert normalize_language("Ga") == "ga"
    assert normalize_language("gaa") == "gaa"


def test_language_name() -> None:
    assert language_name("cmn") == "Mandarin Chinese"
    assert language_name("en-US") == "English"
    with pytest.raises(UnsupportedLanguageError):
        language_name("xx")


def test_is_supported_is_exact() -> None:
    assert is_supported("cmn")
    assert not is_supported("CMN")
    assert not is_supported("en-US")
    assert not is_supported("")
    assert not is_supported(None)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("query", "first"),
    [
        ("en-US", ("en", "English")),
        ("mandarin", ("cmn", "Mandarin Chinese")),
        ("chin", ("cmn", "Mandarin Chinese")),
        ("germna", ("de", "German")),
        ("yue", ("yue", "Cantonese")),
    ],
)
def test_search_languages_best_first(query: str, first: tuple[str, str]) -> None:
    result = search_languages(query)
    assert result[0] == first
    assert len({code for code, _ in result}) == len(result)


def test_search_languages_substring_and_empty() -> None:
    chin = [code for code, _ in search_languages("chin")]
    assert {"cmn", "zh", "cnh", "kac", "ace"} <= set(chin)
    assert search_languages("") == list(SUPPORTED_LANGUAGES.items())
    assert search_languages("  ") == list(SUPPORTED_LANGUAGES.items())
    assert search_languages("qqqqqqqq") == []
    norwegian = [code for code, _ in search_languages("norwegian")]
    assert norwegian[:2] == ["nb", "nn"]
    with pytest.raises(ConfigurationError):
        search_languages(3)  # type: ignore[arg-type]


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=40))
def test_normalize_never_raises_other_errors_and_is_idempotent(text: str) -> None:
    try:
        code = normalize_language(text)
    except UnsupportedLanguageError as err:
        assert all(s in SUPPORTED_LANGUAGES for s in err.suggestions)
        return
    assert code in SUPPORTED_LANGUAGES
    assert normalize_language(code) == code


@settings(max_examples=200, deadline=None)
@given(
    st.sampled_from(sorted(SUPPORTED_LANGUAGES)),
    st.lists(st.from_regex(r"[A-Za-z0-9]{1,8}", fullmatch=True), max_size=3),
    st.sampled_from(["-", "_"]),
)
def test_bcp47_tags_with_supported_primary(code: str, rest: list[str], sep: str) -> None:
    tag = sep.join([code, *rest])
    try:
        result = normalize_language(tag)
    except UnsupportedLanguageError as err:
        # Only the Chinese rule may refuse a tag whose primary subtag is supported.
        assert code == "zh" and set(err.suggestions) <= {"cmn", "yue", "zh"}
        return
    if code == "zh":
        assert result in {"zh", "cmn", "yue"}
    else:
        assert result == code
    assert normalize_language(result) == result


@settings(max_examples=100, deadline=None)
@given(st.text(max_size=20))
def test_search_never_raises_for_str(text: str) -> None:
    for code, name in search_languages(text):
        assert SUPPORTED_LANGUAGES[code] == name


# --------------------------------------------------------------------------------------------
# Wire codes per dialect, both ways over the whole table
# --------------------------------------------------------------------------------------------

BCP47_PRIMARY = re.compile(r"[a-z]{2,3}\Z")


def _emulator_accepts(code: str) -> bool:
    """What emulator/wire.py::_language_ok checks, spelled out."""
    try:
        return is_supported(code) or is_supported(normalize_language(code))
    except ValueError:
        return False


@pytest.mark.parametrize("code", sorted(SUPPORTED_LANGUAGES))
def test_every_row_both_ways(code: str) -> None:
    legacy = wire_language_code(code, "s2st")
    live = wire_language_code(code, "live_translate")
    assert legacy == code  # the legacy dialect sends the seed table's codes, cmn included
    assert table_language_code(legacy) == code
    assert BCP47_PRIMARY.match(live), live  # a bare BCP-47 primary language subtag
    assert _emulator_accepts(live) and _emulator_accepts(legacy)
    back = table_language_code(live)
    if code == "cmn":
        # The one pair the live-translate dialect does not tell apart (EVIDENCE.md row 12).
        assert (live, back) == ("zh", "zh")
    else:
        assert live == code  # already its shortest ISO 639 code
        assert back == code
    assert wire_language_code(back or "", "live_translate") == live  # stable on the wire


def test_only_mandarin_changes_between_dialects() -> None:
    changed = {
        c: wire_language_code(c, "live_translate")
        for c in SUPPORTED_LANGUAGES
        if wire_language_code(c, "live_translate") != wire_language_code(c, "s2st")
    }
    assert changed == {"cmn": "zh"}


# (what the caller gave, live_translate tag, table code)
TAG_ROWS: list[tuple[str, str, str]] = [
    ("es-419", "es-419", "es"),
    ("pt_BR", "pt-BR", "pt"),
    ("pt-br", "pt-BR", "pt"),
    ("EN-us", "en-US", "en"),
    ("en-US-u-ca-gregory", "en-US", "en"),  # extension dropped
    ("en-x-private", "en", "en"),  # private use dropped
    ("en-US-Latn", "en", "en"),  # script after region: not BCP-47 order, nothing kept
    ("sr-Latn-RS", "sr-Latn-RS", "sr"),
    ("sl-rozaj", "sl-rozaj", "sl"),
    ("de-CH-1996", "de-CH-1996", "de"),
    ("spa-MX", "es-MX", "es"),  # shortest ISO 639 code as primary
    ("eng", "en", "en"),
    ("German", "de", "de"),
    ("Mandarin", "zh", "cmn"),
    ("cmn", "zh", "cmn"),
    ("zh", "zh", "zh"),
    ("zh-CN", "zh-CN", "cmn"),
    ("zh-SG", "zh-SG", "cmn"),
    ("zh-Hans", "zh-Hans", "cmn"),
    ("zh-Hans-CN", "zh-Hans-CN", "cmn"),
    ("cmn-Hans-CN", "zh-Hans-CN", "cmn"),
    ("zh-cmn-Hans-CN", "zh-Hans-CN", "cmn"),  # extlang folded into the primary
    ("zh-cmn-Hant", "zh", "cmn"),  # zh-Hant alone would be ambiguous: script dropped
    ("zh-cmn", "zh", "cmn"),
    ("yue", "yue", "yue"),
    ("zh-yue", "yue", "yue"),
    ("zh-HK", "yue-HK", "yue"),
    ("zh-MO", "yue-MO", "yue"),
    ("yue-Hant-HK", "yue-Hant-HK", "yue"),
    ("zh-Hant-HK", "yue-Hant-HK", "yue"),
    ("fil-PH", "fil-PH", "fil"),
]


@pytest.mark.parametrize(("given_", "tag", "code"), TAG_ROWS, ids=[r[0] for r in TAG_ROWS])
def test_live_translate_keeps_valid_subtags(given_: str, tag: str, code: str) -> None:
    assert wire_language_code(given_, "live_translate") == tag
    assert wire_language_code(given_, "s2st") == code
    assert _emulator_accepts(tag)
    back = table_language_code(tag)
    assert back == ("zh" if tag == "zh" else code)
    assert wire_language_code(tag, "live_translate") == tag  # canonical: idempotent


@pytest.mark.parametrize("value", ["zh-TW", "zh-Hant", "klingon", "", "no"])
def test_wire_code_refuses_what_normalize_refuses(value: str) -> None:
    for dialect in ("s2st", "live_translate"):
        with pytest.raises(UnsupportedLanguageError):
            wire_language_code(value, dialect)  # type: ignore[arg-type]


def test_wire_code_rejects_an_unknown_dialect() -> None:
    with pytest.raises(ConfigurationError, match="dialect must be"):
        wire_language_code("es", "auto")  # type: ignore[arg-type]


@pytest.mark.parametrize("value", ["zh-TW", "klingon", "", 3, None])
def test_table_language_code_never_raises(value: object) -> None:
    assert table_language_code(value) is None  # type: ignore[arg-type]


@settings(max_examples=300, deadline=None)
@given(
    st.sampled_from(sorted(SUPPORTED_LANGUAGES)),
    st.lists(
        st.sampled_from(
            [
                "Latn",
                "Hans",
                "Hant",
                "US",
                "419",
                "BR",
                "CN",
                "HK",
                "TW",
                "fonipa",
                "1996",
                "x",
                "u",
                "ca",
                "yue",
                "cmn",
                "Cyrl",
                "001",
            ]
        ),
        max_size=4,
    ),
    st.sampled_from(["-", "_"]),
)
def test_every_tag_sent_reads_back_and_is_accepted(code: str, subtags: list[str], sep: str) -> None:
    value = sep.join([code, *subtags])
    try:
        expected = normalize_language(value)
    except UnsupportedLanguageError:
        with pytest.raises(UnsupportedLanguageError):
            wire_language_code(value, "live_translate")
        return
    tag = wire_language_code(value, "live_translate")
    assert _emulator_accepts(tag)
    assert table_language_code(tag) == ("zh" if tag == "zh" else expected)
    assert wire_language_code(tag, "live_translate") == tag
    assert wire_language_code(value, "s2st") == expected


# --------------------------------------------------------------------------------------------
# Search ranking (issue 13): exact code, then name, then partial matches
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("es", ["es", "eo", "et"]),  # exact code, then names with a word starting with "es"
        ("span", ["es"]),
        ("Spanish", ["es"]),
        ("de", ["de"]),
        ("zh", ["zh", "za"]),
    ],
)
def test_search_exact_first_and_no_substring_noise(query: str, expected: list[str]) -> None:
    assert [code for code, _ in search_languages(query)] == expected


def test_search_two_letters_never_match_inside_a_word() -> None:
    codes = [code for code, _ in search_languages("es")]
    assert "jv" not in codes and "vi" not in codes  # Javanese, Vietnamese
    assert search_languages("xx") == []
