"""The registry service (FastAPI): the hub's front door and its one source of truth.

Register, list, show and retire models; answer selections (POST /select, with the hub version
as an ETag: If-None-Match gives 304), identifications from example images (POST /identify)
and transferability rankings of an uploaded labeled dataset (POST /rank); serve the published
benchmark summaries. Selections come from an in-memory index that is rebuilt when a publish or
retire raises the hub version, without a restart.

Writes need `Authorization: Bearer <HUBSCOUT_REGISTRY_TOKEN>` (compared in constant time;
without a configured token every write is refused); reads are open unless
HUBSCOUT_REGISTRY_OPEN_READS=false. Bodies over HUBSCOUT_REGISTRY_MAX_REQUEST_BYTES get 413
(uploads to /identify and /rank: HUBSCOUT_REGISTRY_MAX_UPLOAD_BYTES). Registrations wait in
the outbox until the sender delivers them to Prefect (registry/events.py).
Every error is an RFC 9457 problem document (application/problem+json) without a stack trace.
Answers carry the hub version they were read at. OpenAPI at /docs.

Run it with `hubscout serve`, or `uvicorn --factory registry.service:app_from_environment`.
"""

import hashlib
import hmac
import json
import tempfile
import threading
import zipfile
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Annotated, Any, Literal

import orjson
from fastapi import Depends, FastAPI, File, Form, Header, Query, Request, Response, UploadFile
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from sqlalchemy import text
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from hubscout.data.datasets import load_image_dataset
from hubscout.data.store import World
from hubscout.errors import DatasetError, HubscoutError
from hubscout.hub import EmptyHubError
from hubscout.identification.examples import read_examples
from hubscout.models.starter_loader import manifest_path
from hubscout.queries import identification_answer, rank_by_transferability
from hubscout.selection.answer import Constraints, select_models
from hubscout.selection.requirements import TaskSpec
from hubscout.settings import Settings, load_settings
from hubscout.transferability.hub import leaf_names
from hubscout.transferability.suite import parse_metrics
from registry.events import OutboxSender
from registry.index import HubIndex
from registry.sources import register_source
from registry.store import (
    KINDS,
    STATUSES,
    RegistryConflictError,
    RegistryStore,
    UnknownModelError,
)

NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,199}$"
TAG_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,49}$"
UPLOAD_PATHS = ("/identify", "/rank")
MAX_EXAMPLES = 64
# A zip of class folders may unpack to at most this many files and this many bytes.
MAX_ZIP_FILES = 20_000
MAX_ZIP_BYTES = 512 * 1024 * 1024
ClassName = Annotated[str, Field(min_length=1, max_length=200)]


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
    flagged: bool = Field(
        default=False, description="A pipeline with open lineage flags (see the model's flags)."
    )


class StatusEventOut(BaseModel):
    """One status change."""

    status: str
    reason: str | None
    at: str


class DriftRow(BaseModel):
    """A node on which a label version moved against the model's previous one."""

    node_id: str
    previous: float
    current: float
    change: float


class LabelVersionOut(BaseModel):
    """One published label version, with its drift from the previous one (nodes whose
    informedness_siblings moved by more than 0.1)."""

    label_version: str
    graph_hash: str
    rows: int
    published_at: str
    drift: list[DriftRow] = []


class ModelDetail(ModelSummary):
    """A model with its status history and label versions."""

    history: list[StatusEventOut]
    label_versions: list[LabelVersionOut]


class BenchmarkRow(BaseModel):
    """A published benchmark row about one model."""

    model_config = ConfigDict(extra="allow")

    benchmark: str


class LabelSummary(BaseModel):
    """The current label: how many concept nodes it covers and each metric's mean."""

    nodes: int
    mean: dict[str, float]


class PipelineMemberOut(BaseModel):
    """A model a pipeline runs, as the pipeline was trained on it."""

    model_id: str
    content_hash: str
    label_version: str | None


class LineageFlag(BaseModel):
    """Why a pipeline may no longer be what it was trained as."""

    member: str
    reason: str
    at: str


class ModelAnswerDetail(ModelDetail):
    """A model with its history, label versions, specifications, benchmark rows and
    lineage: the members a pipeline runs and its open flags, the pipelines that run a
    model."""

    members: list[PipelineMemberOut]
    used_by: list[str]
    flags: list[LineageFlag]
    label_summary: LabelSummary | None
    specifications: list[dict[str, Any]]
    benchmark_rows: list[BenchmarkRow]


class ModelAnswer(BaseModel):
    """One model and the hub version it was read at."""

    model: ModelAnswerDetail
    url: str
    hub_version: int


