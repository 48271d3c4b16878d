"""Session configuration: [`TranslationConfig`][s2st.config.TranslationConfig], model names and both setup dialects.

Everything here is pure data and pure functions (pydantic only; no asyncio, websockets or
google-auth), so it is cheap to import and tested with plain tables.

Validation contract
-------------------
Every model in this module is a frozen pydantic v2 model with ``extra="forbid"`` and strict types
(``"16000"`` is not an int, ``1`` is not a bool). **Construct them with the class call or
[`TranslationConfig.create()`][s2st.config.TranslationConfig.create]**: both raise [`ConfigurationError`][s2st.errors.ConfigurationError] (a
``ValueError``) that lists every problem with its dotted path, never a pydantic
``ValidationError``. A bad ``target_language`` raises the more specific
[`UnsupportedLanguageError`][s2st.errors.UnsupportedLanguageError] with suggestions. Nested options may be given as
model instances or as plain dicts. (``model_validate`` is pydantic's raw entry point and is not part
of the contract.)

Setup dialects (PROTOCOL.md §4.1, §8)
-------------------------------------
* ``"s2st"``: the legacy Vertex speech-to-speech translation model
  ([`DEFAULT_MODEL`][s2st.config.DEFAULT_MODEL]). The setup is written in snake_case, exactly like Google's documented
  WebSocket sample: the target language goes in ``generation_config.speech_config.language_code``
  and ``enable_speech_to_speech_translation: true`` sits at the top of ``setup``.
* ``"live_translate"``: the successor model ([`LIVE_TRANSLATE_MODEL`][s2st.config.LIVE_TRANSLATE_MODEL]), written in
  lowerCamelCase as in its docs, with ``generationConfig.translationConfig``.

``dialect="auto"`` picks ``live_translate`` if and only if the model id contains
``"live-translate"``.
"""

from __future__ import annotations

import logging
from typing import Annotated, Any, Literal

from pydantic import Field, field_validator, model_validator

from ._model_names import (
    DEFAULT_MODEL,
    LIVE_TRANSLATE_MODEL,
    MODEL_ALIASES,
    Backend,
    check_backend,
    model_form,
    model_id,
    model_resource,
)
from ._options import (
    ActivityDetection,
    ContextWindowCompressionConfig,
    Options,
    RealtimeInputConfig,
    SessionResumptionConfig,
    check,
)
from ._validate import check_int
from .errors import ConfigurationError, OptionsError
from .languages import Dialect, normalize_language, wire_language_code

__all__ = [
    "DEFAULT_MODEL",
    "LIVE_TRANSLATE_MODEL",
    "MODEL_ALIASES",
    "ActivityDetection",
    "Backend",
    "ContextWindowCompressionConfig",
    "Dialect",
    "OptionsError",
    "RealtimeInputConfig",
    "SessionResumptionConfig",
    "TranslationConfig",
    "audio_mime_type",
    "model_resource",
]

logger = logging.getLogger("s2st.config")

_MIN_RATE_HZ = 8000
_MAX_RATE_HZ = 48000


def audio_mime_type(sample_rate: int) -> str:
    """The MIME type that labels 16-bit mono PCM at ``sample_rate`` Hz (PROTOCOL.md §7).

    Example: ``audio_mime_type(16000) == "audio/pcm;rate=16000"``.

    Raises:
        ConfigurationError: ``sample_rate`` is not an int in 8000..48000.
    """
    check_int("sample_rate", sample_rate, low=_MIN_RATE_HZ, high=_MAX_RATE_HZ, unit="Hz")
    return f"audio/pcm;rate={sample_rate}"


def _camel(key: str) -> str:
    head, *rest = key.split("_")
    return head + "".join(part[:1].upper() + part[1:] for part in rest)


