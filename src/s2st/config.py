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

import difflib
import logging
import re
from collections.abc import Mapping
from types import MappingProxyType
from typing import TYPE_CHECKING, Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from .errors import ConfigurationError, OptionsError, UnsupportedLanguageError
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

#: The legacy speech-to-speech translation model (Vertex AI, private experimental).
DEFAULT_MODEL = "gemini-2.5-flash-s2st-11-2025-exp"

#: Other spellings of known models -> the spelling used in this library. Google's docs use both
#: S2ST spellings and it is unknown which the server accepts (PROTOCOL.md §1.2), so an alias is
#: *recognised* (it selects the ``s2st`` dialect like the canonical name) but is sent as given.
MODEL_ALIASES: Mapping[str, str] = MappingProxyType(
    {"gemini-2.5-flash-s2st-exp-11-2025": DEFAULT_MODEL}
)

#: The successor model that uses the ``live_translate`` setup dialect (PROTOCOL.md §8.3).
LIVE_TRANSLATE_MODEL = "gemini-3.5-live-translate-preview"

Backend = Literal["vertex", "gemini"]

_BACKENDS: tuple[str, ...] = ("vertex", "gemini")
_MIN_RATE_HZ = 8000
_MAX_RATE_HZ = 48000

# Model name forms (PROTOCOL.md §1.2). A segment is a resource id; a model id may also hold '@'.
_SEG = r"[A-Za-z0-9][A-Za-z0-9._-]*"
_ID = r"[A-Za-z0-9][A-Za-z0-9._@-]*"
_FORMS: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("vertex_full", re.compile(rf"projects/{_SEG}/locations/{_SEG}/(?:publishers/{_SEG}/)?models/{_ID}")),
    ("publisher", re.compile(rf"publishers/{_SEG}/models/{_ID}")),
    ("gemini", re.compile(rf"(?:models|tunedModels)/{_ID}")),
    ("short", re.compile(rf"(?!(?:projects|publishers|models|tunedModels|locations)/){_SEG}/{_ID}")),
    ("id", re.compile(_ID)),
)  # fmt: skip
_MODEL_FORMS_HELP = (
    "use a model id such as 'gemini-2.5-flash-s2st-11-2025-exp', a 'publisher/id' short form, "
    "'publishers/P/models/ID', 'projects/P/locations/L/publishers/P/models/ID' (Vertex) or "
    "'models/ID' / 'tunedModels/ID' (Gemini API)"
)


def _model_form(model: str) -> str:
    """Classify a model name, or raise [`ConfigurationError`][s2st.errors.ConfigurationError]."""
    if not isinstance(model, str) or not model:
        raise ConfigurationError(f"the model must be a non-empty str; {_MODEL_FORMS_HELP}")
    for form, pattern in _FORMS:
        if pattern.fullmatch(model):
            return form
    raise ConfigurationError(f"invalid model name {model[:120]!r}; {_MODEL_FORMS_HELP}")


def _model_id(model: str) -> str:
    return model.rsplit("/", 1)[-1]


def _check_backend(backend: object) -> None:
    if backend not in _BACKENDS:
        raise ConfigurationError(f"backend must be 'vertex' or 'gemini', not {backend!r}")


def _check_segment(name: str, value: object) -> str:
    if not isinstance(value, str) or not re.fullmatch(_SEG, value):
        raise ConfigurationError(
            f"{name} must be a non-empty resource id without '/' or spaces, not {value!r}"
        )
    return value


