"""Tests for s2st.config: validation, model resource names and both setup dialects."""

from __future__ import annotations

import json
import subprocess
import sys
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from s2st.config import (
    DEFAULT_MODEL,
    LIVE_TRANSLATE_MODEL,
    MODEL_ALIASES,
    ActivityDetection,
    ContextWindowCompressionConfig,
    RealtimeInputConfig,
    SessionResumptionConfig,
    TranslationConfig,
    audio_mime_type,
    model_resource,
)
from s2st.errors import ConfigurationError, UnsupportedLanguageError

ALT_MODEL = "gemini-2.5-flash-s2st-exp-11-2025"
VERTEX_RES = f"projects/p/locations/us-central1/publishers/google/models/{DEFAULT_MODEL}"
LT_VERTEX_RES = f"publishers/google/models/{LIVE_TRANSLATE_MODEL}"

FULL_OPTIONS: dict[str, Any] = {
    "voice_name": "Kore",
    "input_transcription": False,
    "realtime_input": {
        "automatic_activity_detection": {
            "start_of_speech_sensitivity": "START_SENSITIVITY_LOW",
            "end_of_speech_sensitivity": "END_SENSITIVITY_HIGH",
            "prefix_padding_ms": 20,
            "silence_duration_ms": 500,
        },
        "activity_handling": "NO_INTERRUPTION",
        "turn_coverage": "TURN_INCLUDES_ALL_INPUT",
    },
    "session_resumption": {"handle": "old-handle"},
    "context_window_compression": {"trigger_tokens": 25600, "target_tokens": 12800},
}