def _camelize(value: Any) -> Any:
    """Rename every dict key from snake_case to lowerCamelCase; values are left alone."""
    if isinstance(value, dict):
        return {_camel(k): _camelize(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_camelize(v) for v in value]
    return value


class TranslationConfig(Options):
    """Everything that shapes one translation session's ``setup`` message.

    Build it with ``TranslationConfig.create(target_language="cmn", **options)`` (or the class
    call); invalid options raise [`ConfigurationError`][s2st.errors.ConfigurationError]. Instances are frozen and
    hashable; [`with_options()`][s2st.config.TranslationConfig.with_options] returns a validated copy.

    Attributes:
        target_language: the language to translate into, normalised with
            [`s2st.languages.normalize_language()`][s2st.languages.normalize_language] (``"zh-CN"`` is stored as ``"cmn"``).
            The ``s2st`` dialect sends this table code.
        target_language_tag: the BCP-47 tag the ``live_translate`` dialect sends, from
            [`s2st.languages.wire_language_code()`][s2st.languages.wire_language_code]. ``None`` (the default) derives it from
            ``target_language`` as given, keeping a valid script or region (``"es-419"`` ->
            ``"es-419"``, ``"pt_BR"`` -> ``"pt-BR"``, ``"cmn"`` -> ``"zh"``); a tag given here is
            canonicalised the same way and must name the same table language.
        model: model id or resource name (see [`model_resource()`][s2st.config.model_resource]); alias spellings are kept.
        dialect: ``"auto"``, ``"s2st"`` or ``"live_translate"``; see [`resolved_dialect`][s2st.config.TranslationConfig.resolved_dialect].
        input_transcription: request source-language transcripts (``inputTranscription``).
        output_transcription: request translated-text transcripts (``outputTranscription``).
        echo_target_language: ``live_translate`` only: repeat speech already in the target language.
        voice_name: a prebuilt voice; ``None`` keeps the default (S2ST clones the speaker's voice).
        realtime_input: VAD and barge-in options, or ``None`` to leave them to the server.
        session_resumption: resumption options (on by default).
        context_window_compression: compression options (on by default).
        input_sample_rate: the rate of the PCM we send, in Hz (8000..48000; PROTOCOL.md §7).
    """

    target_language: str
    target_language_tag: str | None = None
    model: str = DEFAULT_MODEL
    dialect: Literal["auto", "s2st", "live_translate"] = "auto"
    input_transcription: bool = True
    output_transcription: bool = True
    echo_target_language: bool = False
    voice_name: Annotated[str, Field(pattern=r"^[A-Za-z][A-Za-z0-9_-]{0,63}$")] | None = None
    realtime_input: RealtimeInputConfig | None = None
    session_resumption: SessionResumptionConfig = SessionResumptionConfig()
    context_window_compression: ContextWindowCompressionConfig = ContextWindowCompressionConfig()
    input_sample_rate: Annotated[int, Field(ge=_MIN_RATE_HZ, le=_MAX_RATE_HZ)] = 16000

    @model_validator(mode="before")
    @classmethod
    def _derive_language_tag(cls, data: Any) -> Any:
        # Runs before target_language is normalised: the region or script the caller gave
        # ("es-419") is only known here. An invalid target_language is left for its own
        # field validator to report.
        if not isinstance(data, dict):
            return data
        given, tag = data.get("target_language"), data.get("target_language_tag")
        if not isinstance(given, str) or (tag is not None and not isinstance(tag, str)):
            return data
        try:
            code = normalize_language(given)
        except ConfigurationError:
            return data
        if tag is None:
            return {**data, "target_language_tag": wire_language_code(given, "live_translate")}
        canonical = wire_language_code(tag, "live_translate")
        check(
            normalize_language(canonical) == code or (code, canonical) == ("cmn", "zh"),
            f"target_language_tag {tag!r} names another language than target_language "
            f"{given!r} ({code!r}); leave it None to derive it",
        )
        return {**data, "target_language_tag": canonical}

    @field_validator("target_language")
    @classmethod
    def _normalise_language(cls, value: str) -> str:
        return normalize_language(value)

    @field_validator("model")
    @classmethod
    def _valid_model(cls, value: str) -> str:
        model_form(value)
        return value

    @model_validator(mode="after")
    def _echo_needs_live_translate(self) -> TranslationConfig:
        check(
            not (self.echo_target_language and self.resolved_dialect == "s2st"),
            "echo_target_language=True needs the live_translate dialect "
            f"(model {LIVE_TRANSLATE_MODEL!r}); the s2st dialect has no such option",
        )
        return self

    @classmethod
    def create(cls, **options: Any) -> TranslationConfig:
        """Validate ``options`` and return a config. ``target_language`` is required.

        Raises:
            UnsupportedLanguageError: ``target_language`` is unknown or ambiguous.
            ConfigurationError: any other option is missing, unknown or invalid (all listed).
        """
        return cls(**options)

    def with_options(self, **changes: Any) -> TranslationConfig:
        """Return a validated copy with ``changes`` applied (same errors as [`create()`][s2st.config.TranslationConfig.create])."""
        data: dict[str, Any] = {name: getattr(self, name) for name in type(self).model_fields}
        if "target_language" in changes:
            data["target_language_tag"] = None  # derived again from the new language
        data.update(changes)
        return type(self)(**data)

    @property
    def resolved_dialect(self) -> Dialect:
        """The setup dialect: ``dialect`` unless ``"auto"``, in which case ``"live_translate"``
        if and only if the model id contains ``"live-translate"``, else ``"s2st"``."""
        if self.dialect != "auto":
            return self.dialect
        return "live_translate" if "live-translate" in model_id(self.model) else "s2st"

    @property
    def wire_language_code(self) -> str:
        """The target language code [`build_setup()`][s2st.config.TranslationConfig.build_setup] sends for [`resolved_dialect`][s2st.config.TranslationConfig.resolved_dialect]:
        `target_language` (``s2st``) or `target_language_tag` (``live_translate``)."""
        if self.resolved_dialect == "s2st" or self.target_language_tag is None:
            return self.target_language
        return self.target_language_tag

    @property
    def audio_mime_type(self) -> str:
        """The MIME type for the audio we send, e.g. ``"audio/pcm;rate=16000"``."""
        return audio_mime_type(self.input_sample_rate)

    def build_setup(
        self, *, model_resource: str, backend: Backend, resume_handle: str | None = None
    ) -> dict[str, Any]:
        """Return the first client message, ``{"setup": {...}}``, as a JSON-ready dict.

        ``model_resource`` is the resolved name (see [`model_resource()`][s2st.config.model_resource]); its last segment
        must be this config's model id. ``resume_handle`` replaces ``session_resumption.handle``.
        The ``s2st`` dialect is written in snake_case, ``live_translate`` in lowerCamelCase; each
        field appears in exactly one spelling (PROTOCOL.md §3, §4.1).

        Raises:
            ConfigurationError: unknown backend, a model resource for another model,
                ``transparent=True`` on the Gemini API, or a ``resume_handle`` while resumption
                is disabled or empty.
        """
        check_backend(backend)
        model_form(model_resource)
        check(
            model_id(model_resource) == model_id(self.model),
            f"model_resource {model_resource!r} does not name the configured model {self.model!r}",
        )
        setup: dict[str, Any] = {"model": model_resource}
        setup["generation_config"] = self._generation_config()
        if self.input_transcription:
            setup["input_audio_transcription"] = {}
        if self.output_transcription:
            setup["output_audio_transcription"] = {}
        dialect = self.resolved_dialect
        if dialect == "s2st":
            setup["enable_speech_to_speech_translation"] = True
        if self.realtime_input is not None and (wire := self.realtime_input.to_wire()):
            setup["realtime_input_config"] = wire
        resumption = self._resumption(backend, resume_handle)
        if resumption is not None:
            setup["session_resumption"] = resumption
        if self.context_window_compression.enabled:
            setup["context_window_compression"] = self.context_window_compression.to_wire()
        logger.debug(
            "built setup: dialect=%s backend=%s fields=%s", dialect, backend, sorted(setup)
        )
        message = {"setup": setup}
        return _camelize(message) if dialect == "live_translate" else message

    def _generation_config(self) -> dict[str, Any]:
        config: dict[str, Any] = {"response_modalities": ["AUDIO"]}
        speech: dict[str, Any] = {}
        if self.resolved_dialect == "s2st":
            speech["language_code"] = self.target_language
        else:
            config["translation_config"] = {
                "target_language_code": self.wire_language_code,
                "echo_target_language": self.echo_target_language,
            }
        if self.voice_name is not None:
            speech["voice_config"] = {"prebuilt_voice_config": {"voice_name": self.voice_name}}
        if speech:
            config["speech_config"] = speech
        return config

    def _resumption(self, backend: Backend, resume_handle: str | None) -> dict[str, Any] | None:
        options = self.session_resumption
        if resume_handle is not None:
            check(
                isinstance(resume_handle, str) and bool(resume_handle),
                "resume_handle must be a non-empty str or None",
            )
            check(
                options.enabled,
                "cannot resume with a handle while session_resumption.enabled is False",
            )
        transparent = options.resolve_transparent(backend)
        if not options.enabled:
            return None
        out: dict[str, Any] = {}
        handle = resume_handle if resume_handle is not None else options.handle
        if handle is not None:
            out["handle"] = handle
        if transparent:
            out["transparent"] = True
        return out
