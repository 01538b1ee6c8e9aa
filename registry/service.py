"""The registry service (FastAPI): the hub's front door and its one source of truth.

Register, list, show and retire models; answer selections (POST /select, with the hub version
as an ETag: If-None-Match gives 304), identifications from example images (POST /identify)
and transferability rankings of an uploaded labeled dataset (POST /rank); serve the published
benchmark summaries. Selections come from an in-memory index that is rebuilt when a publish or
retire raises the hub version, without a restart.

Writes need `Authorization: Bearer <HUBSCOUT_REGISTRY_TOKEN>` (compared in constant time;
without a configured token every write is refused, and an empty one is a configuration
error); reads are open unless HUBSCOUT_REGISTRY_OPEN_READS=false (then the write token or
HUBSCOUT_REGISTRY_READ_TOKEN opens them). registry/guards.py checks the Host header, body
sizes, tokens, per-client rates and the origin of uploads; uploads are bounded before they
are decoded (registry/uploads.py, HUBSCOUT_REGISTRY_MAX_DECODED_BYTES and the other
registry_max_ settings). Registrations wait in the outbox until the sender delivers them to
Prefect (registry/events.py). Every error is an RFC 9457 problem document
(registry/problems.py); a busy database is a 503 with Retry-After. Handlers that read the
database run in the thread pool, so /healthz answers whatever the database does. Answers
carry the hub version they were read at. OpenAPI at /docs.

Run it with `hubscout serve`, or `uvicorn --factory registry.service:app_from_environment`.
"""

import hashlib
import json
import tempfile
import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Annotated, Any, Literal

import orjson
from fastapi import Depends, FastAPI, File, Form, Header, Query, Request, Response, UploadFile
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import JSONResponse
from pydantic import ValidationError
from starlette.concurrency import run_in_threadpool

from hubscout.data.datasets import load_image_dataset
from hubscout.data.store import World
from hubscout.errors import DatasetError
from hubscout.identification.examples import read_examples
from hubscout.queries import identification_answer, ranking_answer
from hubscout.selection.answer import Constraints, select_models
from hubscout.selection.requirements import TaskSpec
from hubscout.settings import Settings, load_settings
from hubscout.transferability.hub import leaf_names
from hubscout.transferability.suite import parse_metrics
from registry.events import OutboxSender
from registry.guards import RateLimit, RequestGuards, check_same_origin, check_token, client_of
from registry.index import HubIndex
from registry.loaded import LoadedModels
from registry.problems import Problem, add_problem_handlers
from registry.schemas import (
    TAG_PATTERN,
    BenchmarkAnswer,
    IdentifyAnswer,
    Kind,
    ModelAnswer,
    ModelPage,
    RankAnswer,
    RegisterRequest,
    SelectAnswer,
    SelectRequest,
    Status,
    TunedAnswer,
)
from registry.sources import register_source
from registry.store import RegistryStore
from registry.uploads import save_dataset, save_upload

UPLOAD_PATHS = ("/identify", "/rank")
MAX_EXAMPLES = 64
LIMITED = {  # what a guarded endpoint may answer besides its result
    401: {"description": "a token is needed"},
    413: {"description": "the body is too large"},
    429: {"description": "too many requests from this client"},
    503: {"description": "the database is busy"},
}


