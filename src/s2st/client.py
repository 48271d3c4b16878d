"""``S2STClient``: the backend, the endpoint and the credentials, shared by its sessions."""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any, Literal

from typing_extensions import TypedDict, Unpack

from ._io.options import SESSION_OPTION_NAMES
from ._io.target import ConnectionTarget
from ._io.transport import TransportOptions
from .auth import ApiKey, CredentialsProvider, EphemeralToken, GoogleCredentials, StaticToken
from .config import (
    Backend,
    ContextWindowCompressionConfig,
    RealtimeInputConfig,
    SessionResumptionConfig,
    TranslationConfig,
)
from .endpoints import (
    DEFAULT_GEMINI_API_VERSION,
    DEFAULT_VERTEX_API_VERSION,
    gemini_url,
    vertex_url,
)
from .errors import ConfigurationError
from .reconnect import ReconnectPolicy
from .session import S2STSession

__all__ = ["ConnectOptions", "ConnectionTarget", "S2STClient"]

DEFAULT_LOCATION = "us-central1"
_TRUE = {"1", "true", "yes", "on"}


class ConnectOptions(TypedDict, total=False):
    """The keyword options of [S2STClient.connect][s2st.client.S2STClient.connect], all optional.

    A type checker uses this to reject a misspelt or mistyped option
    (``connect("es", input_transcripton=True)`` fails ``mypy --strict``); at run time the
    same mistakes raise [OptionsError][s2st.OptionsError] with a "did you mean" hint.

    The first group are [TranslationConfig][s2st.TranslationConfig] fields (what the
    setup message asks for); nested options also accept plain mappings. The second group
    configures the [S2STSession][s2st.S2STSession].

    Attributes:
        target_language_tag: the BCP-47 tag the ``live_translate`` dialect sends.
        model: model id or resource name.
        dialect: ``"auto"``, ``"s2st"`` or ``"live_translate"``.
        input_transcription: request source-language transcripts.
        output_transcription: request translated-text transcripts.
        echo_target_language: ``live_translate`` only: repeat speech already in the target.
        voice_name: a prebuilt voice (``None``: the speaker's cloned voice).
        realtime_input: VAD and barge-in options.
        session_resumption: resumption options (on by default).
        context_window_compression: compression options (on by default).
        input_sample_rate: the rate of the PCM sent, in Hz.
        setup_timeout_s: how long to wait for ``setupComplete``.
        reconnect: a [ReconnectPolicy][s2st.ReconnectPolicy], ``True`` (the default policy)
            or ``False`` (never reconnect).
        max_pending_events: events buffered before the reader applies back-pressure.
        max_replay_bytes: unconfirmed audio kept for a replay (``None``: unbounded).
        transport: socket options (timeouts, keepalive, sizes).
        trailing_silence_ms: silence sent after the input ends.
        silence_warning_s: speech sent with only silence back before one
            [SilentOutputWarning][s2st.SilentOutputWarning] (``None`` disables it).
    """

    target_language_tag: str | None
    model: str
    dialect: Literal["auto", "s2st", "live_translate"]
    input_transcription: bool
    output_transcription: bool
    echo_target_language: bool
    voice_name: str | None
    realtime_input: RealtimeInputConfig | Mapping[str, Any] | None
    session_resumption: SessionResumptionConfig | Mapping[str, Any]
    context_window_compression: ContextWindowCompressionConfig | Mapping[str, Any]
    input_sample_rate: int
    setup_timeout_s: float
    reconnect: ReconnectPolicy | bool | None
    max_pending_events: int
    max_replay_bytes: int | None
    transport: TransportOptions
    trailing_silence_ms: int
    silence_warning_s: float | None


