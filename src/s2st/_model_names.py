"""Model names and ``setup.model`` resource names (private; public through
[`s2st.config`][s2st.config]): the known models, the name forms each backend accepts
(PROTOCOL.md §1.2) and [`model_resource()`][s2st.config.model_resource]. Pure: ``re`` only.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from types import MappingProxyType
from typing import Literal

from .errors import ConfigurationError

__all__ = [
    "DEFAULT_MODEL",
    "LIVE_TRANSLATE_MODEL",
    "MODEL_ALIASES",
    "Backend",
    "check_backend",
    "model_form",
    "model_id",
    "model_resource",
]

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


def model_form(model: str) -> str:
    """Classify a model name, or raise [`ConfigurationError`][s2st.errors.ConfigurationError]."""
    if not isinstance(model, str) or not model:
        raise ConfigurationError(f"the model must be a non-empty str; {_MODEL_FORMS_HELP}")
    for form, pattern in _FORMS:
        if pattern.fullmatch(model):
            return form
    raise ConfigurationError(f"invalid model name {model[:120]!r}; {_MODEL_FORMS_HELP}")


def model_id(model: str) -> str:
    return model.rsplit("/", 1)[-1]


def check_backend(backend: object) -> None:
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
    check_backend(backend)
    form = model_form(model)
    if backend == "gemini":
        if project is not None or location is not None:
            raise ConfigurationError(
                "project and location apply to Vertex AI only; omit them for backend 'gemini'"
            )
        return _gemini_resource(model, form)
    return _vertex_resource(model, form, project, location)


def _gemini_resource(model: str, form: str) -> str:
    if form == "gemini":
        return model
    if form == "id":
        return f"models/{model}"
    raise ConfigurationError(
        f"{model!r} is a Vertex AI model name; for backend 'gemini' pass the bare model id "
        "or 'models/ID'"
    )


def _vertex_resource(model: str, form: str, project: str | None, location: str | None) -> str:
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
        publisher, bare_id = model.split("/", 1)
        resource = f"publishers/{publisher}/models/{bare_id}"
    else:
        resource = model
    if project is not None and location is not None:
        project = _check_segment("project", project)
        location = _check_segment("location", location)
        return f"projects/{project}/locations/{location}/{resource}"
    return resource
