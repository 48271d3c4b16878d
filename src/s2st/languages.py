"""The languages speech-to-speech translation can target, and how user input maps onto them.

[`SUPPORTED_LANGUAGES`][s2st.languages.SUPPORTED_LANGUAGES] is the table published on Google's "Using speech-to-speech translation"
page (Vertex AI), copied row for row: code -> English name. Its codes are ISO 639-1 where one
exists, else ISO 639-2/639-3 (``"cmn"`` for Mandarin Chinese, ``"yue"``, ``"ace"``, ``"fil"``).

Which code goes on the wire depends on the setup dialect ([`wire_language_code()`][s2st.languages.wire_language_code]):

* ``"s2st"`` (legacy, ``speech_config.language_code``) sends the table code as published,
  ``"cmn"`` included (Google's own sample sends ``"cmn"``); a region or script is dropped.
* ``"live_translate"`` (``translationConfig.targetLanguageCode``) sends a BCP-47 tag, as the
  SDK documents and working clients do (EVIDENCE.md row 12). BCP-47 uses the shortest ISO 639
  code, so every table code is already a valid primary subtag except ``"cmn"``, which becomes
  ``"zh"`` (``"yue"``, ``"fil"`` and the other three-letter codes have no two-letter form and
  stay). A valid script, region and variant the caller gave are kept: ``"es-419"``,
  ``"pt_BR"`` -> ``"pt-BR"``, ``"zh-Hans-CN"``; ``"zh-HK"`` (Cantonese, rule below) becomes
  ``"yue-HK"``. Extensions, private-use parts and malformed tails are dropped, and so is any
  part that would make the tag mean another table language (``"zh-cmn-Hant"`` -> ``"zh"``, as
  ``"zh-Hant"`` alone is ambiguous). So ``normalize_language(tag)`` gives back the table
  code the tag was made from, and the emulator accepts every tag sent. The one exception: the
  bare ``"zh"`` sent for ``"cmn"`` reads back as ``"zh"`` (``"zh-CN"`` reads back as ``"cmn"``).

[`table_language_code()`][s2st.languages.table_language_code] is the inverse, for reading back a server ``languageCode``. The
live-translate dialect sends ``"zh"`` for both ``"zh"`` and ``"cmn"``; ``"zh"`` reads back as
``"zh"``. Every other table code reads back as itself in both dialects.

[`normalize_language()`][s2st.languages.normalize_language] turns what people type into one of those codes, or raises
[`UnsupportedLanguageError`][s2st.errors.UnsupportedLanguageError] with suggestions. Rules, in order:

1. a supported code in any case, with surrounding whitespace: ``" EN "`` -> ``"en"``;
2. an English name from the table, case- and accent-insensitive (``"german"`` -> ``"de"``,
   ``"norwegian bokmal"`` -> ``"nb"``; ``"Haitian, Haitian Creole"`` answers to both halves), or a
   common alias (``"mandarin"`` -> ``"cmn"``, ``"persian"`` -> ``"fa"``);
3. a one-to-one ISO 639-2/639-3 or deprecated code (``"eng"``, ``"fre"``, ``"iw"``, ``"arb"``);
4. a BCP-47 tag (``-`` or ``_``) whose primary subtag is supported by rules 1 or 3: region, script
   and variant subtags are dropped because the table has no regional variants
   (``"en-US"``, ``"es-419"``, ``"pt_BR"`` -> ``"en"``, ``"es"``, ``"pt"``); the live-translate
   dialect keeps them on the wire ([`wire_language_code()`][s2st.languages.wire_language_code]).

A code always wins over a name. The one clash in the table: ``"Ga"`` reads as ``"ga"`` (Irish);
the Ga language is ``"gaa"``.

Chinese is special because the table has ``"zh"`` (Chinese), ``"cmn"`` (Mandarin Chinese) and
``"yue"`` (Cantonese). A bare ``"zh"`` stays ``"zh"``. A tag that names Mandarin or Simplified
Chinese (``zh-CN``, ``zh-SG``, ``zh-Hans``, ``zh-cmn``, ``cmn-Hans-CN``) gives ``"cmn"``; one that
names Cantonese (``zh-HK``, ``zh-MO``, ``zh-yue``, ``yue-HK``) gives ``"yue"``. ``zh-TW`` and
``zh-Hant`` are refused as ambiguous: Traditional script is used for both Mandarin (Taiwan) and
Cantonese (Hong Kong), and the server has no Taiwanese variant of ``"cmn"`` that would promise
Traditional characters, so the caller must choose ``"cmn"``, ``"yue"`` or ``"zh"``. Conflicting
signals (``zh-Hans-HK``) are refused the same way. ``"no"``/``"nor"``/``"Norwegian"`` are refused in
favour of ``"nb"`` or ``"nn"``.

The module is pure: no I/O, only the standard library.
"""

