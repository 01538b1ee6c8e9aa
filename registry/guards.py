"""What a request passes before a handler of the registry service sees it: the Host header,
the body size, the bearer token, the client's rate and, for uploads, the origin.

- Host: only the configured host names are answered (a DNS-rebinding page cannot reach a
  loopback service); the health probes answer any host.
- Body: over the limit is 413, by Content-Length or as a chunked body streams in.
- Token: `Authorization: Bearer <token>`, exactly one header, compared in constant time with
  the configured token(s); with none configured the endpoint is closed (401).
- Rate: a token bucket per client address and kind of request (429 with Retry-After).
- Origin: a multipart upload whose Origin (or Sec-Fetch-Site) says another site sent it is
  refused (403) unless that origin is allowed by the CORS policy.
"""

import hmac
import math
import time
from collections import OrderedDict
from collections.abc import Sequence

from pydantic import SecretStr
from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from registry.problems import Problem, problem_response

HEALTH_PATHS = ("/healthz", "/readyz")
# Clients remembered per rate limit: the oldest is forgotten past it (bounded memory).
MAX_TRACKED_CLIENTS = 10_000


def check_token(request: Request, tokens: Sequence[SecretStr], what: str) -> None:
    """Let the request through if it carries one of `tokens`, else 401 (400 for two
    Authorization headers). No token configured closes the endpoint."""
    challenge = {"WWW-Authenticate": 'Bearer realm="hubscout"'}
    if not tokens:
        raise Problem(
            401, "Unauthorized", f"{what} are closed: set HUBSCOUT_REGISTRY_TOKEN", challenge
        )
    headers = request.headers.getlist("authorization")
    if len(headers) > 1:
        raise Problem(400, "Bad request", "send one Authorization header, not several")
    scheme, _, credentials = (headers[0] if headers else "").strip().partition(" ")
    credentials = credentials.strip().encode()
    if scheme.lower() != "bearer" or not credentials:
        raise Problem(
            401, "Unauthorized", f"{what} need 'Authorization: Bearer <token>'", challenge
        )
    matches = [hmac.compare_digest(credentials, t.get_secret_value().encode()) for t in tokens]
    if not any(matches):
        raise Problem(401, "Unauthorized", f"the token does not open {what}", challenge)


class RateLimit:
    """A token bucket per client: `per_minute` requests a minute, bursts of as many."""

    def __init__(self, per_minute: int, what: str) -> None:
        self.capacity, self.rate, self.what = float(per_minute), per_minute / 60.0, what
        self._buckets: OrderedDict[str, tuple[float, float]] = OrderedDict()

    def take(self, client: str, now: float | None = None) -> None:
        """Spend one request of `client`'s bucket, or 429 saying when to retry. Called on the
        event loop only, so it needs no lock."""
        now = time.monotonic() if now is None else now
        tokens, seen = self._buckets.pop(client, (self.capacity, now))
        tokens = min(self.capacity, tokens + (now - seen) * self.rate)
        if tokens < 1.0:
            self._remember(client, tokens, now)
            wait = math.ceil((1.0 - tokens) / self.rate)
            raise Problem(
                429,
                "Too many requests",
                f"over {self.capacity:.0f} {self.what} a minute from this client; retry in "
                f"{wait} s",
                {"Retry-After": str(wait)},
            )
        self._remember(client, tokens - 1.0, now)

    def _remember(self, client: str, tokens: float, now: float) -> None:
        self._buckets[client] = (tokens, now)
        while len(self._buckets) > MAX_TRACKED_CLIENTS:
            self._buckets.popitem(last=False)


def client_of(request: Request) -> str:
    """The address a rate limit counts a request against."""
    return request.client.host if request.client else "unknown"


def check_same_origin(request: Request, allowed_origins: Sequence[str]) -> None:
    """403 for an upload a page of another site sent (a browser says so in Origin and
    Sec-Fetch-Site); programs that send neither pass."""
    origin = request.headers.get("origin")
    if origin is not None and origin in allowed_origins:
        return
    own = f"{request.url.scheme}://{request.headers.get('host', '')}"
    cross_site = request.headers.get("sec-fetch-site") in {"cross-site", "same-site"}
    if (origin is not None and origin != own) or cross_site:
        raise Problem(
            403,
            "Forbidden",
            "uploads from another origin are refused: add it to HUBSCOUT_REGISTRY_CORS_ORIGINS",
        )


def host_name(header: str) -> str:
    """The host of a Host header, without its port (an IPv6 literal keeps its brackets)."""
    if header.startswith("["):
        return header.partition("]")[0] + "]"
    return header.rpartition(":")[0] if header.count(":") == 1 else header


class RequestGuards:
    """ASGI middleware: the Host check and the body limit (413 for a body over `max_bytes`,
    `max_upload_bytes` on `upload_paths`)."""

    def __init__(
        self,
        app: ASGIApp,
        allowed_hosts: Sequence[str],
        max_bytes: int,
        max_upload_bytes: int,
        upload_paths: Sequence[str],
    ) -> None:
        self.app, self.max_bytes, self.max_upload_bytes = app, max_bytes, max_upload_bytes
        self.hosts = [host.lower() for host in allowed_hosts]
        self.upload_paths = tuple(upload_paths)

    def allowed_host(self, header: str) -> bool:
        """Whether a request for this Host header is answered: '*' allows any; '*.example.org'
        every subdomain."""
        host = host_name(header.strip()).lower()
        return any(
            pattern == "*"
            or host == pattern
            or (pattern.startswith("*.") and host.endswith(pattern[1:]))
            for pattern in self.hosts
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope["headers"])
        host = headers.get(b"host", b"").decode("latin-1")
        if scope["path"] not in HEALTH_PATHS and not self.allowed_host(host):
            detail = "this host name is not served: add it to HUBSCOUT_REGISTRY_ALLOWED_HOSTS"
            await problem_response(400, "Invalid host", detail)(scope, _no_body, send)
            return
        limit = self.max_upload_bytes if scope["path"] in self.upload_paths else self.max_bytes
        declared = headers.get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > limit:
            await _too_large(limit)(scope, _no_body, send)
            return
        seen, over = 0, False

        async def counted() -> Message:
            nonlocal seen, over
            if over:
                return {"type": "http.disconnect"}
            message = await receive()
            seen += len(message.get("body", b""))
            if seen > limit:
                over = True
                raise Problem(413, "Request too large", _too_large_detail(limit))
            return message

        async def guarded_send(message: Message) -> None:
            if not over:  # past the limit, whatever the handler answers gives way to the 413
                await send(message)

        await self.app(scope, counted, guarded_send)
        if over:
            await _too_large(limit)(scope, _no_body, send)


def _too_large_detail(limit: int) -> str:
    return f"the request body is over {limit} bytes"


def _too_large(limit: int) -> object:
    return problem_response(413, "Request too large", _too_large_detail(limit))


async def _no_body() -> Message:
    return {"type": "http.request", "body": b"", "more_body": False}