def _credentials_for(
    backend: Backend,
    api_key: str | None,
    access_token: str | None,
    credentials: Any,
    quota_project: str | None,
    api_version: str | None,
) -> tuple[CredentialsProvider, bool, str]:
    """(credentials provider, ephemeral token?, API version) for ``backend``."""
    if backend == "vertex":
        if access_token is not None:
            return StaticToken(access_token), False, api_version or DEFAULT_VERTEX_API_VERSION
        provider = GoogleCredentials(credentials, quota_project=quota_project)
        return provider, False, api_version or DEFAULT_VERTEX_API_VERSION
    if credentials is not None or access_token is not None:
        raise ConfigurationError(
            "the Gemini API takes api_key=...; credentials/access_token are for Vertex AI"
        )
    if api_key is None:
        raise ConfigurationError(
            "the Gemini API needs an API key: pass api_key=... or set GOOGLE_API_KEY"
        )
    if api_key.startswith("auth_tokens/"):
        return EphemeralToken(api_key), True, api_version or "v1alpha"
    return ApiKey(api_key), False, api_version or DEFAULT_GEMINI_API_VERSION


def _default_backend(
    api_key: str | None, access_token: str | None, credentials: Any, project: str | None
) -> Literal["vertex", "gemini"]:
    """The backend when none is given: ``GOOGLE_GENAI_USE_VERTEXAI`` as google-genai reads
    it, else Vertex AI for Google credentials or a project, the Gemini API for an API key."""
    use_vertex = os.environ.get("GOOGLE_GENAI_USE_VERTEXAI", "").strip().lower()
    if use_vertex:
        return "vertex" if use_vertex in _TRUE else "gemini"
    if access_token or credentials is not None or project:
        return "vertex"
    return "gemini" if api_key else "vertex"


