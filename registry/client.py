"""A small Python client of the registry service (httpx); it imports no torch, so a CLI call
that talks to the service starts fast.

Problem documents come back as `RegistryError` carrying the service's detail; a service that
does not answer is a `RegistryError` that says how to start one.
"""

from pathlib import Path
from typing import Any

import httpx

from hubscout.errors import HubscoutError

TIMEOUT_S = 30.0
RANK_TIMEOUT_S = 900.0  # ranking loads every ready model and extracts features


class RegistryClientError(HubscoutError):
    """The registry service refused a request or did not answer."""


class RegistryClient:
    """Calls of the registry's HTTP API at `base_url`."""

    def __init__(self, base_url: str, token: str | None = None) -> None:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        self.base_url = base_url.rstrip("/")
        self.http = httpx.Client(base_url=self.base_url, headers=headers, timeout=TIMEOUT_S)

    def close(self) -> None:
        """Close the connection pool."""
        self.http.close()

    def __enter__(self) -> "RegistryClient":
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def register(
        self, name: str, source: str, license: str = "unknown", tags: tuple[str, ...] = ()
    ) -> dict[str, Any]:
        """POST /models: the model as registered, with the hub version."""
        body = {"name": name, "source": source, "license": license, "tags": list(tags)}
        return self._call("POST", "/models", json=body)

    def models(
        self,
        kind: str | None = None,
        status: str | None = None,
        tag: str | None = None,
        limit: int = 100,
        offset: int = 0,
    ) -> dict[str, Any]:
        """GET /models: a page of models (items, total, hub_version)."""
        filters = {"kind": kind, "status": status, "tag": tag, "limit": limit, "offset": offset}
        return self._call("GET", "/models", params={k: v for k, v in filters.items() if v})

    def model(self, name: str) -> dict[str, Any]:
        """GET /models/{name}: one model with its history and label versions."""
        return self._call("GET", f"/models/{name}")

    def retire(self, name: str) -> dict[str, Any]:
        """DELETE /models/{name}: the retired model, with the new hub version."""
        return self._call("DELETE", f"/models/{name}")

    def select(self, request: dict[str, Any]) -> dict[str, Any]:
        """POST /select: the ranking with its evidence and hub version."""
        return self._call("POST", "/select", json=request)

    def identify(
        self, images: list[Path], prompt: str | None = None, kind: str = "generator"
    ) -> dict[str, Any]:
        """POST /identify: the models that fit example image files."""
        files = [("images", (path.name, path.read_bytes())) for path in images]
        form = {"kind": kind} | ({"prompt": prompt} if prompt is not None else {})
        return self._call("POST", "/identify", files=files, data=form)

    def rank(self, dataset: Path, metrics: str, kind: str = "all") -> dict[str, Any]:
        """POST /rank: the hub's models ranked for a labeled .npz or zip of class folders."""
        files = {"dataset": (dataset.name, dataset.read_bytes())}
        form = {"metrics": metrics, "kind": kind}
        return self._call("POST", "/rank", files=files, data=form, timeout=RANK_TIMEOUT_S)

    def tuned(self) -> dict[str, Any]:
        """GET /tuned: the parameters the benchmarks tuned, with their versions."""
        return self._call("GET", "/tuned")

    def benchmark(self, name: str) -> dict[str, Any]:
        """GET /benchmarks/{name}: a published benchmark summary."""
        return self._call("GET", f"/benchmarks/{name}")

    def _call(self, method: str, path: str, **kwargs: Any) -> dict[str, Any]:
        try:
            response = self.http.request(method, path, **kwargs)
        except httpx.TransportError as error:
            raise RegistryClientError(
                f"the registry at {self.base_url} does not answer ({error}): start it with "
                "`hubscout serve` or set --registry / HUBSCOUT_REGISTRY_URL"
            ) from error
        if response.is_success:
            return response.json()
        try:
            detail = response.json().get("detail", response.text)
        except ValueError:
            detail = response.text
        raise RegistryClientError(f"the registry answered {response.status_code}: {detail}")
