"""Sans-I/O wire helpers of the emulator: paths, setup validation and the close reasons.

Nothing here touches sockets or asyncio; the server module feeds strings and dicts in and
writes out what these functions return. The rules follow PROTOCOL.md §1-§6. Frame parsing,
key casing and blobs are in `s2st.emulator.frames` (re-exported here).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Literal
from urllib.parse import parse_qs

from .frames import (
    CLOSE_INVALID,
    WireRejection,
    decode_b64,
    encode_frame,
    get_key,
    get_obj,
    parse_audio_mime,
    parse_client_frame,
    truncate_reason,
)

__all__ = [
    "CLOSE_DEADLINE",
    "CLOSE_INVALID",
    "CLOSE_OVERSTAY",
    "CLOSE_QUOTA",
    "GENERATION_CONFIG_FIELDS",
    "SETUP_FIELDS",
    "Backend",
    "EndpointInfo",
    "SetupInfo",
    "WireRejection",
    "decode_b64",
    "encode_frame",
    "get_key",
    "get_obj",
    "match_path",
    "parse_audio_mime",
    "parse_client_frame",
    "truncate_reason",
    "unknown_field_reason",
    "unsupported_model_reason",
    "validate_setup",
]

Backend = Literal["vertex", "gemini"]

CLOSE_DEADLINE = "Deadline expired before operation could complete."


#: 1008 for a client still connected at the session-duration cap after a ``goAway``
#: (EVIDENCE.md row 18): the service's sentence, cut at 123 bytes as it arrives ("...durat").
CLOSE_OVERSTAY = truncate_reason(
    "Connection aborted because the client failed to close the connection after receiving a "
    "GoAway signal once the session duration limit was reached."
)
#: 1011 when the project's quota is exhausted (EVIDENCE.md row 19), cut at 123 bytes.
CLOSE_QUOTA = truncate_reason(
    "You exceeded your current quota, please check your plan and billing details. For more "
    "information on this error, head to: https://ai.google.dev/gemini-api/docs/rate-limits."
)

# The fields of BidiGenerateContentSetup and of GenerationConfig (snake_case proto names), from
# python-genai 3.6 `_live_converters.py` / `types.py` (LiveClientSetup, GenerationConfig) and
# the Live API reference; both spellings are accepted (proto3 JSON). Anything else closes 1007.
SETUP_FIELDS: frozenset[str] = frozenset(
    {
        "model",
        "generation_config",
        "system_instruction",
        "tools",
        "realtime_input_config",
        "session_resumption",
        "context_window_compression",
        "input_audio_transcription",
        "output_audio_transcription",
        "proactivity",
        "explicit_vad_signal",
        "history_config",
        "avatar_config",
        "safety_settings",
        "labels",
        # The legacy S2ST dialect's documented switch (PROTOCOL.md §4.1, §8).
        "enable_speech_to_speech_translation",
    }
)
GENERATION_CONFIG_FIELDS: frozenset[str] = frozenset(
    {
        "candidate_count",
        "max_output_tokens",
        "temperature",
        "top_p",
        "top_k",
        "presence_penalty",
        "frequency_penalty",
        "response_modalities",
        "speech_config",
        "media_resolution",
        "seed",
        "stop_sequences",
        "response_mime_type",
        "response_schema",
        "response_json_schema",
        "response_logprobs",
        "logprobs",
        "thinking_config",
        "enable_affective_dialog",
        "translation_config",
        "audio_timestamp",
        "routing_config",
        "model_config",
        "model_selection_config",
        "enable_enhanced_civic_answers",
        "response_format",
        "audio_transcription_config",
    }
)


def unknown_field_reason(name: str, path: str) -> str:
    """The 1007 reason for an unknown field ``name`` (as the client spelled it) at ``path``
    (``"setup"`` or ``"setup.generation_config"``), EVIDENCE.md rows 1-2, cut at 123 bytes."""
    return truncate_reason(
        f"Invalid JSON payload received. Unknown name \"{name}\" at '{path}': Cannot find field."
    )


def unsupported_model_reason(model_id: str) -> str:
    """The 1007 reason for a model the Live API does not serve (EVIDENCE.md row 20): the bare
    model id, as in ``gemini-2.0-flash-exp is not supported in the live api.``"""
    return truncate_reason(f"{model_id} is not supported in the live api.")


def _snake(key: str) -> str:
    return re.sub(r"(?<!^)([A-Z])", r"_\1", key).lower()


def _check_fields(obj: Mapping[str, Any], known: frozenset[str], path: str) -> None:
    for key in obj:
        if not isinstance(key, str) or _snake(key) not in known:
            raise WireRejection(1007, unknown_field_reason(str(key), path))


_VERTEX_PATH = re.compile(
    r"^/+ws/google\.cloud\.aiplatform\.(v1|v1beta1)\.LlmBidiService/BidiGenerateContent$"
)
_GEMINI_PATH = re.compile(
    r"^/+ws/google\.ai\.generativelanguage\.(v1|v1beta|v1alpha)\.GenerativeService\."
    r"(BidiGenerateContent|BidiGenerateContentConstrained)$"
)
_VERTEX_MODEL = re.compile(
    r"^(?:projects/([^/]+)/locations/([^/]+)/)?publishers/google/models/([A-Za-z0-9._-]+)$"
)
_GEMINI_MODEL = re.compile(r"^models/([A-Za-z0-9._-]+)$")


@dataclass(frozen=True)
class EndpointInfo:
    """What the upgrade request addressed: backend, API version and RPC method."""

    backend: Backend
    version: str
    method: str
    path: str


@dataclass(frozen=True)
class SetupInfo:
    """The parts of a validated ``setup`` the emulator acts on."""

    model_id: str
    model: str
    target_language: str | None
    dialect: Literal["legacy", "translation_config", "none"]
    resumption: bool
    transparent: bool
    resume_handle: str | None
    manual_activity: bool
    input_transcription: bool
    output_transcription: bool


def match_path(raw_path: str) -> tuple[EndpointInfo | None, dict[str, list[str]]]:
    """Map an upgrade request path (with query) to an endpoint; ``None`` means HTTP 404."""
    # Not urlsplit: "//ws/..." (python-genai's double slash) would parse as a netloc.
    path, _, query_text = raw_path.partition("?")
    query = parse_qs(query_text)
    m = _VERTEX_PATH.match(path)
    if m:
        return EndpointInfo("vertex", m.group(1), "BidiGenerateContent", path), query
    m = _GEMINI_PATH.match(path)
    if m:
        return EndpointInfo("gemini", m.group(1), m.group(2), path), query
    return None, query


def _check_model(
    model: Any,
    endpoint: EndpointInfo,
    allowed_models: Iterable[str],
    unsupported_models: Iterable[str] = (),
) -> tuple[str, str]:
    if not isinstance(model, str) or not model:
        raise WireRejection(1007, f"{CLOSE_INVALID} setup.model is required.")
    if endpoint.backend == "vertex":
        m = _VERTEX_MODEL.match(model)
        form, model_id = "projects/P/locations/L/publishers/google/models/M", m and m.group(3)
        not_found = (
            f"Publisher Model `{model}` was not found or your project does not have access to it."
        )
    else:
        m = _GEMINI_MODEL.match(model)
        form, model_id = "models/M", m and m.group(1)
        not_found = (
            f"models/{model_id} is not found for API version {endpoint.version}, or is not "
            "supported for bidiGenerateContent. Call ListModels to see the list of available "
            "models and their supported methods."
        )
    if not model_id:
        raise WireRejection(1007, f"{CLOSE_INVALID} Model must be {form}.")
    if model_id in set(unsupported_models):
        raise WireRejection(1007, unsupported_model_reason(model_id))
    if model_id not in set(allowed_models):
        raise WireRejection(1008, truncate_reason(not_found))
    return model_id, model


def _language_ok(code: str) -> bool:
    # Lazy import: the language table lives in s2st.languages (shared with the client).
    from s2st import languages

    if languages.is_supported(code):
        return True
    try:
        normalized = languages.normalize_language(code)
    except ValueError:
        return False
    return languages.is_supported(normalized)


def _target_language(
    setup: Mapping[str, Any], gen: Mapping[str, Any], require_s2st_flag: bool
) -> tuple[str | None, Literal["legacy", "translation_config", "none"]]:
    flag = get_key(setup, "enableSpeechToSpeechTranslation")
    translation = get_obj(gen, "translationConfig")
    speech = get_obj(gen, "speechConfig") or {}
    if flag is not None and not isinstance(flag, bool):
        raise WireRejection(
            1007, f"{CLOSE_INVALID} enable_speech_to_speech_translation must be a bool."
        )
    if translation is not None:
        code = get_key(translation, "targetLanguageCode")
        dialect: Literal["legacy", "translation_config", "none"] = "translation_config"
    elif flag:
        code = get_key(speech, "languageCode")
        dialect = "legacy"
    else:
        if require_s2st_flag:
            raise WireRejection(
                1007,
                f"{CLOSE_INVALID} Set enable_speech_to_speech_translation or "
                "generationConfig.translationConfig.",
            )
        return None, "none"
    if not isinstance(code, str) or not code:
        raise WireRejection(1007, f"{CLOSE_INVALID} The target language code is required.")
    if not _language_ok(code):
        raise WireRejection(1007, f"{CLOSE_INVALID} Unsupported target language {code[:16]!r}.")
    return code, dialect


def validate_setup(
    setup: Any,
    endpoint: EndpointInfo,
    *,
    allowed_models: Iterable[str],
    require_s2st_flag: bool,
    unsupported_models: Iterable[str] = (),
    strict: bool = True,
) -> SetupInfo:
    """Check a ``setup`` object as the service does; raise `WireRejection` if refused.

    Order: unknown or misplaced fields at ``setup`` and in ``generationConfig`` (1007 "Invalid
    JSON payload received. Unknown name ...", only when ``strict``), model form (1007), a model
    the Live API does not serve (1007), model access (1008), modalities (1007), S2ST switch and
    target language (1007), resumption (``transparent`` is Vertex-only: 1007 on the Gemini API).
    """
    if not isinstance(setup, dict):
        raise WireRejection(1007, f"{CLOSE_INVALID} setup must be an object.")
    if strict:
        _check_fields(setup, SETUP_FIELDS, "setup")
    gen = get_obj(setup, "generationConfig") or {}
    if strict:
        _check_fields(gen, GENERATION_CONFIG_FIELDS, "setup.generation_config")
    model_id, model = _check_model(setup.get("model"), endpoint, allowed_models, unsupported_models)
    modalities = get_key(gen, "responseModalities")
    if modalities is not None and modalities != ["AUDIO"]:
        raise WireRejection(1007, f'{CLOSE_INVALID} responseModalities must be ["AUDIO"].')
    target, dialect = _target_language(setup, gen, require_s2st_flag)
    resumption = get_obj(setup, "sessionResumption")
    transparent = bool(resumption and get_key(resumption, "transparent"))
    if transparent and endpoint.backend == "gemini":
        raise WireRejection(
            1007, f"{CLOSE_INVALID} transparent is not supported on the Gemini API."
        )
    handle = get_key(resumption, "handle") if resumption else None
    if handle is not None and (not isinstance(handle, str) or not handle):
        raise WireRejection(1007, f"{CLOSE_INVALID} sessionResumption.handle must be a string.")
    ric = get_obj(setup, "realtimeInputConfig") or {}
    aad = get_obj(ric, "automaticActivityDetection") or {}
    return SetupInfo(
        model_id=model_id,
        model=model,
        target_language=target,
        dialect=dialect,
        resumption=resumption is not None,
        transparent=transparent,
        resume_handle=handle or None,
        manual_activity=bool(get_key(aad, "disabled", False)),
        input_transcription=get_obj(setup, "inputAudioTranscription") is not None,
        output_transcription=get_obj(setup, "outputAudioTranscription") is not None,
    )