class ModelPage(BaseModel):
    """A page of models."""

    items: list[ModelSummary]
    total: int
    limit: int
    offset: int
    hub_version: int


class SelectRequest(BaseModel):
    """A task given by its class names."""

    model_config = ConfigDict(extra="forbid")

    class_names: list[ClassName] = Field(min_length=1, max_length=100)
    descriptions: dict[str, Annotated[str, Field(max_length=500)]] = Field(
        default_factory=dict, max_length=100, description="Optional: class name -> description"
    )
    kind: Literal["vlm", "classifier"] = "vlm"
    k: int = Field(default=3, ge=1, le=50, description="Models selected per class")
    top: int = Field(default=20, ge=1, le=1000, description="Models in the overall ranking")
    max_params: int | None = Field(default=None, ge=1)
    licenses: list[ClassName] = Field(default_factory=list, max_length=20)


class NodeMatch(BaseModel):
    """A concept node a class was matched to."""

    node_id: str
    similarity: float
    weight: float


class ModelScore(BaseModel):
    """A model's score r(m, y) for one class."""

    model: str
    r: float


class ClassEvidence(BaseModel):
    """How one class was matched and which models were selected for it."""

    class_name: str
    covered: bool
    nodes: list[NodeMatch]
    top: list[ModelScore]


class RankedModel(BaseModel):
    """A model in the overall ranking."""

    model: str
    mean_r: float
    predicted_accuracy: float | None
    label_version: str | None


class SelectAnswer(BaseModel):
    """The models to use, best first, with the evidence and the hub version."""

    hub_version: int
    kind: str
    ranking: list[RankedModel]
    classes: list[ClassEvidence]
    not_covered: list[str]
    excluded: dict[str, str]


class IdentifiedModel(BaseModel):
    """A model that fits the examples."""

    model: str
    score: float
    evidence: str


class OpenSetAnswer(BaseModel):
    """Whether a hub generator made the examples: the calibrated probability and the answer
    (the best generator, or "none of the hub's generators")."""

    p_from_hub: float
    answer: str


class IdentifyAnswer(BaseModel):
    """Models ranked by how well they fit the example images, and whether any hub generator
    made them (generators) or any hub model was trained on data like them (classifiers and
    VLMs; null when the hub holds no open-set calibration)."""

    hub_version: int
    kind: str
    score: str
    ranking: list[IdentifiedModel]
    open_set: OpenSetAnswer | None = None


class RankRow(BaseModel):
    """A model's transferability scores on the uploaded dataset."""

    model: str
    scores: dict[str, float | None]
    saturated: list[str]


class RankAnswer(BaseModel):
    """Models ranked by the first metric, best first."""

    hub_version: int
    examples: int
    metrics: list[str]
    ranking: list[RankRow]


class BenchmarkAnswer(BaseModel):
    """A published benchmark summary."""

    name: str
    hub_version: int
    document: dict[str, Any]


