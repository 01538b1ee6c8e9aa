"""The registry service (FastAPI): register, list, show and retire the hub's models.

Writes need `Authorization: Bearer <HUBSCOUT_REGISTRY_TOKEN>` (compared in constant time;
without a configured token every write is refused); reads are open unless
HUBSCOUT_REGISTRY_OPEN_READS=false. Bodies over HUBSCOUT_REGISTRY_MAX_REQUEST_BYTES get 413.
Every error is an RFC 9457 problem document (application/problem+json) without a stack trace.
Answers carry the hub version they were read at. OpenAPI at /docs.

Run it with `hubscout serve`, or `uvicorn --factory registry.service:app_from_environment`.
"""

import hmac
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Annotated, Any

from fastapi import Depends, FastAPI, Header, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import text
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from hubscout.errors import HubscoutError
from hubscout.models.starter_loader import manifest_path
from hubscout.settings import Settings, load_settings
from registry.sources import check_source
from registry.store import (
    KINDS,
    STATUSES,
    RegistryConflictError,
    RegistryStore,
    UnknownModelError,
)

NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,199}$"
TAG_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,49}$"


class Problem(Exception):
    """An error answered as a problem document."""

    def __init__(self, status: int, title: str, detail: str) -> None:
        super().__init__(detail)
        self.status, self.title, self.detail = status, title, detail