def model_resource(
    model: str, *, backend: Backend, project: str | None = None, location: str | None = None
) -> str:
    """Return the ``setup.model`` resource name for ``model`` on ``backend`` (PROTOCOL.md §1.2).

    Vertex: a bare id becomes ``publishers/google/models/{id}`` and a ``publisher/id`` short form
    ``publishers/{publisher}/models/{id}``; with both ``project`` and ``location`` that is
    prefixed with ``projects/{project}/locations/{location}/`` (without them: express mode).
    A full ``projects/...`` name passes through unchanged.

    Gemini API: a bare id becomes ``models/{id}``; ``models/...`` and ``tunedModels/...`` pass
    through. ``project`` and ``location`` must be ``None``.

    Raises:
        ConfigurationError: unknown backend, malformed name, only one of ``project`` and
            ``location``, or a name of the other backend's form.
    """
    _check_backend(backend)
    form = _model_form(model)
    if backend == "gemini":
        if project is not None or location is not None:
            raise ConfigurationError(
                "project and location apply to Vertex AI only; omit them for backend 'gemini'"
            )
        if form == "gemini":
            return model
        if form == "id":
            return f"models/{model}"
        raise ConfigurationError(
            f"{model!r} is a Vertex AI model name; for backend 'gemini' pass the bare model id "
            "or 'models/ID'"
        )
    if form == "gemini":
        raise ConfigurationError(
            f"{model!r} is a Gemini API model name; for backend 'vertex' pass the bare model id"
        )
    if (project is None) != (location is None):
        raise ConfigurationError(
            "give both project and location (regional Vertex AI) or neither (express mode)"
        )
    if form == "vertex_full":
        return model
    if form == "id":
        resource = f"publishers/google/models/{model}"
    elif form == "short":
        publisher, model_id = model.split("/", 1)
        resource = f"publishers/{publisher}/models/{model_id}"
    else:
        resource = model
    if project is not None and location is not None:
        project = _check_segment("project", project)
        location = _check_segment("location", location)
        return f"projects/{project}/locations/{location}/{resource}"
    return resource


def audio_mime_type(sample_rate: int) -> str:
    """The MIME type that labels 16-bit mono PCM at ``sample_rate`` Hz (PROTOCOL.md §7).

    Example: ``audio_mime_type(16000) == "audio/pcm;rate=16000"``.

    Raises:
        ConfigurationError: ``sample_rate`` is not an int in 8000..48000.
    """
    if (
        not isinstance(sample_rate, int)
        or isinstance(sample_rate, bool)
        or not _MIN_RATE_HZ <= sample_rate <= _MAX_RATE_HZ
    ):
        raise ConfigurationError(
            f"sample_rate must be an int from {_MIN_RATE_HZ} to {_MAX_RATE_HZ} Hz, "
            f"not {sample_rate!r}"
        )
    return f"audio/pcm;rate={sample_rate}"


# ---------------------------------------------------------------------------------------------
# Validation errors -> ConfigurationError


def _describe(err: Mapping[str, Any], fields: list[str]) -> list[tuple[str, str]]:
    """Turn one pydantic error into ``(path, message)`` pairs."""
    path = ".".join(str(p) for p in err["loc"])
    cause = err.get("ctx", {}).get("error")
    if isinstance(cause, OptionsError):
        return [(".".join(p for p in (path, sub) if p), msg) for sub, msg in cause.problems]
    if isinstance(cause, BaseException):
        return [(path, str(cause))]
    kind = err["type"]
    if kind == "extra_forbidden":
        name = str(err["loc"][-1])
        close = difflib.get_close_matches(name, fields, n=1)
        hint = f"; did you mean {close[0]!r}?" if close else f"; known options: {', '.join(fields)}"
        return [(path, f"unknown option{hint}")]
    if kind == "missing":
        return [(path, "required option is missing")]
    msg = str(err["msg"]).replace("Input should be", "must be")
    shown = repr(err.get("input"))
    return [(path, f"{msg} (got {shown[:60]}{'…' if len(shown) > 60 else ''})")]