SETUP_CASES: list[tuple[str, dict[str, Any], str, str, str | None, dict[str, Any]]] = [
    (
        "s2st-vertex-default",
        {"target_language": "cmn"},
        "vertex",
        VERTEX_RES,
        None,
        {
            "setup": {
                "model": VERTEX_RES,
                "generation_config": {
                    "response_modalities": ["AUDIO"],
                    "speech_config": {"language_code": "cmn"},
                },
                "input_audio_transcription": {},
                "output_audio_transcription": {},
                "enable_speech_to_speech_translation": True,
                "session_resumption": {"transparent": True},
                "context_window_compression": {"sliding_window": {}},
            }
        },
    ),
    (
        "s2st-gemini-default",
        {"target_language": "de"},
        "gemini",
        f"models/{DEFAULT_MODEL}",
        None,
        {
            "setup": {
                "model": f"models/{DEFAULT_MODEL}",
                "generation_config": {
                    "response_modalities": ["AUDIO"],
                    "speech_config": {"language_code": "de"},
                },
                "input_audio_transcription": {},
                "output_audio_transcription": {},
                "enable_speech_to_speech_translation": True,
                "session_resumption": {},
                "context_window_compression": {"sliding_window": {}},
            }
        },
    ),
    (
        "s2st-vertex-full",
        {"target_language": "en-US", **FULL_OPTIONS},
        "vertex",
        VERTEX_RES,
        "new-handle",
        {
            "setup": {
                "model": VERTEX_RES,
                "generation_config": {
                    "response_modalities": ["AUDIO"],
                    "speech_config": {
                        "language_code": "en",
                        "voice_config": {"prebuilt_voice_config": {"voice_name": "Kore"}},
                    },
                },
                "output_audio_transcription": {},
                "enable_speech_to_speech_translation": True,
                "realtime_input_config": {
                    "automatic_activity_detection": {
                        "start_of_speech_sensitivity": "START_SENSITIVITY_LOW",
                        "end_of_speech_sensitivity": "END_SENSITIVITY_HIGH",
                        "prefix_padding_ms": 20,
                        "silence_duration_ms": 500,
                    },
                    "activity_handling": "NO_INTERRUPTION",
                    "turn_coverage": "TURN_INCLUDES_ALL_INPUT",
                },
                "session_resumption": {"handle": "new-handle", "transparent": True},
                "context_window_compression": {
                    "sliding_window": {"target_tokens": 12800},
                    "trigger_tokens": 25600,
                },
            }
        },
    ),
    (
        "s2st-gemini-full-config-handle",
        {"target_language": "fr", **FULL_OPTIONS, "output_transcription": False},
        "gemini",
        f"models/{DEFAULT_MODEL}",
        None,
        {
            "setup": {
                "model": f"models/{DEFAULT_MODEL}",
                "generation_config": {
                    "response_modalities": ["AUDIO"],
                    "speech_config": {
                        "language_code": "fr",
                        "voice_config": {"prebuilt_voice_config": {"voice_name": "Kore"}},
                    },
                },
                "enable_speech_to_speech_translation": True,
                "realtime_input_config": {
                    "automatic_activity_detection": {
                        "start_of_speech_sensitivity": "START_SENSITIVITY_LOW",
                        "end_of_speech_sensitivity": "END_SENSITIVITY_HIGH",
                        "prefix_padding_ms": 20,
                        "silence_duration_ms": 500,
                    },
                    "activity_handling": "NO_INTERRUPTION",
                    "turn_coverage": "TURN_INCLUDES_ALL_INPUT",
                },
                "session_resumption": {"handle": "old-handle"},
                "context_window_compression": {
                    "sliding_window": {"target_tokens": 12800},
                    "trigger_tokens": 25600,
                },
            }
        },
    ),
    (
        "s2st-alias-spelling-kept",
        {"target_language": "ja", "model": ALT_MODEL},
        "vertex",
        f"publishers/google/models/{ALT_MODEL}",
        None,
        {
            "setup": {
                "model": f"publishers/google/models/{ALT_MODEL}",
                "generation_config": {
                    "response_modalities": ["AUDIO"],
                    "speech_config": {"language_code": "ja"},
                },
                "input_audio_transcription": {},
                "output_audio_transcription": {},
                "enable_speech_to_speech_translation": True,
                "session_resumption": {"transparent": True},
                "context_window_compression": {"sliding_window": {}},
            }
        },
    ),
    (
        "s2st-vertex-minimal",
        {
            "target_language": "cmn",
            "session_resumption": {"enabled": False},
            "context_window_compression": {"enabled": False},
            "realtime_input": {},
            "input_transcription": False,
            "output_transcription": False,
        },
        "vertex",
        VERTEX_RES,
        None,
        {
            "setup": {
                "model": VERTEX_RES,
                "generation_config": {
                    "response_modalities": ["AUDIO"],
                    "speech_config": {"language_code": "cmn"},
                },
                "enable_speech_to_speech_translation": True,
            }
        },
    ),
    (
        "s2st-vertex-vad-disabled-transparent-off",
        {
            "target_language": "cmn",
            "realtime_input": {"automatic_activity_detection": {"disabled": True}},
            "session_resumption": {"transparent": False},
        },
        "vertex",
        VERTEX_RES,
        None,
        {
            "setup": {
                "model": VERTEX_RES,
                "generation_config": {
                    "response_modalities": ["AUDIO"],
                    "speech_config": {"language_code": "cmn"},
                },
                "input_audio_transcription": {},
                "output_audio_transcription": {},
                "enable_speech_to_speech_translation": True,
                "realtime_input_config": {"automatic_activity_detection": {"disabled": True}},
                "session_resumption": {},
                "context_window_compression": {"sliding_window": {}},
            }
        },
    ),
    (
        "live-translate-vertex-default",
        {"target_language": "cmn", "model": LIVE_TRANSLATE_MODEL},
        "vertex",
        LT_VERTEX_RES,
        None,
        {
            "setup": {
                "model": LT_VERTEX_RES,
                "generationConfig": {
                    "responseModalities": ["AUDIO"],
                    # BCP-47 for this dialect: Mandarin is "zh" (EVIDENCE.md row 12)
                    "translationConfig": {"targetLanguageCode": "zh", "echoTargetLanguage": False},
                },
                "inputAudioTranscription": {},
                "outputAudioTranscription": {},
                "sessionResumption": {"transparent": True},
                "contextWindowCompression": {"slidingWindow": {}},
            }
        },
    ),
    (
        "live-translate-gemini-default",
        {"target_language": "es-419", "model": LIVE_TRANSLATE_MODEL, "echo_target_language": True},
        "gemini",
        f"models/{LIVE_TRANSLATE_MODEL}",
        None,
        {
            "setup": {
                "model": f"models/{LIVE_TRANSLATE_MODEL}",
                "generationConfig": {
                    "responseModalities": ["AUDIO"],
                    # a valid BCP-47 region is kept for this dialect
                    "translationConfig": {
                        "targetLanguageCode": "es-419",
                        "echoTargetLanguage": True,
                    },
                },
                "inputAudioTranscription": {},
                "outputAudioTranscription": {},
                "sessionResumption": {},
                "contextWindowCompression": {"slidingWindow": {}},
            }
        },
    ),
    (
        "live-translate-gemini-full",
        {"target_language": "ko", "model": LIVE_TRANSLATE_MODEL, **FULL_OPTIONS},
        "gemini",
        f"models/{LIVE_TRANSLATE_MODEL}",
        "new-handle",
        {
            "setup": {
                "model": f"models/{LIVE_TRANSLATE_MODEL}",
                "generationConfig": {
                    "responseModalities": ["AUDIO"],
                    "translationConfig": {"targetLanguageCode": "ko", "echoTargetLanguage": False},
                    "speechConfig": {"voiceConfig": {"prebuiltVoiceConfig": {"voiceName": "Kore"}}},
                },
                "outputAudioTranscription": {},
                "realtimeInputConfig": {
                    "automaticActivityDetection": {
                        "startOfSpeechSensitivity": "START_SENSITIVITY_LOW",
                        "endOfSpeechSensitivity": "END_SENSITIVITY_HIGH",
                        "prefixPaddingMs": 20,
                        "silenceDurationMs": 500,
                    },
                    "activityHandling": "NO_INTERRUPTION",
                    "turnCoverage": "TURN_INCLUDES_ALL_INPUT",
                },
                "sessionResumption": {"handle": "new-handle"},
                "contextWindowCompression": {
                    "slidingWindow": {"targetTokens": 12800},
                    "triggerTokens": 25600,
                },
            }
        },
    ),
    (
        "live-translate-vertex-forced-dialect",
        {"target_language": "de", "dialect": "live_translate", "output_transcription": False},
        "vertex",
        VERTEX_RES,
        None,
        {
            "setup": {
                "model": VERTEX_RES,
                "generationConfig": {
                    "responseModalities": ["AUDIO"],
                    "translationConfig": {"targetLanguageCode": "de", "echoTargetLanguage": False},
                },
                "inputAudioTranscription": {},
                "sessionResumption": {"transparent": True},
                "contextWindowCompression": {"slidingWindow": {}},
            }
        },
    ),
    (
        "s2st-forced-dialect-on-live-translate-model",
        {"target_language": "de", "model": LIVE_TRANSLATE_MODEL, "dialect": "s2st"},
        "gemini",
        f"models/{LIVE_TRANSLATE_MODEL}",
        None,
        {
            "setup": {
                "model": f"models/{LIVE_TRANSLATE_MODEL}",
                "generation_config": {
                    "response_modalities": ["AUDIO"],
                    "speech_config": {"language_code": "de"},
                },
                "input_audio_transcription": {},
                "output_audio_transcription": {},
                "enable_speech_to_speech_translation": True,
                "session_resumption": {},
                "context_window_compression": {"sliding_window": {}},
            }
        },
    ),
]


