"""Where and as whom a session connects (private; re-exported by ``s2st.client``)."""

from __future__ import annotations

from dataclasses import dataclass

from s2st.auth import CredentialsProvider, GoogleCredentials
from s2st.config import Backend, model_resource

__all__ = ["ConnectionTarget"]


@dataclass(frozen=True)
class ConnectionTarget:
    """Where and as whom a session connects: resolved once per ``connect()``."""

    backend: Backend
    url: str
    model: str
    credentials: CredentialsProvider
    project: str | None = None
    location: str | None = None
    extra_headers: tuple[tuple[str, str], ...] = ()

    async def model_resource(self) -> str:
        """The ``setup.model`` name. On Vertex without a project, the project of the
        Application Default Credentials is used (loaded off the event loop)."""
        if self.backend == "gemini":
            return model_resource(self.model, backend="gemini")
        project = self.project
        if project is None and isinstance(self.credentials, GoogleCredentials):
            await self.credentials.headers()  # loads ADC in a worker thread
            project = self.credentials.project_id
        if project is None:
            return model_resource(self.model, backend="vertex")
        return model_resource(self.model, backend="vertex", project=project, location=self.location)

    async def headers(self) -> dict[str, str]:
        """Headers for one connection attempt (credentials fetched fresh each time)."""
        headers = dict(self.extra_headers)
        headers.update(await self.credentials.headers())
        return headers

    def secrets(self) -> tuple[str, ...]:
        """Secrets to redact from any message."""
        return self.credentials.secrets()

    def __repr__(self) -> str:
        return f"ConnectionTarget(backend={self.backend!r}, url={self.url!r})"
