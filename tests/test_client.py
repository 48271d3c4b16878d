"""S2STClient configuration, endpoints, credential providers and the reconnect policy."""

from __future__ import annotations

import datetime as dt
import random
import threading
from pathlib import Path
from typing import Any

import pytest

import s2st
from s2st import S2STClient
from s2st.auth import ApiKey, EphemeralToken, GoogleCredentials, StaticToken
from s2st.emulator import Emulator
from s2st.endpoints import gemini_url, is_loopback_url, vertex_host, vertex_url
from s2st.reconnect import ReconnectPolicy

from .session_helpers import collect, tone

ENV = (
    "GOOGLE_API_KEY",
    "GEMINI_API_KEY",
    "GOOGLE_CLOUD_PROJECT",
    "GOOGLE_CLOUD_LOCATION",
    "GOOGLE_GENAI_USE_VERTEXAI",
    "S2ST_BASE_URL",
)


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ENV:
        monkeypatch.delenv(name, raising=False)


# --------------------------------------------------------------------------- endpoints


@pytest.mark.parametrize(
    ("location", "host"),
    [
        ("us-central1", "us-central1-aiplatform.googleapis.com"),
        ("europe-west4", "europe-west4-aiplatform.googleapis.com"),
        ("global", "aiplatform.googleapis.com"),
        ("us", "aiplatform.us.rep.googleapis.com"),
        ("eu", "aiplatform.eu.rep.googleapis.com"),
    ],
)
def test_vertex_hosts(location: str, host: str) -> None:
    assert vertex_host(location) == host
    assert vertex_url(location) == (
        f"wss://{host}/ws/google.cloud.aiplatform.v1beta1.LlmBidiService/BidiGenerateContent"
    )


def test_urls_versions_and_base_url() -> None:
    assert vertex_url("us-central1", version="v1").endswith(
        "aiplatform.v1.LlmBidiService/BidiGenerateContent"
    )
    assert gemini_url() == (
        "wss://generativelanguage.googleapis.com/ws/"
        "google.ai.generativelanguage.v1beta.GenerativeService.BidiGenerateContent"
    )
    assert gemini_url(version="v1alpha", constrained=True).endswith(
        "v1alpha.GenerativeService.BidiGenerateContentConstrained"
    )
    assert vertex_url("x", base_url="http://127.0.0.1:8080/").startswith("ws://127.0.0.1:8080/ws/")
    assert vertex_url("x", base_url="https://proxy.example/prefix").startswith(
        "wss://proxy.example/prefix/ws/"
    )
    for bad in ("v2", "v1beta"):
        with pytest.raises(s2st.ConfigurationError):
            vertex_url("us-central1", version=bad)
    with pytest.raises(s2st.ConfigurationError):
        gemini_url(version="v1beta1")
    with pytest.raises(s2st.ConfigurationError):
        vertex_url("us-central1", base_url="ftp://nope")
    with pytest.raises(s2st.ConfigurationError):
        vertex_host("bad location!")


def test_loopback_detection() -> None:
    assert is_loopback_url("ws://127.0.0.1:1/x")
    assert is_loopback_url("ws://localhost:1")
    assert is_loopback_url("ws://[::1]:1")
    assert not is_loopback_url("wss://aiplatform.googleapis.com")


# --------------------------------------------------------------------------- client resolution


def test_backend_inference_and_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    assert S2STClient(project="p").backend == "vertex"
    assert S2STClient().backend == "vertex"  # ADC, resolved lazily
    assert S2STClient(api_key="k3y-value").backend == "gemini"
    monkeypatch.setenv("GOOGLE_API_KEY", "env-key-value")
    assert S2STClient().backend == "gemini"
    monkeypatch.setenv("GOOGLE_CLOUD_PROJECT", "envproj")
    monkeypatch.setenv("GOOGLE_CLOUD_LOCATION", "europe-west4")
    monkeypatch.setenv("GOOGLE_GENAI_USE_VERTEXAI", "true")
    client = S2STClient()
    assert (client.backend, client.project, client.location) == (
        "vertex",
        "envproj",
        "europe-west4",
    )
    assert "europe-west4-aiplatform" in client.url
    monkeypatch.setenv("S2ST_BASE_URL", "ws://127.0.0.1:5555")
    assert S2STClient().url.startswith("ws://127.0.0.1:5555/ws/")