def _all_keys(value: Any) -> list[str]:
    if isinstance(value, dict):
        return [k for k, v in value.items() for k in [k, *_all_keys(v)]]
    if isinstance(value, list):
        return [k for v in value for k in _all_keys(v)]
    return []


@pytest.mark.parametrize(
    ("options", "backend", "resource", "handle", "expected"),
    [case[1:] for case in SETUP_CASES],
    ids=[case[0] for case in SETUP_CASES],
)
def test_build_setup(
    options: dict[str, Any],
    backend: Any,
    resource: str,
    handle: str | None,
    expected: dict[str, Any],
) -> None:
    config = TranslationConfig.create(**options)
    message = config.build_setup(model_resource=resource, backend=backend, resume_handle=handle)
    assert message == expected
    assert json.loads(json.dumps(message)) == expected  # JSON-ready
    keys = _all_keys(message)
    if config.resolved_dialect == "live_translate":
        assert not any("_" in k for k in keys), "live_translate is camelCase only"
    else:
        assert not any(k != k.lower() for k in keys), "s2st is snake_case only"


def test_build_setup_resolves_resource_from_config() -> None:
    config = TranslationConfig.create(target_language="cmn")
    resource = model_resource(config.model, backend="vertex", project="p", location="us-central1")
    assert resource == VERTEX_RES
    assert config.build_setup(model_resource=resource, backend="vertex") == SETUP_CASES[0][5]