from __future__ import annotations

import difflib
import re
import types
import unicodedata
from collections.abc import Mapping
from typing import Literal

from . import _language_data as _data
from .errors import ConfigurationError, UnsupportedLanguageError

__all__ = [
    "SUPPORTED_LANGUAGES",
    "Dialect",
    "is_supported",
    "language_name",
    "normalize_language",
    "search_languages",
    "table_language_code",
    "wire_language_code",
]

#: The two setup dialects (see [`s2st.config`][s2st.config]); they differ in the language code they send.
Dialect = Literal["s2st", "live_translate"]

#: Every target language of the S2ST model: code -> English name, exactly as Google publishes it.
SUPPORTED_LANGUAGES: Mapping[str, str] = types.MappingProxyType(_data.LANGUAGE_NAMES)

# One-to-one ISO 639-2/639-3 and deprecated codes, common English names not in the table, and
# inputs that name more than one language (see s2st._language_data).
_CODE_ALIASES: Mapping[str, str] = types.MappingProxyType(_data.CODE_ALIASES)
_NAME_ALIASES: Mapping[str, str] = types.MappingProxyType(_data.NAME_ALIASES)
_AMBIGUOUS: Mapping[str, tuple[str, tuple[str, ...]]] = types.MappingProxyType(_data.AMBIGUOUS)

_ZH_HANT = (
    "Traditional Chinese is written for both Mandarin (Taiwan) and Cantonese (Hong Kong); "
    "choose 'cmn' for Mandarin, 'yue' for Cantonese or 'zh' for generic Chinese"
)
_ZH_CONFLICT = "the tag names both Mandarin and Cantonese; choose 'cmn' or 'yue'"

_SUBTAG = re.compile(r"[a-z0-9]{1,8}\Z")
_MAX_INPUT_CHARS = 64
#: Shorter queries match names by word prefix only, never inside a word.
_MIN_SUBSTRING_CHARS = 3