def test_client_errors() -> None:
    with pytest.raises(s2st.ConfigurationError, match="API key"):
        S2STClient(backend="gemini")
    with pytest.raises(s2st.ConfigurationError):
        S2STClient(backend="gemini", api_key="k3y-value", access_token="t0ken-value")
    with pytest.raises(s2st.ConfigurationError):
        S2STClient(backend="bogus")  # type: ignore[arg-type]
    with pytest.raises(s2st.ConfigurationError):
        S2STClient(backend="vertex", access_token="")
    with pytest.raises(s2st.ConfigurationError):
        S2STClient(backend="vertex", api_version="v9")
    client = S2STClient.for_emulator("ws://127.0.0.1:9")
    with pytest.raises(s2st.ConfigurationError):
        client.connect("es", reconnect="yes")  # type: ignore[typeddict-item]


def test_ephemeral_token_selects_constrained_method() -> None:
    client = S2STClient(backend="gemini", api_key="auth_tokens/abcdef123456")
    assert client.url.endswith("v1alpha.GenerativeService.BidiGenerateContentConstrained")
    assert "abcdef123456" not in repr(client)


async def test_credential_providers_headers_and_repr() -> None:
    assert await StaticToken("tok-12345").headers() == {"Authorization": "Bearer tok-12345"}
    assert await ApiKey("key-12345").headers() == {"x-goog-api-key": "key-12345"}
    assert await EphemeralToken("auth_tokens/x1").headers() == {
        "Authorization": "Token auth_tokens/x1"
    }
    for provider in (
        StaticToken("tok-12345"),
        ApiKey("key-12345"),
        EphemeralToken("auth_tokens/x1"),
    ):
        assert "12345" not in repr(provider) and "x1" not in repr(provider)
    with pytest.raises(s2st.ConfigurationError):
        StaticToken("bad\nvalue")


class FakeCredentials:
    """Stands in for google-auth credentials: refresh() issues a new token, records its thread."""

    def __init__(self, *, quota_project_id: str | None = None) -> None:
        self.token: str | None = None
        self.expiry: dt.datetime | None = None
        self.quota_project_id = quota_project_id
        self.refresh_threads: list[str] = []

    def refresh(self, request: Any) -> None:
        self.refresh_threads.append(threading.current_thread().name)
        self.token = f"fresh-token-{len(self.refresh_threads)}"
        now = dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)
        self.expiry = now + dt.timedelta(hours=1)


async def test_google_credentials_refresh_off_loop_and_quota_header() -> None:
    creds = FakeCredentials(quota_project_id="billing-proj")
    provider = GoogleCredentials(creds, request_factory=lambda: object())
    headers = await provider.headers()
    assert headers == {
        "Authorization": "Bearer fresh-token-1",
        "x-goog-user-project": "billing-proj",
    }
    assert creds.refresh_threads and creds.refresh_threads[0] != threading.current_thread().name
    await provider.headers()
    assert len(creds.refresh_threads) == 1  # still valid: no refresh
    creds.expiry = dt.datetime.now(dt.timezone.utc).replace(tzinfo=None) + dt.timedelta(seconds=30)
    assert (await provider.headers())["Authorization"] == "Bearer fresh-token-2"
    assert "fresh-token" not in repr(provider)


async def test_expired_token_is_refreshed_for_each_connection() -> None:
    creds = FakeCredentials()
    async with Emulator() as emu:
        client = S2STClient(
            backend="vertex",
            project="p",
            location="us-central1",
            credentials=creds,
            base_url=emu.base_url,
        )
        client._credentials = GoogleCredentials(creds, request_factory=lambda: object())
        for _ in range(2):
            async with client.connect("es") as session:
                await session.send_audio(tone(0.1))
            creds.expiry = dt.datetime(2000, 1, 1)  # expired before the next connection
        await collect(session)
    assert len(creds.refresh_threads) == 2
    seen = [c.headers.get("authorization", "") for c in emu.connections]
    assert all("fresh-token" not in h for h in seen)  # the emulator redacts too


# --------------------------------------------------------------------------- reconnect policy


def test_backoff_doubles_caps_and_jitters() -> None:
    policy = ReconnectPolicy(initial_backoff_s=0.5, max_backoff_s=3.0, jitter=0.0)
    assert [policy.backoff_s(a) for a in range(1, 7)] == [0.0, 0.5, 1.0, 2.0, 3.0, 3.0]
    jittery = ReconnectPolicy(initial_backoff_s=1.0, jitter=0.2)
    rng = random.Random(1)
    waits = [jittery.backoff_s(2, rng) for _ in range(200)]
    assert min(waits) >= 0.8 and max(waits) <= 1.2 and len(set(waits)) > 100