@pytest.mark.parametrize(
    ("model", "dialect"),
    [
        (DEFAULT_MODEL, "s2st"),
        (ALT_MODEL, "s2st"),
        (LIVE_TRANSLATE_MODEL, "live_translate"),
        (f"models/{LIVE_TRANSLATE_MODEL}", "live_translate"),
        ("projects/p/locations/l/publishers/google/models/x-live-translate-2", "live_translate"),
        ("gemini-2.0-flash-live-001", "s2st"),
    ],
)
def test_resolved_dialect_auto(model: str, dialect: str) -> None:
    config = TranslationConfig.create(target_language="en", model=model)
    assert config.resolved_dialect == dialect
    assert config.model == model  # never rewritten


def test_model_constants() -> None:
    assert DEFAULT_MODEL == "gemini-2.5-flash-s2st-11-2025-exp"
    assert LIVE_TRANSLATE_MODEL == "gemini-3.5-live-translate-preview"
    assert MODEL_ALIASES[ALT_MODEL] == DEFAULT_MODEL
    with pytest.raises(TypeError):
        MODEL_ALIASES["x"] = "y"  # type: ignore[index]
    assert TranslationConfig.create(target_language="en").model == DEFAULT_MODEL


RESOURCE_CASES: list[tuple[str, str, str | None, str | None, str]] = [
    ("m", "vertex", "p", "us-central1", "projects/p/locations/us-central1/publishers/google/models/m"),
    ("m", "vertex", None, None, "publishers/google/models/m"),
    (ALT_MODEL, "vertex", None, None, f"publishers/google/models/{ALT_MODEL}"),
    ("acme/m-1", "vertex", None, None, "publishers/acme/models/m-1"),
    ("acme/m-1", "vertex", "p", "eu", "projects/p/locations/eu/publishers/acme/models/m-1"),
    ("publishers/acme/models/m", "vertex", None, None, "publishers/acme/models/m"),
    ("publishers/acme/models/m", "vertex", "p", "l", "projects/p/locations/l/publishers/acme/models/m"),
    (VERTEX_RES, "vertex", None, None, VERTEX_RES),
    (VERTEX_RES, "vertex", "other", "global", VERTEX_RES),
    ("projects/p/locations/l/models/tuned-1", "vertex", None, None, "projects/p/locations/l/models/tuned-1"),
    ("m", "gemini", None, None, "models/m"),
    (DEFAULT_MODEL, "gemini", None, None, f"models/{DEFAULT_MODEL}"),
    ("models/m", "gemini", None, None, "models/m"),
    ("tunedModels/t-1", "gemini", None, None, "tunedModels/t-1"),
]  # fmt: skip


@pytest.mark.parametrize(("model", "backend", "project", "location", "expected"), RESOURCE_CASES)
def test_model_resource(
    model: str, backend: Any, project: str | None, location: str | None, expected: str
) -> None:
    assert model_resource(model, backend=backend, project=project, location=location) == expected


RESOURCE_ERRORS: list[tuple[Any, Any, Any, Any, str]] = [
    ("", "vertex", None, None, "non-empty"),
    ("a b", "vertex", None, None, "invalid model name"),
    ("a/b/c", "vertex", None, None, "invalid model name"),
    ("/m", "vertex", None, None, "invalid model name"),
    ("projects/p", "vertex", None, None, "invalid model name"),
    (None, "vertex", None, None, "non-empty str"),
    ("m", "azure", None, None, "backend must be"),
    ("m", "vertex", "p", None, "both project and location"),
    ("m", "vertex", None, "us-central1", "both project and location"),
    ("m", "vertex", "p/q", "l", "project must be"),
    ("m", "vertex", "p", "", "location must be"),
    ("models/m", "vertex", None, None, "Gemini API model name"),
    ("tunedModels/m", "vertex", None, None, "Gemini API model name"),
    ("acme/m", "gemini", None, None, "Vertex AI model name"),
    (VERTEX_RES, "gemini", None, None, "Vertex AI model name"),
    ("m", "gemini", "p", None, "Vertex AI only"),
]