class _Options(BaseModel):
    """Base of every options model: frozen, strict, no unknown keys, ConfigurationError on misuse."""

    model_config = ConfigDict(frozen=True, extra="forbid", strict=True)

    if not TYPE_CHECKING:
        # Hidden from type checkers so they keep pydantic's typed, synthesized __init__.
        def __init__(self, **data: Any) -> None:
            try:
                super().__init__(**data)
            except ValidationError as exc:
                raise self._translate(exc) from exc

        def __setattr__(self, name: str, value: Any) -> None:
            # pydantic would raise a ValidationError here; frozen dataclasses raise AttributeError.
            raise AttributeError(
                f"{type(self).__name__} is frozen; build a changed copy instead "
                "(TranslationConfig.with_options(...) or a new instance)"
            )

        def __delattr__(self, name: str) -> None:
            raise AttributeError(f"{type(self).__name__} is frozen")

    @classmethod
    def _translate(cls, exc: ValidationError) -> ConfigurationError:
        errors = exc.errors(include_url=False)
        for err in errors:
            cause = err.get("ctx", {}).get("error")
            if isinstance(cause, UnsupportedLanguageError):
                return cause  # keep .language and .suggestions for the caller
        fields = list(cls.model_fields)
        problems = [pair for err in errors for pair in _describe(err, fields)]
        return OptionsError(cls.__name__, problems)


def _check(condition: bool, message: str) -> None:
    if not condition:
        raise ConfigurationError(message)


# ---------------------------------------------------------------------------------------------
# Option models

_VAD_TUNING = (
    "start_of_speech_sensitivity",
    "end_of_speech_sensitivity",
    "prefix_padding_ms",
    "silence_duration_ms",
)
_Ms = Annotated[int, Field(ge=0)]
_Tokens = Annotated[int, Field(gt=0)]


class ActivityDetection(_Options):
    """Server-side voice activity detection (``realtimeInputConfig.automaticActivityDetection``).

    ``None`` fields are left to the server (defaults differ by backend, PROTOCOL.md §4.1). With
    ``disabled=True`` the client must send ``activityStart``/``activityEnd`` itself, and the
    tuning fields must stay ``None``.
    """

    disabled: bool = False
    start_of_speech_sensitivity: (
        Literal["START_SENSITIVITY_HIGH", "START_SENSITIVITY_LOW"] | None
    ) = None
    end_of_speech_sensitivity: Literal["END_SENSITIVITY_HIGH", "END_SENSITIVITY_LOW"] | None = None
    prefix_padding_ms: _Ms | None = None
    silence_duration_ms: _Ms | None = None

    @model_validator(mode="after")
    def _tuning_needs_detection(self) -> ActivityDetection:
        tuned = [name for name in _VAD_TUNING if getattr(self, name) is not None]
        _check(
            not (self.disabled and tuned),
            f"disabled=True ignores {', '.join(tuned)}; remove them or set disabled=False",
        )
        return self

    def to_wire(self) -> dict[str, Any]:
        """The snake_case wire object; ``disabled`` is sent only when true."""
        out: dict[str, Any] = {"disabled": True} if self.disabled else {}
        for name in _VAD_TUNING:
            value = getattr(self, name)
            if value is not None:
                out[name] = value
        return out


class RealtimeInputConfig(_Options):
    """``setup.realtimeInputConfig``: VAD, barge-in and turn coverage. ``None`` leaves a field to
    the server; a config with every field ``None`` is not sent at all. Whether the S2ST model
    honours these is unknown (PROTOCOL.md §8.2)."""

    automatic_activity_detection: ActivityDetection | None = None
    activity_handling: Literal["START_OF_ACTIVITY_INTERRUPTS", "NO_INTERRUPTION"] | None = None
    turn_coverage: (
        Literal[
            "TURN_INCLUDES_ONLY_ACTIVITY",
            "TURN_INCLUDES_ALL_INPUT",
            "TURN_INCLUDES_AUDIO_ACTIVITY_AND_ALL_VIDEO",
        ]
        | None
    ) = None

    def to_wire(self) -> dict[str, Any]:
        """The snake_case wire object (empty when nothing is configured)."""
        out: dict[str, Any] = {}
        if self.automatic_activity_detection is not None:
            out["automatic_activity_detection"] = self.automatic_activity_detection.to_wire()
        if self.activity_handling is not None:
            out["activity_handling"] = self.activity_handling
        if self.turn_coverage is not None:
            out["turn_coverage"] = self.turn_coverage
        return out