class RegisterRequest(BaseModel):
    """A model to register."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(pattern=NAME_PATTERN, description="The model's name in the hub.")
    source: str = Field(
        min_length=3, max_length=2000, description="e.g. open_clip:ViT-B-32@/models/b32.pt"
    )
    license: str = Field(default="unknown", min_length=1, max_length=200)
    tags: list[Annotated[str, Field(pattern=TAG_PATTERN)]] = Field(
        default_factory=list, max_length=20
    )


class ModelSummary(BaseModel):
    """A model as the registry holds it."""

    model_id: str
    source: str
    kind: str
    content_hash: str
    status: str
    status_reason: str | None
    license: str
    tags: list[str]
    label_version: str | None


class StatusEventOut(BaseModel):
    """One status change."""

    status: str
    reason: str | None
    at: str


class LabelVersionOut(BaseModel):
    """One published label version."""

    label_version: str
    graph_hash: str
    rows: int
    published_at: str


class ModelDetail(ModelSummary):
    """A model with its status history and label versions."""

    history: list[StatusEventOut]
    label_versions: list[LabelVersionOut]


class ModelAnswer(BaseModel):
    """One model and the hub version it was read at."""

    model: ModelDetail
    url: str
    hub_version: int


class ModelPage(BaseModel):
    """A page of models."""

    items: list[ModelSummary]
    total: int
    limit: int
    offset: int
    hub_version: int


def create_app(settings: Settings) -> FastAPI:
    """The registry service over the store at `settings.registry_database_url`."""
    store_holder: dict[str, RegistryStore] = {}

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        settings.data_dir.mkdir(parents=True, exist_ok=True)  # the embedded SQLite file
        store_holder["store"] = RegistryStore(settings.registry_database_url)
        try:
            yield
        finally:
            store_holder.pop("store").close()

    app = FastAPI(
        title="hubscout registry",
        version="1",
        description="The hub's models, their lifecycle and labels. Writes need a bearer token.",
        lifespan=lifespan,
    )
    app.add_middleware(BodyLimit, max_bytes=settings.registry_max_request_bytes)
    _add_problem_handlers(app)

    def store() -> RegistryStore:
        return store_holder["store"]

    def writer(authorization: Annotated[str | None, Header()] = None) -> None:
        _check_token(settings, authorization, "writes")

    def reader(authorization: Annotated[str | None, Header()] = None) -> None:
        if not settings.registry_open_reads:
            _check_token(settings, authorization, "reads")

    Store = Annotated[RegistryStore, Depends(store)]

    @app.get("/healthz", tags=["health"])
    def healthz() -> dict[str, str]:
        """The process answers."""
        return {"status": "ok"}

    @app.get("/readyz", tags=["health"], responses={503: {"description": "database down"}})
    def readyz(registry: Store) -> dict[str, str]:
        """The registry database answers."""
        try:
            with registry.engine.connect() as connection:
                connection.execute(text("SELECT 1"))
        except Exception as error:
            raise Problem(503, "Not ready", "the registry database does not answer") from error
        return {"status": "ready"}

    @app.post(
        "/models",
        status_code=202,
        response_model=ModelAnswer,
        dependencies=[Depends(writer)],
        tags=["models"],
        responses={400: {}, 401: {}, 409: {}, 413: {}},
    )
    def register(body: RegisterRequest, registry: Store) -> JSONResponse:
        """Register a model by its source URI: the source is checked and hashed now, the
        model is labeled by the flows later. The same name, source and hash again changes
        nothing; a name held by another source is a conflict (409)."""
        checked = check_source(body.source, settings.source_roots, manifest_path(settings))
        registry.register(
            body.name, checked.source, checked.kind, checked.content_hash, body.license, body.tags
        )
        answer = _answer(registry, body.name)
        return JSONResponse(answer, status_code=202, headers={"Location": answer["url"]})

    @app.get("/models", response_model=ModelPage, dependencies=[Depends(reader)], tags=["models"])
    def list_models(
        registry: Store,
        kind: Annotated[str | None, Query(enum=list(KINDS))] = None,
        status: Annotated[str | None, Query(enum=list(STATUSES))] = None,
        tag: Annotated[str | None, Query(pattern=TAG_PATTERN)] = None,
        limit: Annotated[int, Query(ge=1, le=500)] = 100,
        offset: Annotated[int, Query(ge=0)] = 0,
    ) -> dict[str, Any]:
        """The models, filtered by kind, status and tag, by name, a page at a time."""
        version = registry.hub_version()
        models = registry.models(kind, status, tag)
        return {
            "items": models[offset : offset + limit],
            "total": len(models),
            "limit": limit,
            "offset": offset,
            "hub_version": version,
        }

    @app.get(
        "/models/{name}",
        response_model=ModelAnswer,
        dependencies=[Depends(reader)],
        tags=["models"],
        responses={404: {}},
    )
    def show_model(name: str, registry: Store) -> dict[str, Any]:
        """One model with its status history and label versions."""
        return _answer(registry, name)

    @app.delete(
        "/models/{name}",
        response_model=ModelAnswer,
        dependencies=[Depends(writer)],
        tags=["models"],
        responses={401: {}, 404: {}},
    )
    def retire_model(name: str, registry: Store) -> dict[str, Any]:
        """Retire a model: it leaves every selection and its history stays."""
        registry.retire(name)
        return _answer(registry, name)

    return app


def app_from_environment() -> FastAPI:
    """The service configured from the environment (for `uvicorn --factory`)."""
    return create_app(load_settings())


def _answer(registry: RegistryStore, name: str) -> dict[str, Any]:
    version = registry.hub_version()
    return {"model": registry.model(name), "url": f"/models/{name}", "hub_version": version}


def _check_token(settings: Settings, authorization: str | None, what: str) -> None:
    if settings.registry_token is None:
        raise Problem(401, "Unauthorized", f"{what} are closed: set HUBSCOUT_REGISTRY_TOKEN")
    expected = f"Bearer {settings.registry_token.get_secret_value()}".encode()
    if not hmac.compare_digest((authorization or "").encode(), expected):
        raise Problem(401, "Unauthorized", f"{what} need 'Authorization: Bearer <token>'")


def _problem(status: int, title: str, detail: str) -> JSONResponse:
    body = {"type": "about:blank", "title": title, "status": status, "detail": detail}
    return JSONResponse(body, status_code=status, media_type="application/problem+json")


def _add_problem_handlers(app: FastAPI) -> None:
    async def problem(_: Request, error: Exception) -> JSONResponse:
        assert isinstance(error, Problem)
        return _problem(error.status, error.title, error.detail)

    async def conflict(_: Request, error: Exception) -> JSONResponse:
        return _problem(409, "Conflict", str(error))

    async def unknown(_: Request, error: Exception) -> JSONResponse:
        return _problem(404, "Not found", str(error))

    async def bad_request(_: Request, error: Exception) -> JSONResponse:
        return _problem(400, "Bad request", str(error))

    async def invalid(_: Request, error: Exception) -> JSONResponse:
        assert isinstance(error, RequestValidationError)
        first = error.errors()[0]
        where = ".".join(str(part) for part in first.get("loc", ()))
        return _problem(422, "Invalid request", f"{where}: {first.get('msg')}")

    async def http_error(_: Request, error: Exception) -> JSONResponse:
        assert isinstance(error, StarletteHTTPException)
        return _problem(error.status_code, str(error.detail), str(error.detail))

    async def unexpected(_: Request, error: Exception) -> JSONResponse:
        return _problem(500, "Internal error", "the registry failed; see its log")

    handlers: dict[type[Exception], Callable[[Request, Exception], Awaitable[JSONResponse]]] = {
        Problem: problem,
        RegistryConflictError: conflict,
        UnknownModelError: unknown,
        HubscoutError: bad_request,
        RequestValidationError: invalid,
        StarletteHTTPException: http_error,
        Exception: unexpected,
    }
    for kind, handler in handlers.items():
        app.add_exception_handler(kind, handler)


class BodyLimit:
    """ASGI middleware: 413 for a body over `max_bytes`, by Content-Length or as it streams."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app, self.max_bytes = app, max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope["headers"]).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.max_bytes:
            await self._refuse(scope, send)
            return
        seen = 0

        async def counted() -> Message:
            nonlocal seen
            message = await receive()
            seen += len(message.get("body", b""))
            if seen > self.max_bytes:
                raise Problem(413, "Request too large", self._detail())
            return message

        await self.app(scope, counted, send)

    def _detail(self) -> str:
        return f"the request body is over {self.max_bytes} bytes"

    async def _refuse(self, scope: Scope, send: Send) -> None:
        response = _problem(413, "Request too large", self._detail())
        await response(scope, self._empty_receive, send)

    @staticmethod
    async def _empty_receive() -> Message:
        return {"type": "http.request", "body": b"", "more_body": False}