@pytest.mark.parametrize(("model", "backend", "project", "location", "match"), RESOURCE_ERRORS)
def test_model_resource_errors(
    model: Any, backend: Any, project: Any, location: Any, match: str
) -> None:
    with pytest.raises(ConfigurationError, match=match) as info:
        model_resource(model, backend=backend, project=project, location=location)
    assert isinstance(info.value, ValueError)


CONFIG_ERRORS: list[tuple[dict[str, Any], str]] = [
    ({}, r"target_language: required option is missing"),
    ({"target_language": 5}, r"target_language: must be a valid string"),
    ({"target_language": "en", "voice": "Kore"}, r"voice: unknown option; did you mean 'voice_name'"),
    ({"target_language": "en", "zzz": 1}, r"zzz: unknown option; known options: target_language"),
    ({"target_language": "en", "model": ""}, r"model: the model must be a non-empty str"),
    ({"target_language": "en", "model": "gemini 2.5"}, r"model: invalid model name"),
    ({"target_language": "en", "model": 3}, r"model: must be a valid string"),
    ({"target_language": "en", "dialect": "legacy"}, r"dialect: must be 'auto', 's2st' or 'live_translate'"),
    ({"target_language": "en", "input_transcription": 1}, r"input_transcription: must be a valid boolean"),
    ({"target_language": "en", "input_transcription": "yes"}, r"input_transcription"),
    ({"target_language": "en", "echo_target_language": True}, r"echo_target_language=True needs the live_translate dialect"),
    ({"target_language": "en", "model": ALT_MODEL, "echo_target_language": True}, r"echo_target_language"),
    ({"target_language": "en", "voice_name": ""}, r"voice_name"),
    ({"target_language": "en", "voice_name": "Ko re"}, r"voice_name"),
    ({"target_language": "en", "input_sample_rate": "16000"}, r"input_sample_rate: must be a valid integer"),
    ({"target_language": "en", "input_sample_rate": 16000.0}, r"input_sample_rate: must be a valid integer"),
    ({"target_language": "en", "input_sample_rate": True}, r"input_sample_rate"),
    ({"target_language": "en", "input_sample_rate": 7999}, r"input_sample_rate: must be greater than or equal to 8000"),
    ({"target_language": "en", "input_sample_rate": 48001}, r"input_sample_rate: must be less than or equal to 48000"),
    ({"target_language": "en", "session_resumption": 3}, r"session_resumption: must be a valid dictionary"),
    ({"target_language": "en", "session_resumption": {"handle": ""}}, r"session_resumption.handle"),
    ({"target_language": "en", "session_resumption": {"enabled": False, "handle": "h"}}, r"session_resumption: handle and transparent need enabled=True"),
    ({"target_language": "en", "session_resumption": {"enabled": False, "transparent": True}}, r"need enabled=True"),
    ({"target_language": "en", "session_resumption": {"transparent": "yes"}}, r"session_resumption.transparent"),
    ({"target_language": "en", "context_window_compression": {"trigger_tokens": 0}}, r"context_window_compression.trigger_tokens: must be greater than 0"),
    ({"target_language": "en", "context_window_compression": {"target_tokens": -5}}, r"context_window_compression.target_tokens"),
    ({"target_language": "en", "context_window_compression": {"trigger_tokens": 100, "target_tokens": 100}}, r"target_tokens \(100\) must be below trigger_tokens \(100\)"),
    ({"target_language": "en", "context_window_compression": {"enabled": False, "trigger_tokens": 100}}, r"need enabled=True"),
    ({"target_language": "en", "context_window_compression": {"trigger_tokens": "100"}}, r"trigger_tokens: must be a valid integer"),
    ({"target_language": "en", "realtime_input": {"activity_handling": "x"}}, r"realtime_input.activity_handling: must be 'START_OF_ACTIVITY_INTERRUPTS' or 'NO_INTERRUPTION'"),
    ({"target_language": "en", "realtime_input": {"turn_coverage": "ALL"}}, r"realtime_input.turn_coverage"),
    ({"target_language": "en", "realtime_input": {"vad": {}}}, r"realtime_input.vad: unknown option"),
    ({"target_language": "en", "realtime_input": {"automatic_activity_detection": {"prefix_padding_ms": -1}}}, r"realtime_input.automatic_activity_detection.prefix_padding_ms: must be greater than or equal to 0"),
    ({"target_language": "en", "realtime_input": {"automatic_activity_detection": {"silence_duration_ms": 1.5}}}, r"silence_duration_ms: must be a valid integer"),
    ({"target_language": "en", "realtime_input": {"automatic_activity_detection": {"start_of_speech_sensitivity": "HIGH"}}}, r"start_of_speech_sensitivity: must be 'START_SENSITIVITY_HIGH' or 'START_SENSITIVITY_LOW'"),
    ({"target_language": "en", "realtime_input": {"automatic_activity_detection": {"end_of_speech_sensitivity": "START_SENSITIVITY_LOW"}}}, r"end_of_speech_sensitivity"),
    ({"target_language": "en", "realtime_input": {"automatic_activity_detection": {"disabled": True, "silence_duration_ms": 100}}}, r"disabled=True ignores silence_duration_ms"),
]  # fmt: skip


