"""The options models nested in [`TranslationConfig`][s2st.config.TranslationConfig] and their
base (private; public through [`s2st.config`][s2st.config]): frozen, strict pydantic models that raise
[`ConfigurationError`][s2st.errors.ConfigurationError] listing every problem with its dotted
path, never a pydantic ``ValidationError`` (the contract in [`s2st.config`][s2st.config]).
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from typing import TYPE_CHECKING, Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from ._model_names import Backend, check_backend
from .errors import ConfigurationError, OptionsError, UnsupportedLanguageError

__all__ = [
    "ActivityDetection",
    "ContextWindowCompressionConfig",
    "Options",
    "RealtimeInputConfig",
    "SessionResumptionConfig",
    "check",
]


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


class Options(BaseModel):
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


def check(condition: bool, message: str) -> None:
    if not condition:
        raise ConfigurationError(message)


_VAD_TUNING = (
    "start_of_speech_sensitivity",
    "end_of_speech_sensitivity",
    "prefix_padding_ms",
    "silence_duration_ms",
)
_Ms = Annotated[int, Field(ge=0)]
_Tokens = Annotated[int, Field(gt=0)]


class ActivityDetection(Options):
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
        check(
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


class RealtimeInputConfig(Options):
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


class SessionResumptionConfig(Options):
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
        check(
            self.enabled or (self.handle is None and not self.transparent),
            "handle and transparent need enabled=True; remove them or enable session resumption",
        )
        return self

    def resolve_transparent(self, backend: Backend) -> bool:
        """Whether transparent resumption is requested on ``backend``.

        Raises:
            ConfigurationError: ``transparent=True`` on the Gemini API, or an unknown backend.
        """
        check_backend(backend)
        if not self.enabled:
            return False
        if self.transparent is None:
            return backend == "vertex"
        check(
            not (self.transparent and backend == "gemini"),
            "session_resumption.transparent=True is Vertex AI only; the Gemini API rejects it. "
            "Use transparent=None or False with backend 'gemini'",
        )
        return self.transparent


class ContextWindowCompressionConfig(Options):
    """``setup.contextWindowCompression`` with a sliding window. Without it an audio-only session
    ends after about 15 minutes (PROTOCOL.md §6.3). ``None`` token counts use the server defaults
    (trigger at 80 % of the window, target half of that)."""

    enabled: bool = True
    trigger_tokens: _Tokens | None = None
    target_tokens: _Tokens | None = None

    @model_validator(mode="after")
    def _check_tokens(self) -> ContextWindowCompressionConfig:
        check(
            self.enabled or (self.trigger_tokens is None and self.target_tokens is None),
            "trigger_tokens and target_tokens need enabled=True; remove them or enable compression",
        )
        if self.trigger_tokens is not None and self.target_tokens is not None:
            check(
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