def create_app(settings: Settings) -> FastAPI:
    """The registry service over the store at `settings.registry_database_url`."""
    state: dict[str, Any] = {}

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        settings.data_dir.mkdir(parents=True, exist_ok=True)  # the embedded SQLite file
        store = RegistryStore(settings.registry_database_url)
        sender = OutboxSender(store, settings.prefect_api_url)
        hub_index = HubIndex(store, settings)
        state.update(store=store, index=hub_index, sender=sender)
        sender.start()
        threading.Thread(target=hub_index.warm, name="index-warm-up", daemon=True).start()
        try:
            yield
        finally:
            sender.stop()
            store.close()
            state.clear()

    app = FastAPI(
        title="hubscout registry",
        version="1",
        description="The hub's models, their lifecycle and labels. Writes need a bearer token.",
        lifespan=lifespan,
    )
    app.add_middleware(
        BodyLimit,
        max_bytes=settings.registry_max_request_bytes,
        max_upload_bytes=settings.registry_max_upload_bytes,
    )
    _add_problem_handlers(app)

    # Dependencies that do no I/O are async: FastAPI runs a sync one in the thread pool,
    # a hop per dependency per request.
    async def store() -> RegistryStore:
        return state["store"]

    async def index() -> HubIndex:
        return state["index"]

    async def writer(authorization: Annotated[str | None, Header()] = None) -> None:
        _check_token(settings, authorization, "writes")

    async def reader(authorization: Annotated[str | None, Header()] = None) -> None:
        if not settings.registry_open_reads:
            _check_token(settings, authorization, "reads")

    Store = Annotated[RegistryStore, Depends(store)]
    Index = Annotated[HubIndex, Depends(index)]

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
        register_source(
            registry,
            body.name,
            body.source,
            settings.source_roots,
            manifest_path(settings),
            body.license,
            body.tags,
        )
        state["sender"].wake()
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

    @app.post(
        "/select",
        response_model=SelectAnswer,
        dependencies=[Depends(reader)],
        tags=["queries"],
        responses={304: {"description": "the answer for this hub version is unchanged"}},
    )
    async def select(
        body: SelectRequest,
        hub_index: Index,
        if_none_match: Annotated[str | None, Header()] = None,
    ) -> Response:
        """Which models to use for a task given by class names: the ranking, the evidence per
        class, the predicted accuracies and the hub version (also the ETag's first part)."""
        # Answered on the event loop when it takes a few milliseconds of NumPy (index built,
        # every class text matched before); rebuilding the index or embedding new class
        # texts (~75 ms) goes to the thread pool so that it does not stall other requests.
        # bench/registry_load.py, one worker, seen names: p50 25.6 -> 4.6 ms, p99 52.4 ->
        # 10.8 ms, 150 -> 637 requests/s against the sync endpoint and dependencies.
        snapshot = hub_index.indexed() or await run_in_threadpool(hub_index.current)
        hub, selection_index = snapshot
        request = json.dumps(body.model_dump(), sort_keys=True).encode()
        etag = f'"{hub.version}-{hashlib.sha256(request).hexdigest()[:20]}"'
        if if_none_match and etag in {tag.strip() for tag in if_none_match.split(",")}:
            return Response(status_code=304, headers={"ETag": etag})
        try:
            spec = TaskSpec(class_names=body.class_names, descriptions=body.descriptions)
        except ValidationError as error:
            reason = error.errors()[0]["msg"].removeprefix("Value error, ")
            raise Problem(422, "Invalid task", reason) from error
        constraints = Constraints(body.kind, body.max_params, tuple(body.licenses))
        if selection_index.matcher.knows(spec):
            answer = select_models(spec, selection_index, k=body.k, constraints=constraints)
        else:
            answer = await run_in_threadpool(
                select_models, spec, selection_index, k=body.k, constraints=constraints
            )
        # written by orjson directly: the hot path skips re-validating its own answer against
        # SelectAnswer (the schema tests and the fuzzer check that it conforms)
        document = orjson.dumps(answer.document(body.top))
        return Response(document, media_type="application/json", headers={"ETag": etag})

    @app.post(
        "/identify",
        response_model=IdentifyAnswer,
        dependencies=[Depends(reader)],
        tags=["queries"],
        responses={400: {}, 413: {}},
    )
    def identify(
        hub_index: Index,
        images: Annotated[list[UploadFile], File(description="Square PNG/JPEG examples")],
        prompt: Annotated[str | None, Form(max_length=500)] = None,
        kind: Annotated[Literal["generator", "classifier"], Form()] = "generator",
    ) -> dict[str, Any]:
        """The generators (PMI) or classifiers and VLMs (RKME) that fit example images."""
        if not 1 <= len(images) <= MAX_EXAMPLES:
            raise Problem(400, "Bad request", f"send 1 to {MAX_EXAMPLES} example images")
        hub = hub_index.hub()
        with tempfile.TemporaryDirectory() as folder:
            paths = []
            for number, upload in enumerate(images):
                path = Path(folder) / f"example-{number}"
                path.write_bytes(upload.file.read())
                paths.append(path)
            examples = read_examples(paths)
        return identification_answer(examples, hub, kind, prompt)

    @app.post(
        "/rank",
        response_model=RankAnswer,
        dependencies=[Depends(reader)],
        tags=["queries"],
        responses={400: {}, 413: {}},
    )
    def rank(
        hub_index: Index,
        dataset: Annotated[
            UploadFile, File(description="An .npz (images, labels) or a zip of class folders")
        ],
        metrics: Annotated[str, Form(max_length=300)] = "logme,sfda",
        kind: Annotated[Literal["vlm", "classifier", "all"], Form()] = "all",
    ) -> dict[str, Any]:
        """Rank the hub's ready models for an uploaded labeled dataset by transferability."""
        names = parse_metrics(metrics)
        hub = hub_index.hub()
        with tempfile.TemporaryDirectory() as folder:
            labeled = load_image_dataset(_unpack(dataset, Path(folder)))
            if labeled.labels is None:
                raise DatasetError("the dataset has no labels: add a 'labels' array")
            world = World(settings.layout.world)
            ranking = rank_by_transferability(
                labeled, hub, kind, names, settings.cache_dir, leaf_names(world)
            )
        return {
            "hub_version": hub.version,
            "examples": len(labeled),
            "metrics": names,
            "ranking": [
                {
                    "model": row["model"],
                    "scores": {name: row[name] for name in names},
                    "saturated": [m for m in row["saturated"].split(",") if m],
                }
                for row in ranking.iter_rows(named=True)
            ],
        }

    @app.get(
        "/benchmarks/{name}",
        response_model=BenchmarkAnswer,
        dependencies=[Depends(reader)],
        tags=["benchmarks"],
        responses={404: {}},
    )
    def benchmark(
        name: Literal["selection", "transferability", "identification"], registry: Store
    ) -> dict[str, Any]:
        """The newest published summary of a benchmark."""
        published = registry.benchmark(name)
        if published is None:
            raise Problem(404, "Not found", f"no {name} benchmark is published yet")
        document, version = published
        return {"name": name, "hub_version": version, "document": document}

    return app