@pytest.mark.parametrize(("options", "match"), CONFIG_ERRORS)
def test_config_errors_are_configuration_errors(options: dict[str, Any], match: str) -> None:
    with pytest.raises(ConfigurationError, match=match) as info:
        TranslationConfig.create(**options)
    err = info.value
    assert isinstance(err, ValueError)
    assert not isinstance(err, UnsupportedLanguageError)
    assert str(err).startswith("invalid TranslationConfig options: ")


def test_several_problems_are_all_reported() -> None:
    with pytest.raises(ConfigurationError) as info:
        TranslationConfig.create(target_language="en", input_sample_rate=1, voice="x", dialect="y")
    message = str(info.value)
    for path in ("input_sample_rate", "voice", "dialect"):
        assert f"{path}: " in message


@pytest.mark.parametrize(
    ("language", "suggestion"),
    [("xx", None), ("mandarn", "cmn"), ("zh-TW", "cmn"), ("nor", "nb"), ("", None)],
)
def test_unsupported_language_keeps_suggestions(language: str, suggestion: str | None) -> None:
    with pytest.raises(UnsupportedLanguageError) as info:
        TranslationConfig.create(target_language=language, voice="also wrong")
    assert info.value.language == language
    if suggestion is not None:
        assert suggestion in info.value.suggestions


@pytest.mark.parametrize(
    ("language", "stored"), [("zh-CN", "cmn"), ("EN", "en"), ("German", "de"), ("pt_BR", "pt")]
)
def test_target_language_is_normalised(language: str, stored: str) -> None:
    assert TranslationConfig.create(target_language=language).target_language == stored


def test_submodels_raise_configuration_error_directly() -> None:
    with pytest.raises(ConfigurationError, match=r"invalid ActivityDetection options: prefix"):
        ActivityDetection(prefix_padding_ms=-1)
    with pytest.raises(ConfigurationError, match=r"invalid RealtimeInputConfig options"):
        RealtimeInputConfig(activity_handling="x")  # type: ignore[arg-type]
    with pytest.raises(ConfigurationError, match=r"invalid SessionResumptionConfig options"):
        SessionResumptionConfig(enabled=False, handle="h")
    with pytest.raises(ConfigurationError, match=r"below trigger_tokens"):
        ContextWindowCompressionConfig(trigger_tokens=10, target_tokens=20)


def test_models_are_frozen_and_hashable() -> None:
    config = TranslationConfig.create(target_language="cmn")
    with pytest.raises(AttributeError, match="frozen; build a changed copy"):
        setattr(config, "model", "x")  # noqa: B010
    with pytest.raises(AttributeError, match="frozen"):
        delattr(config, "model")
    with pytest.raises(AttributeError, match="frozen"):
        setattr(config.session_resumption, "enabled", False)  # noqa: B010
    assert config.model == DEFAULT_MODEL
    same = TranslationConfig.create(target_language="Mandarin")
    assert hash(config) == hash(same)
    assert config == same
    # Same table code, but the live-translate dialect would send "zh-CN" rather than "zh".
    other = TranslationConfig.create(target_language="zh-CN")
    assert other.target_language == config.target_language == "cmn"
    assert other != config
    assert other == TranslationConfig.create(target_language="zh_cn")


def test_nested_options_accept_instances_and_dicts() -> None:
    by_dict = TranslationConfig.create(
        target_language="en",
        realtime_input={"automatic_activity_detection": {"silence_duration_ms": 300}},
    )
    by_model = TranslationConfig(
        target_language="en",
        realtime_input=RealtimeInputConfig(
            automatic_activity_detection=ActivityDetection(silence_duration_ms=300)
        ),
    )
    assert by_dict == by_model