def _fold(text: str) -> str:
    """Lower-case, strip accents and collapse whitespace, for name look-ups."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    stripped = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return " ".join(stripped.split())


def _words(name: str) -> list[str]:
    return re.split(r"[\s,()-]+", name)


def _build_name_index() -> dict[str, str]:
    index: dict[str, str] = {}
    for code, name in SUPPORTED_LANGUAGES.items():
        index[_fold(name)] = code
        for part in name.split(", "):  # "Haitian, Haitian Creole"
            index.setdefault(_fold(part), code)
    for alias, code in _NAME_ALIASES.items():
        index.setdefault(alias, code)
    return index


_NAME_INDEX: Mapping[str, str] = types.MappingProxyType(_build_name_index())
# Everything difflib may match against, mapped to the code it stands for.
_FUZZY_POOL: Mapping[str, str] = types.MappingProxyType(
    {**{c: c for c in SUPPORTED_LANGUAGES}, **_CODE_ALIASES, **_NAME_INDEX}
)


def _suggest(key: str, *, limit: int = 3) -> tuple[str, ...]:
    """Up to ``limit`` supported codes whose code, alias or name looks like ``key``."""
    out: list[str] = []
    for match in difflib.get_close_matches(key, list(_FUZZY_POOL), n=12, cutoff=0.6):
        code = _FUZZY_POOL[match]
        if code not in out:
            out.append(code)
    return tuple(out[:limit])


def _primary_code(primary: str) -> str | None:
    if primary in SUPPORTED_LANGUAGES:
        return primary
    return _CODE_ALIASES.get(primary)


def _chinese(tag: str, rest: list[str]) -> str:
    """Resolve a ``zh-...`` tag (see the module docstring for the rule)."""
    mandarin = cantonese = traditional = False
    for sub in rest:
        if sub in ("cmn", "hans", "cn", "sg"):
            mandarin = True
        elif sub in ("yue", "hk", "mo"):
            cantonese = True
        elif sub in ("hant", "tw"):
            traditional = True
    if mandarin and cantonese:
        raise UnsupportedLanguageError(tag, ("cmn", "yue"), _ZH_CONFLICT)
    if cantonese:
        return "yue"
    if mandarin and (not traditional or "cmn" in rest):  # zh-cmn-Hant names Mandarin outright
        return "cmn"
    if traditional:
        raise UnsupportedLanguageError(tag, ("cmn", "yue", "zh"), _ZH_HANT)
    return "zh"


def _from_tag(original: str, key: str) -> str:
    """Resolve a BCP-47-like tag ``key`` (already lower-cased, ``_`` -> ``-``)."""
    subtags = key.split("-")
    if not all(_SUBTAG.match(s) for s in subtags) or not subtags[0].isalpha():
        raise UnsupportedLanguageError(
            original,
            _suggest(subtags[0] or key),
            "not a language code, BCP-47 tag or English language name",
        )
    primary, rest = subtags[0], subtags[1:]
    if primary in _AMBIGUOUS:
        why, choices = _AMBIGUOUS[primary]
        raise UnsupportedLanguageError(original, choices, f"ambiguous: {why}")
    if primary in ("zh", "zho", "chi"):
        return _chinese(original, rest)
    code = _primary_code(primary)
    if code is None:
        raise UnsupportedLanguageError(original, _suggest(primary))
    return code


def normalize_language(value: str) -> str:
    """Return the supported language code that ``value`` names.

    Accepts codes in any case, English names, common aliases, ISO 639-2/639-3 codes and BCP-47
    tags, as described in the module docstring. The result is always a key of
    [`SUPPORTED_LANGUAGES`][s2st.languages.SUPPORTED_LANGUAGES], so ``normalize_language(normalize_language(x)) ==
    normalize_language(x)``.

    Raises:
        ConfigurationError: ``value`` is not a ``str``.
        UnsupportedLanguageError: ``value`` is empty, unknown or ambiguous; ``.suggestions``
            holds up to three close supported codes (possibly none).
    """
    if not isinstance(value, str):
        raise ConfigurationError(
            f"the target language must be a str such as 'cmn', 'en-US' or 'German', "
            f"not {type(value).__name__}"
        )
    stripped = value.strip()
    if not stripped:
        raise UnsupportedLanguageError(value, (), "empty; pass a code such as 'cmn' or 'en'")
    if len(stripped) > _MAX_INPUT_CHARS:
        shown = stripped[:_MAX_INPUT_CHARS] + "…"
        raise UnsupportedLanguageError(shown, (), f"longer than {_MAX_INPUT_CHARS} characters")
    key = _fold(stripped)
    if key in SUPPORTED_LANGUAGES:
        return key
    if key in _AMBIGUOUS:
        why, choices = _AMBIGUOUS[key]
        raise UnsupportedLanguageError(value, choices, f"ambiguous: {why}")
    if key in _NAME_INDEX:
        return _NAME_INDEX[key]
    if key in _CODE_ALIASES:
        return _CODE_ALIASES[key]
    if " " in key:
        raise UnsupportedLanguageError(value, _suggest(key), "not a known English language name")
    return _from_tag(value, key.replace("_", "-"))


def is_supported(code: str) -> bool:
    """Whether ``code`` is exactly a canonical code of [`SUPPORTED_LANGUAGES`][s2st.languages.SUPPORTED_LANGUAGES] (no normalising)."""
    return isinstance(code, str) and code in SUPPORTED_LANGUAGES


def language_name(code: str) -> str:
    """The English name of a language, e.g. ``"cmn"`` -> ``"Mandarin Chinese"``.

    ``code`` goes through [`normalize_language()`][s2st.languages.normalize_language] first, so ``"en-US"`` gives ``"English"``.

    Raises:
        UnsupportedLanguageError, ConfigurationError: as [`normalize_language()`][s2st.languages.normalize_language].
    """
    return SUPPORTED_LANGUAGES[normalize_language(code)]


def search_languages(query: str) -> list[tuple[str, str]]:
    """Find supported languages for a ``s2st languages QUERY`` listing.

    Returns ``(code, name)`` pairs, best first:

    1. the exact match: the language ``query`` normalises to (a code, a BCP-47 tag, a name
       or an alias: ``es``, ``es-MX``, ``Spanish``, ``castellano``);
    2. names equal to the query, then codes starting with it, then names with a word
       starting with it (``span`` finds Spanish);
    3. names containing it, for queries of three characters or more (``es`` alone would
       match Javanese and Vietnamese);
    4. only when none of those match, up to five close fuzzy matches (``germna``).

    An empty or blank query returns the whole table in code order; a query matching nothing
    returns ``[]``. Never raises for a ``str``; a non-``str`` raises
    [ConfigurationError][s2st.ConfigurationError].
    """
    if not isinstance(query, str):
        raise ConfigurationError(f"the search query must be a str, not {type(query).__name__}")
    key = _fold(query)
    if not key:
        return list(SUPPORTED_LANGUAGES.items())
    codes: list[str] = []
    try:
        codes.append(normalize_language(query))
    except UnsupportedLanguageError:
        pass
    folded = {c: _fold(n) for c, n in SUPPORTED_LANGUAGES.items()}
    codes += [c for c, n in folded.items() if n == key]
    codes += [c for c in SUPPORTED_LANGUAGES if c.startswith(key)]
    codes += [c for c, n in folded.items() if any(w.startswith(key) for w in _words(n))]
    if len(key) >= _MIN_SUBSTRING_CHARS:
        codes += [c for c, n in folded.items() if key in n]
    if not codes and len(key) <= _MAX_INPUT_CHARS:
        codes += _suggest(key, limit=5)
    seen: dict[str, None] = dict.fromkeys(codes)
    return [(c, SUPPORTED_LANGUAGES[c]) for c in seen]


# ---------------------------------------------------------------------------------------------
# Wire codes per dialect

# Table codes whose BCP-47 form differs: BCP-47 prefers the macrolanguage's two-letter code
# for Mandarin (IANA registry: "cmn" is also the extlang "zh-cmn"; CLDR aliases cmn -> zh), and
# working live-translate clients send "zh" (EVIDENCE.md row 12). Every other table code is its
# own shortest ISO 639 code, hence a valid BCP-47 primary subtag.
_BCP47_PRIMARY: Mapping[str, str] = types.MappingProxyType({"cmn": "zh"})

_SCRIPT = re.compile(r"[a-z]{4}\Z")
_REGION = re.compile(r"(?:[a-z]{2}|[0-9]{3})\Z")
_VARIANT = re.compile(r"(?:[a-z0-9]{5,8}|[0-9][a-z0-9]{3})\Z")
_EXTLANG = re.compile(r"[a-z]{3}\Z")


def _check_dialect(dialect: object) -> None:
    if dialect not in ("s2st", "live_translate"):
        raise ConfigurationError(f"dialect must be 's2st' or 'live_translate', not {dialect!r}")


def _kept_subtags(value: str) -> list[str]:
    """The script, region and variant subtags of a BCP-47-like ``value``, in canonical case,
    or ``[]`` when it has none or they are not in BCP-47 order (then nothing is kept)."""
    key = _fold(value.strip()).replace("_", "-")
    subtags = key.split("-")[1:]
    kept: list[str] = []
    stage = 0  # 0: extlang allowed, 1: script, 2: region, 3: variants
    for sub in subtags:
        if len(sub) == 1:  # an extension or private-use singleton: the rest is not kept
            break
        if stage == 0 and _EXTLANG.match(sub):
            stage = 1  # zh-cmn, zh-yue: normalize_language has used it; never sent
        elif stage <= 1 and _SCRIPT.match(sub):
            kept.append(sub.title())
            stage = 2
        elif stage <= 2 and _REGION.match(sub):
            kept.append(sub.upper())
            stage = 3
        elif _VARIANT.match(sub) and sub not in kept:
            kept.append(sub)
            stage = 3
        else:
            return []
    return kept


def wire_language_code(value: str, dialect: Dialect) -> str:
    """The target language code to send for ``value`` in ``dialect`` (module docstring).

    ``value`` is anything [`normalize_language()`][s2st.languages.normalize_language] accepts. ``"s2st"`` gives the table code
    (``"es-419"`` -> ``"es"``, ``"cmn"`` -> ``"cmn"``); ``"live_translate"`` gives a BCP-47
    tag that keeps a valid script/region/variant (``"es-419"`` -> ``"es-419"``, ``"cmn"`` ->
    ``"zh"``, ``"zh-HK"`` -> ``"yue-HK"``). Either way ``normalize_language`` of the result is
    ``normalize_language(value)``, except for a bare Mandarin: ``"cmn"`` -> ``"zh"`` (which
    normalises to ``"zh"``: the live-translate dialect does not tell them apart).

    Raises:
        UnsupportedLanguageError, ConfigurationError: as [`normalize_language()`][s2st.languages.normalize_language], or an
            unknown ``dialect``.
    """
    _check_dialect(dialect)
    code = normalize_language(value)
    if dialect == "s2st":
        return code
    primary = _BCP47_PRIMARY.get(code, code)
    kept = _kept_subtags(value)
    while kept:
        tag = "-".join([primary, *kept])
        try:
            if normalize_language(tag) == code:
                return tag
        except UnsupportedLanguageError:
            pass
        kept.pop()  # drop the last subtag that changes the meaning, then try again
    return primary


def table_language_code(language_code: str) -> str | None:
    """The table code that a server ``languageCode`` (either dialect) stands for, or ``None``.

    The inverse of [`wire_language_code()`][s2st.languages.wire_language_code]: ``"zh"`` -> ``"zh"``, ``"es-419"`` -> ``"es"``,
    ``"cmn"`` -> ``"cmn"``, ``"yue-HK"`` -> ``"yue"``. Never raises: an unknown, ambiguous or
    non-``str`` code gives ``None``.
    """
    try:
        return normalize_language(language_code)  # a non-str raises ConfigurationError
    except (UnsupportedLanguageError, ConfigurationError):
        return None