def test_retry_decisions() -> None:
    policy = ReconnectPolicy()
    assert policy.should_retry(None)
    assert policy.should_retry(s2st.ServerError(1011))
    assert policy.should_retry(s2st.AbnormalClosureError(1006))
    assert not policy.should_retry(s2st.InvalidArgumentError(1007))
    assert not policy.should_retry(s2st.ModelAccessDeniedError(1008))
    assert policy.should_retry(s2st.ProtocolError("garbage"))
    assert not policy.should_retry(ValueError("not ours"))
    assert not ReconnectPolicy.disabled().should_retry(s2st.ServerError(1011))
    with pytest.raises(s2st.ConfigurationError):
        ReconnectPolicy(max_attempts=0)
    with pytest.raises(s2st.ConfigurationError):
        ReconnectPolicy(jitter=2)


def test_the_retry_budget_is_time_based() -> None:
    """Issue 11 case 4: six quick attempts (6.5 s) gave up long before a server notices a dead
    peer; the default budget is two minutes of attempts with backoff."""
    policy = ReconnectPolicy()
    assert policy.max_attempts is None and policy.give_up_after_s == 120.0
    assert not policy.exhausted(attempts=1000, elapsed_s=119.9)
    assert policy.exhausted(attempts=1, elapsed_s=120.0)
    counted = ReconnectPolicy(max_attempts=3, give_up_after_s=None)
    assert not counted.exhausted(2, 1e9) and counted.exhausted(3, 0.0)
    both = ReconnectPolicy(max_attempts=3, give_up_after_s=5.0)
    assert both.exhausted(3, 0.0) and both.exhausted(1, 5.0) and not both.exhausted(2, 4.0)
    with pytest.raises(s2st.ConfigurationError, match="bound"):
        ReconnectPolicy(max_attempts=None, give_up_after_s=None)
    ReconnectPolicy(enabled=False, max_attempts=None, give_up_after_s=None)  # never retries
    for bad in ({"give_up_after_s": 0}, {"max_attempts": True}, {"replay_window_s": 0},
                {"replay_window_s": 20.0, "max_replay_window_s": 10.0}):  # fmt: skip
        with pytest.raises(s2st.ConfigurationError):
            ReconnectPolicy(**bad)  # type: ignore[arg-type]


def test_an_error_can_ask_for_a_longer_backoff() -> None:
    class Slow(s2st.ServerError):
        min_backoff_s = 10.0

    policy = ReconnectPolicy(initial_backoff_s=0.5, max_backoff_s=3.0, jitter=0.0)
    assert policy.backoff_s(1, error=Slow(1011)) == 10.0
    assert policy.backoff_s(4, error=Slow(1011)) == 10.0
    assert policy.backoff_s(4, error=s2st.ServerError(1011)) == 2.0


# --------------------------------------------------------------------------------------------
# connect() options: typed for the type checker, validated at run time (issue 13)
# --------------------------------------------------------------------------------------------

_TYPED_SNIPPET = """
import s2st

def use(client: s2st.S2STClient, policy: s2st.ReconnectPolicy) -> None:
    client.connect("es", model="m", reconnect=policy, setup_timeout_s=3.0, voice_name=None)
    client.connect("es", realtime_input={"automatic_activity_detection": {}})
    client.connect("es", OPTS)
"""


@pytest.mark.timeout(240)  # a cold mypy cache on a loaded machine
@pytest.mark.parametrize(
    ("opts", "error"),
    [
        ("reconnect=False", None),
        ("input_transcripton=True", 'Unexpected keyword argument "input_transcripton"'),
        ('setup_timeout_s="3"', '"setup_timeout_s"'),
        ('dialect="live"', '"dialect"'),
    ],
)
def test_connect_options_are_checked_by_mypy_strict(
    tmp_path: Path, opts: str, error: str | None
) -> None:
    from mypy import api

    snippet = tmp_path / "snippet.py"
    snippet.write_text(_TYPED_SNIPPET.replace("OPTS", opts))
    stdout, stderr, status = api.run(["--strict", "--no-error-summary", str(snippet)])
    if error is None:
        assert status == 0, stdout + stderr
    else:
        assert status == 1 and error in stdout, stdout + stderr


def test_connect_typo_raises_the_public_options_error() -> None:
    client = S2STClient.for_emulator("ws://127.0.0.1:9")
    with pytest.raises(s2st.OptionsError) as info:
        client.connect("es", input_transcripton=True)  # type: ignore[call-arg]
    assert "did you mean 'input_transcription'?" in str(info.value)
    assert info.value.problems == [
        ("input_transcripton", "unknown option; did you mean 'input_transcription'?")
    ]
    assert isinstance(info.value, s2st.ConfigurationError)
    # A public class of the one exception tree (not the former private _OptionsError).
    assert type(info.value) is s2st.OptionsError is s2st.errors.OptionsError
    assert type(info.value).__module__ == "s2st.errors"
    assert "OptionsError" in s2st.__all__ and "ConnectOptions" in s2st.__all__