def test_with_options_validates_and_keeps_other_fields() -> None:
    base = TranslationConfig.create(
        target_language="cmn", voice_name="Puck", input_sample_rate=24000
    )
    changed = base.with_options(target_language="en-GB")
    assert changed.target_language == "en"
    assert changed.voice_name == "Puck" and changed.input_sample_rate == 24000
    assert base.target_language == "cmn"
    assert base.with_options() == base
    with pytest.raises(ConfigurationError, match="input_sample_rate"):
        base.with_options(input_sample_rate=0)
    with pytest.raises(UnsupportedLanguageError):
        base.with_options(target_language="xx")
    with pytest.raises(ConfigurationError, match="unknown option"):
        base.with_options(nope=1)


def test_build_setup_errors() -> None:
    config = TranslationConfig.create(target_language="cmn")
    res = f"publishers/google/models/{DEFAULT_MODEL}"
    with pytest.raises(ConfigurationError, match="backend must be"):
        config.build_setup(model_resource=res, backend="aws")  # type: ignore[arg-type]
    with pytest.raises(ConfigurationError, match="does not name the configured model"):
        config.build_setup(model_resource="publishers/google/models/other", backend="vertex")
    with pytest.raises(ConfigurationError, match="invalid model name"):
        config.build_setup(model_resource="bad name", backend="vertex")
    with pytest.raises(ConfigurationError, match="resume_handle must be a non-empty str"):
        config.build_setup(model_resource=res, backend="vertex", resume_handle="")
    transparent = config.with_options(session_resumption={"transparent": True})
    with pytest.raises(ConfigurationError, match="Vertex AI only; the Gemini API rejects it"):
        transparent.build_setup(model_resource=f"models/{DEFAULT_MODEL}", backend="gemini")
    off = config.with_options(session_resumption={"enabled": False})
    with pytest.raises(ConfigurationError, match=r"session_resumption\.enabled is False"):
        off.build_setup(model_resource=res, backend="vertex", resume_handle="h")


@pytest.mark.parametrize(
    ("transparent", "enabled", "backend", "expected"),
    [
        (None, True, "vertex", True),
        (None, True, "gemini", False),
        (False, True, "vertex", False),
        (False, True, "gemini", False),
        (True, True, "vertex", True),
        (None, False, "vertex", False),
    ],
)
def test_resolve_transparent(
    transparent: bool | None, enabled: bool, backend: Any, expected: bool
) -> None:
    options = SessionResumptionConfig(enabled=enabled, transparent=transparent)
    assert options.resolve_transparent(backend) is expected


@pytest.mark.parametrize(
    ("rate", "expected"),
    [
        (16000, "audio/pcm;rate=16000"),
        (8000, "audio/pcm;rate=8000"),
        (48000, "audio/pcm;rate=48000"),
    ],
)
def test_audio_mime_type(rate: int, expected: str) -> None:
    assert audio_mime_type(rate) == expected


@pytest.mark.parametrize("rate", [7999, 48001, 0, -16000, 16000.0, "16000", True, None])
def test_audio_mime_type_rejects(rate: Any) -> None:
    with pytest.raises(ConfigurationError, match="sample_rate must be an int from 8000 to 48000"):
        audio_mime_type(rate)


def test_config_audio_mime_type_property() -> None:
    config = TranslationConfig.create(target_language="en", input_sample_rate=44100)
    assert config.audio_mime_type == "audio/pcm;rate=44100"