class SessionResumptionConfig(_Options):
    """``setup.sessionResumption`` (PROTOCOL.md §4.1, §5.5, §6.4).

    ``enabled`` sends the object so the server issues resumption handles. ``handle`` resumes an
    earlier session. ``transparent`` asks for ``lastConsumedClientMessageIndex`` so unacknowledged
    messages can be replayed; ``None`` means automatic: on for Vertex AI, omitted on the Gemini API,
    which rejects it (so ``transparent=True`` with backend ``"gemini"`` fails at setup build).
    """

    enabled: bool = True
    handle: Annotated[str, Field(min_length=1)] | None = None
    transparent: bool | None = None

    @model_validator(mode="after")
    def _disabled_means_unused(self) -> SessionResumptionConfig:
        _check(
            self.enabled or (self.handle is None and not self.transparent),
            "handle and transparent need enabled=True; remove them or enable session resumption",
        )
        return self

    def resolve_transparent(self, backend: Backend) -> bool:
        """Whether transparent resumption is requested on ``backend``.

        Raises:
            ConfigurationError: ``transparent=True`` on the Gemini API, or an unknown backend.
        """
        _check_backend(backend)
        if not self.enabled:
            return False
        if self.transparent is None:
            return backend == "vertex"
        _check(
            not (self.transparent and backend == "gemini"),
            "session_resumption.transparent=True is Vertex AI only; the Gemini API rejects it. "
            "Use transparent=None or False with backend 'gemini'",
        )
        return self.transparent


class ContextWindowCompressionConfig(_Options):
    """``setup.contextWindowCompression`` with a sliding window. Without it an audio-only session
    ends after about 15 minutes (PROTOCOL.md §6.3). ``None`` token counts use the server defaults
    (trigger at 80 % of the window, target half of that)."""

    enabled: bool = True
    trigger_tokens: _Tokens | None = None
    target_tokens: _Tokens | None = None

    @model_validator(mode="after")
    def _check_tokens(self) -> ContextWindowCompressionConfig:
        _check(
            self.enabled or (self.trigger_tokens is None and self.target_tokens is None),
            "trigger_tokens and target_tokens need enabled=True; remove them or enable compression",
        )
        if self.trigger_tokens is not None and self.target_tokens is not None:
            _check(
                self.target_tokens < self.trigger_tokens,
                f"target_tokens ({self.target_tokens}) must be below trigger_tokens "
                f"({self.trigger_tokens})",
            )
        return self

    def to_wire(self) -> dict[str, Any]:
        """The snake_case wire object; int64 counts are sent as JSON numbers (PROTOCOL.md §3)."""
        window: dict[str, Any] = {}
        if self.target_tokens is not None:
            window["target_tokens"] = self.target_tokens
        out: dict[str, Any] = {"sliding_window": window}
        if self.trigger_tokens is not None:
            out["trigger_tokens"] = self.trigger_tokens
        return out


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


class TranslationConfig(_Options):
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
        _check(
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
        _model_form(value)
        return value

    @model_validator(mode="after")
    def _echo_needs_live_translate(self) -> TranslationConfig:
        _check(
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
        return "live_translate" if "live-translate" in _model_id(self.model) else "s2st"

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
        _check_backend(backend)
        _model_form(model_resource)
        _check(
            _model_id(model_resource) == _model_id(self.model),
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
            _check(
                isinstance(resume_handle, str) and bool(resume_handle),
                "resume_handle must be a non-empty str or None",
            )
            _check(
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