def create_app(settings: Settings) -> FastAPI:
    """The registry service over the store at `settings.registry_database_url`."""
    state: dict[str, Any] = {}

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        settings.data_dir.mkdir(parents=True, exist_ok=True)  # the embedded SQLite file
        store = RegistryStore(
            settings.registry_database_url, settings.registry_database_wait_seconds
        )
        sender = OutboxSender(store, settings.prefect_api_url)
        hub_index = HubIndex(store, settings)
        loaded = LoadedModels(
            settings.registry_loaded_models, settings.source_roots, settings.layout.hub_manifest
        )
        state.update(store=store, index=hub_index, sender=sender, loaded=loaded)
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
    if settings.registry_cors_origins:  # none by default: browsers get no CORS headers
        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.registry_cors_origins,
            allow_methods=["GET", "POST", "DELETE"],
            allow_headers=["Authorization", "Content-Type", "If-None-Match"],
            expose_headers=["ETag", "Location", "Retry-After"],
        )
    app.add_middleware(
        RequestGuards,
        allowed_hosts=settings.registry_allowed_hosts,
        max_bytes=settings.registry_max_request_bytes,
        max_upload_bytes=settings.registry_max_upload_bytes,
        upload_paths=UPLOAD_PATHS,
    )
    add_problem_handlers(app)
    write_tokens = [settings.registry_token] if settings.registry_token else []
    read_tokens = write_tokens + (
        [settings.registry_read_token] if settings.registry_read_token else []
    )
    select_rate = RateLimit(settings.registry_select_per_minute, "selections")
    upload_rate = RateLimit(settings.registry_uploads_per_minute, "uploads")

    # Dependencies that do no I/O are async: FastAPI runs a sync one in the thread pool,
    # a hop per dependency per request.
    async def store() -> RegistryStore:
        return state["store"]

    async def index() -> HubIndex:
        return state["index"]

    async def loaded() -> LoadedModels:
        return state["loaded"]

    async def writer(request: Request) -> None:
        check_token(request, write_tokens, "writes")

    async def reader(request: Request) -> None:
        if not settings.registry_open_reads:
            check_token(request, read_tokens, "reads")

    async def selections(request: Request) -> None:
        select_rate.take(client_of(request))

    async def uploads(request: Request) -> None:
        check_same_origin(request, settings.registry_cors_origins)
        upload_rate.take(client_of(request))

    Store = Annotated[RegistryStore, Depends(store)]
    Index = Annotated[HubIndex, Depends(index)]
    Loaded = Annotated[LoadedModels, Depends(loaded)]

    @app.get("/healthz", tags=["health"])
    async def healthz() -> dict[str, str]:
        """The process answers (on the event loop: it waits for no database or thread)."""
        return {"status": "ok"}

    @app.get("/readyz", tags=["health"], responses={503: {"description": "database down"}})
    def readyz(registry: Store) -> dict[str, str]:
        """The registry database answers a read of each of its tables."""
        try:
            registry.check_ready()
        except Exception as error:
            raise Problem(
                503, "Not ready", "the registry database does not answer", {"Retry-After": "2"}
            ) from error
        return {"status": "ready"}

    @app.post(
        "/models",
        status_code=202,
        response_model=ModelAnswer,
        dependencies=[Depends(writer)],
        tags=["models"],
        responses={400: {}, 409: {}, **LIMITED},
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
            settings.layout.hub_manifest,
            body.license,
            body.tags,
            settings.registry_allow_downloads,
        )
        state["sender"].wake()
        answer = _answer(registry, body.name)
        return JSONResponse(answer, status_code=202, headers={"Location": answer["url"]})

    @app.get("/models", response_model=ModelPage, dependencies=[Depends(reader)], tags=["models"])
    def list_models(
        registry: Store,
        kind: Kind | None = None,
        status: Status | None = None,
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
        dependencies=[Depends(reader), Depends(selections)],
        tags=["queries"],
        responses={304: {"description": "the answer for this hub version is unchanged"}, **LIMITED},
    )
    async def select(
        body: SelectRequest,
        hub_index: Index,
        if_none_match: Annotated[str | None, Header()] = None,
    ) -> Response:
        """Which models to use for a task given by class names: the ranking, the evidence per
        class, the predicted accuracies and the hub version (also the ETag's first part)."""
        # The hub version is read in the thread pool (the event loop never waits on the
        # database); selecting from a built index takes a few milliseconds of NumPy and stays
        # on the loop, embedding new class texts goes to the pool (bench/registry_load.py
        # measures both; docs/decisions.md has the figures).
        hub, selection_index = await run_in_threadpool(hub_index.current)
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
        dependencies=[Depends(reader), Depends(uploads)],
        tags=["queries"],
        responses={400: {}, 403: {}, **LIMITED},
    )
    def identify(
        hub_index: Index,
        models: Loaded,
        images: Annotated[list[UploadFile], File(description="Square PNG/JPEG examples")],
        prompt: Annotated[str | None, Form(max_length=500)] = None,
        kind: Annotated[Literal["generator", "classifier"], Form()] = "generator",
    ) -> dict[str, Any]:
        """The generators (PMI) or classifiers and VLMs (RKME) that fit example images."""
        if not 1 <= len(images) <= MAX_EXAMPLES:
            raise Problem(400, "Bad request", f"send 1 to {MAX_EXAMPLES} example images")
        hub = hub_index.hub()
        with tempfile.TemporaryDirectory() as folder:
            paths = [
                save_upload(upload.file, Path(folder) / f"example-{number}")
                for number, upload in enumerate(images)
            ]
            examples = read_examples(paths, settings.registry_max_identify_pixels)
        return identification_answer(examples, hub, kind, models, prompt)

    @app.post(
        "/rank",
        response_model=RankAnswer,
        dependencies=[Depends(reader), Depends(uploads)],
        tags=["queries"],
        responses={400: {}, 403: {}, **LIMITED},
    )
    def rank(
        hub_index: Index,
        loaded_models: Loaded,
        dataset: Annotated[
            UploadFile, File(description="An .npz (images, labels) or a zip of class folders")
        ],
        metrics: Annotated[str, Form(max_length=300)] = "logme,sfda",
        kind: Annotated[Literal["vlm", "classifier", "all"], Form()] = "all",
        models: Annotated[
            str | None, Form(max_length=4000, description="Comma-separated model names")
        ] = None,
    ) -> dict[str, Any]:
        """Rank the hub's ready models (or those named) for an uploaded labeled dataset by
        transferability."""
        names = parse_metrics(metrics)
        chosen = [name.strip() for name in (models or "").split(",") if name.strip()]
        hub = hub_index.hub()
        limit = settings.registry_max_decoded_bytes
        with tempfile.TemporaryDirectory() as folder:
            saved = save_dataset(dataset.file, dataset.filename or "", Path(folder), limit)
            labeled = load_image_dataset(saved, limit)
            if labeled.labels is None:
                raise DatasetError("the dataset has no labels: add a 'labels' array")
            if len(labeled) > settings.registry_max_rank_examples:
                raise DatasetError(
                    f"the dataset has {len(labeled)} examples, over the "
                    f"{settings.registry_max_rank_examples} one ranking scores: send fewer"
                )
            world = World(settings.layout.world)
            return ranking_answer(
                labeled,
                hub,
                kind,
                names,
                settings.cache_dir,
                leaf_names(world),
                loaded_models,
                chosen,
                settings.registry_max_rank_models,
            )

    @app.get(
        "/tuned", response_model=TunedAnswer, dependencies=[Depends(reader)], tags=["benchmarks"]
    )
    def tuned(registry: Store) -> dict[str, Any]:
        """What the benchmarks tuned on their tuning data (encoders, PMI's parameters, the
        open-set calibrations, the accuracy model), at full precision, with versions."""
        return {"hub_version": registry.hub_version(), "tuned": registry.tuned()}

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