def test_import_stays_light() -> None:
    code = (
        "import sys, s2st.config, s2st.languages; "
        "heavy = [m for m in ('asyncio', 'websockets', 'google.auth', 'google.genai') "
        "if m in sys.modules]; print(heavy)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


@settings(max_examples=150, deadline=None)
@given(
    st.dictionaries(
        st.sampled_from(
            [
                "target_language",
                "model",
                "dialect",
                "voice_name",
                "input_sample_rate",
                "echo_target_language",
                "realtime_input",
                "session_resumption",
                "context_window_compression",
                "bogus",
            ]
        ),
        st.one_of(
            st.none(),
            st.booleans(),
            st.integers(-10, 60000),
            st.text(max_size=12),
            st.sampled_from(["en", "cmn", "s2st", "live_translate", LIVE_TRANSLATE_MODEL]),
            st.dictionaries(
                st.sampled_from(["enabled", "handle", "trigger_tokens"]), st.integers(0, 5)
            ),
        ),
    )
)
def test_create_only_raises_configuration_error(options: dict[str, Any]) -> None:
    try:
        config = TranslationConfig.create(**options)
    except ConfigurationError:
        return
    for backend in ("vertex", "gemini"):
        try:
            resource = model_resource(config.model, backend=backend)
            message = config.build_setup(model_resource=resource, backend=backend)
        except ConfigurationError:
            continue
        assert json.loads(json.dumps(message)) == message


# --------------------------------------------------------------------------------------------
# The target language per dialect (languages.wire_language_code)
# --------------------------------------------------------------------------------------------

# (what the caller gave, table code, tag the live_translate dialect sends)
LANGUAGE_ROWS: list[tuple[str, str, str]] = [
    ("cmn", "cmn", "zh"),
    ("Mandarin", "cmn", "zh"),
    ("zh", "zh", "zh"),
    ("zh-CN", "cmn", "zh-CN"),
    ("zh-Hans", "cmn", "zh-Hans"),
    ("zh-HK", "yue", "yue-HK"),
    ("yue", "yue", "yue"),
    ("es-419", "es", "es-419"),
    ("pt_BR", "pt", "pt-BR"),
    ("EN-us", "en", "en-US"),
    ("German", "de", "de"),
    ("fil", "fil", "fil"),
]


def _wire_code(config: TranslationConfig) -> str:
    setup = config.build_setup(model_resource=f"models/{_model_id(config)}", backend="gemini")
    body = setup["setup"]
    if "generationConfig" in body:
        code: str = body["generationConfig"]["translationConfig"]["targetLanguageCode"]
    else:
        code = body["generation_config"]["speech_config"]["language_code"]
    return code


def _model_id(config: TranslationConfig) -> str:
    return config.model.rsplit("/", 1)[-1]


@pytest.mark.parametrize(
    ("given_", "code", "tag"), LANGUAGE_ROWS, ids=[r[0] for r in LANGUAGE_ROWS]
)
def test_target_language_per_dialect(given_: str, code: str, tag: str) -> None:
    legacy = TranslationConfig.create(target_language=given_)
    live = TranslationConfig.create(target_language=given_, model=LIVE_TRANSLATE_MODEL)
    for config in (legacy, live):
        assert config.target_language == code  # the table code, as before
        assert config.target_language_tag == tag
    assert legacy.wire_language_code == code and _wire_code(legacy) == code
    assert live.wire_language_code == tag and _wire_code(live) == tag


def test_target_language_tag_given_explicitly() -> None:
    config = TranslationConfig.create(
        target_language="es", target_language_tag="es_mx", model=LIVE_TRANSLATE_MODEL
    )
    assert (config.target_language, config.target_language_tag) == ("es", "es-MX")
    assert _wire_code(config) == "es-MX"
    assert _wire_code(config.with_options(dialect="s2st")) == "es"
    mandarin = TranslationConfig.create(target_language="cmn", target_language_tag="zh")
    assert mandarin.target_language_tag == "zh"
    with pytest.raises(ConfigurationError, match="names another language"):
        TranslationConfig.create(target_language="es", target_language_tag="pt-BR")
    with pytest.raises(UnsupportedLanguageError):
        TranslationConfig.create(target_language="es", target_language_tag="klingon")


def test_with_options_derives_the_tag_again() -> None:
    config = TranslationConfig.create(target_language="es-419", model=LIVE_TRANSLATE_MODEL)
    assert config.with_options(echo_target_language=True).target_language_tag == "es-419"
    changed = config.with_options(target_language="pt-BR")
    assert (changed.target_language, changed.target_language_tag) == ("pt", "pt-BR")
    assert config.with_options(dialect="s2st").wire_language_code == "es"


def test_bad_target_language_still_reports_the_language() -> None:
    with pytest.raises(UnsupportedLanguageError) as info:
        TranslationConfig.create(target_language="klingon", model=LIVE_TRANSLATE_MODEL)
    assert info.value.language == "klingon"
    with pytest.raises(UnsupportedLanguageError):
        TranslationConfig.create(target_language="zh-TW", model=LIVE_TRANSLATE_MODEL)