class S2STClient:
    """Holds the backend, endpoint and credentials; opens sessions with [`connect()`][s2st.client.S2STClient.connect].

    Vertex AI (default)::

        client = s2st.S2STClient(project="my-project", location="us-central1")

    uses Application Default Credentials (``gcloud auth application-default login``) unless
    ``credentials`` (google-auth) or ``access_token`` is given. The Gemini Developer API::

        client = s2st.S2STClient(backend="gemini", api_key="...")

    An ephemeral token (``auth_tokens/...``) passed as ``api_key`` selects the constrained
    method automatically. ``base_url`` points at a proxy or the bundled emulator (see
    [`for_emulator()`][s2st.client.S2STClient.for_emulator]).

    Unset arguments come from the environment: ``GOOGLE_CLOUD_PROJECT``,
    ``GOOGLE_CLOUD_LOCATION``, ``GOOGLE_API_KEY`` / ``GEMINI_API_KEY``,
    ``GOOGLE_GENAI_USE_VERTEXAI``, ``S2ST_BASE_URL``.

    Args:
        backend: ``"vertex"`` or ``"gemini"``; inferred when ``None`` (a key and no project
            means Gemini).
        project: Vertex project id (else from the environment or the ADC file).
        location: Vertex location (``"global"`` uses the bare host).
        api_version: ``v1beta1`` (default) or ``v1`` on Vertex; ``v1beta`` (default), ``v1``
            or ``v1alpha`` on Gemini.
        credentials: google-auth credentials for Vertex.
        access_token: a ready OAuth2 access token for Vertex (not refreshed).
        api_key: Gemini API key or ephemeral token.
        base_url: ``ws(s)://`` or ``http(s)://`` root to use instead of Google's host.
        headers: extra headers for every connection.
        quota_project: ``x-goog-user-project`` override.
        transport: socket options (timeouts, keepalive, sizes).
    """

    def __init__(
        self,
        *,
        backend: Literal["vertex", "gemini"] | None = None,
        project: str | None = None,
        location: str | None = None,
        api_version: str | None = None,
        credentials: Any | None = None,
        access_token: str | None = None,
        api_key: str | None = None,
        base_url: str | None = None,
        headers: Mapping[str, str] | None = None,
        quota_project: str | None = None,
        transport: TransportOptions | None = None,
    ) -> None:
        env = os.environ
        api_key = api_key or env.get("GOOGLE_API_KEY") or env.get("GEMINI_API_KEY") or None
        project = project or env.get("GOOGLE_CLOUD_PROJECT") or None
        location = location or env.get("GOOGLE_CLOUD_LOCATION") or None
        self.base_url = base_url or env.get("S2ST_BASE_URL") or None
        if backend is None:
            backend = _default_backend(api_key, access_token, credentials, project)
        if backend not in ("vertex", "gemini"):
            raise ConfigurationError(f"backend must be 'vertex' or 'gemini', got {backend!r}")
        self.backend: Backend = backend
        self.project = project
        self.location = location or (DEFAULT_LOCATION if backend == "vertex" else None)
        self._headers = tuple((headers or {}).items())
        self.transport = transport or TransportOptions()
        self._credentials, self._ephemeral, self.api_version = _credentials_for(
            backend, api_key, access_token, credentials, quota_project, api_version
        )
        _ = self.url  # validate the endpoint now, not at connect time

    @classmethod
    def for_emulator(
        cls,
        emulator: Any,
        *,
        backend: Literal["vertex", "gemini"] = "vertex",
        project: str = "s2st-emulator",
        location: str = DEFAULT_LOCATION,
        transport: TransportOptions | None = None,
    ) -> S2STClient:
        """A client for the bundled emulator (an ``Emulator`` or its ``base_url`` string),
        with placeholder credentials that the emulator accepts."""
        base_url = emulator if isinstance(emulator, str) else emulator.base_url
        if backend == "vertex":
            return cls(
                backend="vertex",
                project=project,
                location=location,
                access_token="emulator-token",
                base_url=base_url,
                transport=transport,
            )
        return cls(backend="gemini", api_key="emulator-key", base_url=base_url, transport=transport)

    def __repr__(self) -> str:
        return (
            f"S2STClient(backend={self.backend!r}, project={self.project!r}, "
            f"location={self.location!r}, url={self.url!r}, credentials={self._credentials!r})"
        )

    @property
    def url(self) -> str:
        """The WebSocket URL sessions connect to (holds no credentials)."""
        if self.backend == "vertex":
            assert self.location is not None
            return vertex_url(self.location, version=self.api_version, base_url=self.base_url)
        return gemini_url(
            version=self.api_version, constrained=self._ephemeral, base_url=self.base_url
        )

    def connect(self, target_language: str, **options: Unpack[ConnectOptions]) -> S2STSession:
        """Prepare a session translating into ``target_language``; open it with ``async with``.

        ``options`` are the keys of [ConnectOptions][s2st.ConnectOptions]:
        [TranslationConfig][s2st.TranslationConfig] fields (``model``,
        ``input_transcription``, ``realtime_input``, ``session_resumption`` ...) and session
        options: ``setup_timeout_s``, ``reconnect`` (a [ReconnectPolicy][s2st.ReconnectPolicy],
        or ``False``), ``max_pending_events``, ``max_replay_bytes``, ``trailing_silence_ms``,
        ``transport``, ``silence_warning_s`` (emit one
        [SilentOutputWarning][s2st.SilentOutputWarning] when this much speech was sent and
        only silence came back; ``None`` disables it). A type checker rejects an unknown
        option; at run time it raises [OptionsError][s2st.OptionsError].

        Everything is validated here, before any connection is opened.

        Raises:
            UnsupportedLanguageError: unknown target language (with suggestions).
            OptionsError: an unknown, missing or invalid option (all of them listed, with a
                "did you mean" hint for a misspelt name).
            ConfigurationError: any other invalid option.
        """
        given: dict[str, Any] = dict(options)
        session_options = {k: given.pop(k) for k in list(given) if k in SESSION_OPTION_NAMES}
        reconnect = session_options.get("reconnect")
        if reconnect is False:
            session_options["reconnect"] = ReconnectPolicy.disabled()
        elif reconnect is True:
            session_options["reconnect"] = ReconnectPolicy()
        elif reconnect is not None and not isinstance(reconnect, ReconnectPolicy):
            raise ConfigurationError("reconnect must be a ReconnectPolicy, True or False")
        session_options.setdefault("transport", self.transport)
        config = TranslationConfig.create(target_language=target_language, **given)
        target = ConnectionTarget(
            backend=self.backend,
            url=self.url,
            model=config.model,
            credentials=self._credentials,
            project=self.project,
            location=self.location,
            extra_headers=self._headers,
        )
        return S2STSession(target, config, **session_options)