def app_from_environment() -> FastAPI:
    """The service configured from the environment (for `uvicorn --factory`)."""
    return create_app(load_settings())


def _answer(registry: RegistryStore, name: str) -> dict[str, Any]:
    version = registry.hub_version()
    model = registry.model(name)
    model["benchmark_rows"] = [
        {"benchmark": benchmark} | row
        for benchmark, rows in registry.benchmark_rows(name).items()
        for row in rows
    ]
    return {"model": model, "url": f"/models/{name}", "hub_version": version}


def _unpack(upload: UploadFile, folder: Path) -> Path:
    """An uploaded .npz as a file, or an uploaded zip of class folders unpacked under
    `folder` (names checked: no absolute paths, no `..`; file count and size bounded)."""
    name = (upload.filename or "").lower()
    if name.endswith(".npz"):
        path = folder / "dataset.npz"
        path.write_bytes(upload.file.read())
        return path
    if not name.endswith(".zip"):
        raise DatasetError("upload an .npz file or a .zip of class folders")
    root = folder / "dataset"
    try:
        with zipfile.ZipFile(upload.file) as archive:
            members = [m for m in archive.infolist() if not m.is_dir()]
            if len(members) > MAX_ZIP_FILES or sum(m.file_size for m in members) > MAX_ZIP_BYTES:
                raise DatasetError(
                    f"the zip unpacks to more than {MAX_ZIP_FILES} files or {MAX_ZIP_BYTES} bytes"
                )
            for member in members:
                target = (root / member.filename).resolve()
                if not target.is_relative_to(root.resolve()):
                    raise DatasetError(f"the zip entry {member.filename!r} points outside it")
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_bytes(archive.read(member))
    except zipfile.BadZipFile as error:
        raise DatasetError(f"the upload is not a readable zip file ({error})") from error
    folders = [p for p in root.iterdir() if p.is_dir()] if root.is_dir() else []
    return folders[0] if len(folders) == 1 and not any(folders[0].glob("*.*")) else root


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

    async def unavailable(_: Request, error: Exception) -> JSONResponse:
        return _problem(409, "Hub not ready", str(error))

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
        EmptyHubError: unavailable,
        HubscoutError: bad_request,
        RequestValidationError: invalid,
        StarletteHTTPException: http_error,
        Exception: unexpected,
    }
    for kind, handler in handlers.items():
        app.add_exception_handler(kind, handler)


class BodyLimit:
    """ASGI middleware: 413 for a body over `max_bytes` (`max_upload_bytes` on the upload
    endpoints), by Content-Length or as it streams."""

    def __init__(self, app: ASGIApp, max_bytes: int, max_upload_bytes: int) -> None:
        self.app, self.max_bytes, self.max_upload_bytes = app, max_bytes, max_upload_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.max_upload_bytes if scope["path"] in UPLOAD_PATHS else self.max_bytes
        declared = dict(scope["headers"]).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > limit:
            await self._refuse(scope, send, limit)
            return
        seen = 0

        async def counted() -> Message:
            nonlocal seen
            message = await receive()
            seen += len(message.get("body", b""))
            if seen > limit:
                raise Problem(413, "Request too large", self._detail(limit))
            return message

        await self.app(scope, counted, send)

    @staticmethod
    def _detail(limit: int) -> str:
        return f"the request body is over {limit} bytes"

    async def _refuse(self, scope: Scope, send: Send, limit: int) -> None:
        response = _problem(413, "Request too large", self._detail(limit))
        await response(scope, self._empty_receive, send)

    @staticmethod
    async def _empty_receive() -> Message:
        return {"type": "http.request", "body": b"", "more_body": False}
