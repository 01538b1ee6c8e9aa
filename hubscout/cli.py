"""The `hubscout` command line. Errors a user can cause print as one line and exit with 2."""

import signal
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.table import Table

from hubscout import __version__
from hubscout.errors import ConfigError, HubscoutError
from hubscout.settings import apply_offline_defaults, load_settings

if TYPE_CHECKING:
    from hubscout.data.store import World
    from hubscout.selection.answer import SelectionIndex
    from registry.client import RegistryClient

app = typer.Typer(
    help="hubscout: keeps a hub of pre-trained models labeled and selects models for a task.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
hub_app = typer.Typer(
    help="The starter hub: what it holds and how its models do.", no_args_is_help=True
)
app.add_typer(hub_app, name="hub")
models_app = typer.Typer(
    help="The hub's models in the registry service (see `hubscout serve`).", no_args_is_help=True
)
app.add_typer(models_app, name="models")
pathway_app = typer.Typer(
    help="Hub-Pathway: route each input through a few hub models.", no_args_is_help=True
)
app.add_typer(pathway_app, name="pathway")
pipeline_app = typer.Typer(help="Saved reuse pipelines.", no_args_is_help=True)
app.add_typer(pipeline_app, name="pipeline")
RegistryOption = Annotated[
    str | None, typer.Option("--registry", help="Registry URL (default: HUBSCOUT_REGISTRY_URL)")
]
console = Console()
err_console = Console(stderr=True)


def main() -> None:
    """Run the CLI, turning user errors into one line on stderr and exit code 2."""
    apply_offline_defaults()
    try:
        code = app(standalone_mode=False, prog_name="hubscout")
    except HubscoutError as error:
        err_console.print(f"[red]error:[/red] {error}", highlight=False, soft_wrap=True)
        sys.exit(2)
    except (typer.Exit, SystemExit) as done:
        sys.exit(getattr(done, "exit_code", getattr(done, "code", 0)))
    except Exception as error:  # usage errors of click (or typer's vendored click)
        if callable(getattr(error, "show", None)) and isinstance(
            getattr(error, "exit_code", None), int
        ):
            error.show()
            sys.exit(error.exit_code)
        raise
    if isinstance(code, int) and code:  # click returns typer.Exit's code without standalone
        sys.exit(code)


@app.command()
def version() -> None:
    """Print the hubscout version."""
    console.print(__version__)


@app.command()
def doctor() -> None:
    """Print the resolved profile and check that each backend answers."""
    from hubscout.doctor import CHECKS

    settings = load_settings()
    console.print(f"profile: [bold]{settings.profile}[/bold]")
    console.print(f"data dir: {settings.data_dir}")
    failed = 0
    for check_backend in CHECKS:
        check = check_backend(settings)
        mark = "[green]ok[/green]  " if check.ok else "[red]FAIL[/red]"
        line = f"{mark} {check.backend:<18} {check.detail} ({check.seconds:.1f} s)"
        console.print(line, highlight=False, soft_wrap=True)
        failed += not check.ok
    if failed:
        raise typer.Exit(1)


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Address to listen on")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on")] = 8700,
    workers: Annotated[int, typer.Option(help="Service processes (one per core)")] = 1,
) -> None:
    """Run the registry service (HTTP API, OpenAPI at /docs) until Ctrl-C."""
    import uvicorn

    _at_least_one("--workers", workers)
    settings = load_settings()
    console.print(f"registry on http://{host}:{port}/docs ({settings.registry_database_url})")
    uvicorn.run(
        "registry.service:app_from_environment",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        log_level="warning",
    )


@app.command()
def worker(
    prefect_port: Annotated[
        int, typer.Option(help="Port of the local Prefect server (without PREFECT_API_URL)")
    ] = 4200,
) -> None:
    """Serve the deployments (on-model-registered, relabel, nightly) and run their flows
    until Ctrl-C.

    Without PREFECT_API_URL it starts a local `prefect server` (SQLite in the data dir) and
    stops it on exit; point the registry's HUBSCOUT_PREFECT_API_URL at the URL it prints."""
    from prefect.settings import PREFECT_API_URL, temporary_settings

    from flows.worker import deployments, local_prefect_server, serve

    settings = load_settings()
    deployments(settings)  # a bad HUBSCOUT_NIGHTLY_CRON fails before any server starts
    # SIGTERM (a stop by process id) unwinds like Ctrl-C, so the local server is stopped too
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    if settings.prefect_api_url:
        console.print(f"worker on {settings.prefect_api_url}, nightly at {settings.nightly_cron}")
        serve(settings)
        return
    with local_prefect_server(settings, prefect_port) as url:
        console.print(f"local prefect server: {url.removesuffix('/api')} (API {url})")
        console.print(f"worker serving; nightly at {settings.nightly_cron} UTC")
        with temporary_settings({PREFECT_API_URL: url}):
            serve(settings)


def _client(registry: str | None) -> "RegistryClient":
    from hubscout.backends import registry_client

    return registry_client(registry, load_settings())


def _print_model(model: dict, hub_version: int) -> None:
    table = Table(show_header=False)
    for key in ("model_id", "source", "kind", "status", "status_reason", "label_version"):
        table.add_row(key, str(model.get(key)))
    table.add_row("license / tags", f"{model['license']} / {', '.join(model['tags']) or '-'}")
    table.add_row("content hash", model["content_hash"][:16])
    for event in model.get("history", []):
        table.add_row("history", f"{event['at'][:19]} {event['status']} {event['reason'] or ''}")
    for member in model.get("members", []):
        table.add_row("runs", f"{member['model_id']} ({member['content_hash'][:12]})")
    if model.get("used_by"):
        table.add_row("used by", ", ".join(model["used_by"]))
    for flag in model.get("flags", []):
        table.add_row("[red]flag[/red]", f"{flag['at'][:19]} {flag['reason']}")
    table.add_row("hub version", str(hub_version))
    console.print(table)


@models_app.command("register")
def models_register(
    name: Annotated[str, typer.Argument(help="The model's name in the hub")],
    source: Annotated[str, typer.Argument(help="Source URI, e.g. open_clip:arch@/path/file.pt")],
    license: Annotated[str, typer.Option(help="The model's licence")] = "unknown",
    tag: Annotated[list[str] | None, typer.Option(help="A tag (repeat for more)")] = None,
    registry: RegistryOption = None,
) -> None:
    """Register a model with the registry service (needs HUBSCOUT_REGISTRY_TOKEN)."""
    with _client(registry) as client:
        answer = client.register(name, source, license, tuple(tag or ()))
    _print_model(answer["model"], answer["hub_version"])


FOLLOW_POLL_S = 3.0  # how often --follow reads the manifest; a model trains for minutes


@models_app.command("register-starter")
def models_register_starter(
    follow: Annotated[
        bool, typer.Option(help="Register each model as its checkpoint is written, until all are")
    ] = False,
    timeout: Annotated[
        float, typer.Option(help="With --follow: give up after this long (s)")
    ] = 7200,
    registry: RegistryOption = None,
) -> None:
    """Register the local starter hub's models (`starter:<name>`) with the service, as any
    model is registered; the worker's flows then label and specify them. With --follow, while
    the starter_hub stage trains, each model is registered the moment the stage lists it."""
    import time

    from hubscout.errors import SourceError
    from hubscout.models.starter_loader import HubManifest, read_manifest

    path = load_settings().layout.hub_manifest
    registered: set[str] = set()
    start = time.monotonic()
    with _client(registry) as client:
        while True:
            try:
                manifest: HubManifest | None = read_manifest(path)
            except (SourceError, ConfigError):
                if not follow:
                    raise
                manifest = None  # the stage has not written this run's manifest yet
            for entry in [] if manifest is None else manifest.models:
                if entry.name not in registered:
                    client.register(entry.name, f"starter:{entry.name}")
                    registered.add(entry.name)
                    if follow:
                        elapsed = time.monotonic() - start
                        total = len(manifest.planned)
                        console.print(f"{elapsed:5.0f} s: registered {entry.name} "
                                      f"({len(registered)}/{total})")  # fmt: skip
            if not follow or (manifest is not None and manifest.complete):
                break
            if time.monotonic() - start > timeout:
                raise ConfigError(f"the starter hub was not complete after {timeout:.0f} s")
            time.sleep(FOLLOW_POLL_S)
    console.print(f"registered {len(registered)} starter models")


@models_app.command("wait")
def models_wait(
    timeout: Annotated[float, typer.Option(help="Give up after this many seconds")] = 900,
    registry: RegistryOption = None,
) -> None:
    """Follow the hub until no model is in progress (labeling, or registered and not parked
    with a reason such as waiting for a reference encoder), printing the count of each status
    when it changes; exits 1 when a model failed (its reason is printed)."""
    import time

    from registry.store import STATUSES

    start = time.monotonic()
    last: dict[str, int] = {}
    parked: list[dict] = []
    with _client(registry) as client:
        while True:  # each status's total, however many models the hub holds
            totals = {s: client.models(status=s, limit=1)["total"] for s in STATUSES}
            registered = client.models(status="registered", limit=500)["items"]
            parked = [model for model in registered if model["status_reason"]]
            totals["registered"] -= len(parked)
            totals["parked"] = len(parked)
            counts = {status: total for status, total in totals.items() if total}
            elapsed = time.monotonic() - start
            if counts != last:
                shown = ", ".join(f"{status} {n}" for status, n in sorted(counts.items()))
                console.print(f"{elapsed:5.0f} s: {shown}")
                last = counts
            if not counts.get("registered") and not counts.get("labeling"):
                break
            if elapsed > timeout:
                raise ConfigError(
                    f"models still wait after {timeout:.0f} s: is `hubscout worker` running?"
                )
            time.sleep(2)
        failed = client.models(status="failed", limit=500)["items"] if counts.get("failed") else []
    for reason in sorted({model["status_reason"] for model in parked}):
        names = [model["model_id"] for model in parked if model["status_reason"] == reason]
        console.print(f"parked: {', '.join(names)}: {reason}")
    for model in failed:
        console.print(f"failed: {model['model_id']}: {model['status_reason']}")
    if failed:
        raise typer.Exit(1)


@models_app.command("list")
def models_list(
    kind: Annotated[str | None, typer.Option(help="vlm, classifier, generator or pipeline")] = None,
    status: Annotated[str | None, typer.Option(help="registered, labeling, ready ...")] = None,
    tag: Annotated[str | None, typer.Option(help="Only models with this tag")] = None,
    registry: RegistryOption = None,
) -> None:
    """List the hub's models as the registry service holds them."""
    with _client(registry) as client:
        page = client.models(kind, status, tag, limit=500)
    table = Table(title=f"{page['total']} model(s), hub version {page['hub_version']}")
    for column in ("model", "kind", "status", "label version", "source"):
        table.add_column(column)
    for model in page["items"]:
        flagged = " [red](flagged)[/red]" if model.get("flagged") else ""
        table.add_row(
            model["model_id"],
            model["kind"],
            model["status"] + flagged,
            model["label_version"] or "-",
            model["source"],
        )
    console.print(table)


@models_app.command("show")
def models_show(
    name: Annotated[str, typer.Argument(help="The model's name")],
    registry: RegistryOption = None,
) -> None:
    """One model: status history, label version, hash."""
    with _client(registry) as client:
        answer = client.model(name)
    _print_model(answer["model"], answer["hub_version"])


@models_app.command("retire")
def models_retire(
    name: Annotated[str, typer.Argument(help="The model's name")],
    registry: RegistryOption = None,
) -> None:
    """Retire a model: it leaves every selection, its history stays (needs the token)."""
    with _client(registry) as client:
        answer = client.retire(name)
    _print_model(answer["model"], answer["hub_version"])


@app.command()
def architectures() -> None:
    """List the architectures the open_clip loader knows (hubscout's tiny configs included)."""
    from hubscout.models.open_clip_loader import CONFIG_DIR, architectures

    own = {path.stem for path in CONFIG_DIR.glob("*.json")}
    for name in architectures():
        console.print(f"open_clip:{name}" + ("  (hubscout config)" if name in own else ""))


@app.command()
def features(
    source: Annotated[str, typer.Argument(help="Model source URI, e.g. open_clip:arch@file.pt")],
    dataset: Annotated[Path, typer.Argument(help="An .npz file or a folder of class folders")],
    device: Annotated[str | None, typer.Option(help="cpu, cuda or cuda:N")] = None,
    batch_size: Annotated[int | None, typer.Option(help="Images per forward pass")] = None,
) -> None:
    """Extract (or fetch from the cache) a model's features of an image dataset."""
    from hubscout.data.datasets import load_image_dataset
    from hubscout.features import extract_features
    from hubscout.models import load_model
    from hubscout.models.base import ImageEncoder

    overrides = {"device": device, "batch_size": batch_size}
    settings = load_settings(**{k: v for k, v in overrides.items() if v is not None})
    model = load_model(source, settings.resolved_device(), settings.layout.hub_manifest)
    if not isinstance(model, ImageEncoder):
        raise HubscoutError(f"{source} is a {model.kind}, which has no image features")
    model.batch_size = settings.batch_size
    images = load_image_dataset(dataset)
    result = extract_features(model, images, settings.cache_dir)
    table = Table(show_header=False)
    table.add_row("model", f"{model.source} ({model.content_hash[:12]})")
    table.add_row("dataset", f"{images.name}: {len(images)} images ({images.content_hash[:12]})")
    table.add_row("features", f"{result.features.shape[0]} x {result.features.shape[1]} float32")
    table.add_row("cache", f"{'hit' if result.from_cache else 'miss'}: {result.path}")
    console.print(table)


@hub_app.command("summary")
def hub_summary(
    split: Annotated[str, typer.Option(help="Which split of each task to score")] = "test",
) -> None:
    """Zero-shot accuracy of every starter VLM on every target task (best per task in bold)."""
    import polars as pl

    from hubscout.data.store import SPLITS, World
    from hubscout.models import load_model
    from hubscout.models.starter_loader import read_manifest
    from hubscout.starter.evaluation import best_model_per_task, zero_shot_table

    _one_of("--split", split, SPLITS)
    settings = load_settings()
    manifest = read_manifest(settings.layout.hub_manifest)
    world = World(settings.layout.world)
    names = [entry.name for entry in manifest.models if entry.kind == "vlm"]
    device, hub_manifest = settings.resolved_device(), settings.layout.hub_manifest
    models = {name: load_model(f"starter:{name}", device, hub_manifest) for name in names}
    result = zero_shot_table(world, models, settings.cache_dir, split)
    best = dict(best_model_per_task(result).select("task", "best_model").iter_rows())
    table = Table(title=f"zero-shot accuracy on the {split} split (chance in brackets)")
    table.add_column("task")
    for name in names:
        table.add_column(name.removeprefix("vlm-"), justify="right")
    for task, held_out, chance in world.tasks.select(
        "task", "held_out", (1 / pl.col("n_classes")).alias("chance")
    ).iter_rows():
        rows = result.filter(pl.col("task") == task)
        accuracy = dict(rows.select("model", "accuracy").iter_rows())
        cells = [
            f"[bold]{accuracy[n]:.2f}[/bold]" if best[task] == n else f"{accuracy[n]:.2f}"
            for n in names
        ]
        label = f"{task}{' (held out)' if held_out else ''} [{chance:.2f}]"
        table.add_row(label, *cells)
    console.print(table)
    winners = sorted(set(best.values()))
    console.print(
        f"best VLM differs across tasks: {len(winners)} distinct winners ({', '.join(winners)})"
    )


def _one_of(option: str, value: str, allowed: tuple[str, ...] | list[str]) -> None:
    """A ConfigError unless `value` is one of `allowed`."""
    if value not in allowed:
        raise ConfigError(f"{option} must be one of {', '.join(allowed)}, not {value!r}")


def _at_least_one(option: str, value: int) -> None:
    """A ConfigError unless `value` is a positive count."""
    if value < 1:
        raise ConfigError(f"{option} must be at least 1, not {value}")


def _source(model: str) -> str:
    """A starter name or a full source URI."""
    return model if ":" in model else f"starter:{model}"


@app.command()
def label(
    model: Annotated[str, typer.Argument(help="A starter model name or a source URI")],
) -> None:
    """Label a model on the concept graph (reused when its label is up to date)."""
    import polars as pl

    from hubscout.data.store import World
    from hubscout.labeling.store import label_model

    settings = load_settings()
    result = label_model(_source(model), World(settings.layout.world), settings)
    table = result.table
    metrics = table.filter(~pl.col("metric").str.starts_with("score@"))
    # informedness, not recall: a model that answers one sibling for all of them is at 0
    best = metrics.filter(pl.col("metric") == "informedness_siblings").sort(
        "value", descending=True
    )
    console.print(
        f"{result.model_id}: {'computed' if result.computed else 'up to date'}, "
        f"{table['node_id'].n_unique()} nodes, {table.height} rows, "
        f"version {table['label_version'][0]} -> {result.path}",
        highlight=False,
    )
    console.print(f"mean informedness among siblings (0: chance): {best['value'].mean():.3f}")
    top = ", ".join(f"{n} {v:.2f}" for n, v in best.head(8).select("node_id", "value").iter_rows())
    console.print(f"strongest nodes: {top}")


@app.command()
def select(
    classes: Annotated[str, typer.Argument(help='Comma-separated class names: "crimson, navy"')],
    k: Annotated[int, typer.Option(help="Models selected per class")] = 3,
    max_params: Annotated[int | None, typer.Option(help="Largest parameter count allowed")] = None,
    kind: Annotated[str, typer.Option(help="vlm or classifier")] = "vlm",
    license: Annotated[list[str] | None, typer.Option(help="Allowed licences")] = None,
    registry: RegistryOption = None,
) -> None:
    """Which models to use for a task given only its class names, with the evidence. With
    --registry (or HUBSCOUT_REGISTRY_URL) a running registry answers; without, the registry
    database is read here."""
    _at_least_one("--k", k)
    _one_of("--kind", kind, ("vlm", "classifier"))
    names = [part.strip() for part in classes.split(",") if part.strip()]
    request = {"class_names": names, "kind": kind, "k": k, "max_params": max_params}
    request["licenses"] = list(license or ())
    from hubscout.backends import query_backend

    with query_backend(registry, load_settings()) as backend:
        _print_selection(backend.select(request), k)


def _print_selection(answer: dict, k: int) -> None:
    evidence = Table(title="per class: matched concept nodes and the top models")
    evidence.add_column("class")
    evidence.add_column("nodes (similarity)")
    evidence.add_column(f"top {k} models (r)")
    for match in answer["classes"]:
        nodes = ", ".join(f"{n['node_id']} ({n['similarity']:.2f})" for n in match["nodes"])
        picks = ", ".join(f"{m['model']} ({m['r']:.2f})" for m in match["top"])
        evidence.add_row(match["class_name"], nodes or "-", picks or "[red]not covered[/red]")
    console.print(evidence)
    ranking = Table(title=f"overall ranking (hub version {answer['hub_version']})")
    for column in ("rank", "model", "mean r", "predicted accuracy", "label version"):
        ranking.add_column(column)
    for position, row in enumerate(answer["ranking"], start=1):
        predicted = row["predicted_accuracy"]
        ranking.add_row(
            str(position),
            row["model"],
            f"{row['mean_r']:.3f}",
            f"{predicted:.2f}" if predicted is not None else "-",
            row["label_version"] or "-",
        )
    if not answer["ranking"]:
        console.print(
            "[red]no class matches a concept of the hub's graph, so nothing is ranked:[/red] "
            "name the classes by what they look like (a colour, a shape, 'the colour of ...'), "
            "or give each a description (POST /select's descriptions)"
        )
    else:
        console.print(ranking)
    if answer["not_covered"]:
        console.print(
            f"[yellow]not covered by any concept:[/yellow] {', '.join(answer['not_covered'])}"
        )
    if answer["excluded"]:
        reasons = "; ".join(f"{m}: {why}" for m, why in sorted(answer["excluded"].items()))
        console.print(f"excluded by constraints: {reasons}", highlight=False)


@app.command()
def rank(
    task: Annotated[
        str,
        typer.Argument(
            help="A world task (e.g. swatches), or a labeled dataset: an .npz with images and "
            "labels, or a folder with one subfolder of images per class (a .zip of such "
            "folders with --registry)"
        ),
    ],
    metric: Annotated[
        str, typer.Option(help="Comma-separated metrics; the first orders the table")
    ] = "logme,sfda",
    kind: Annotated[str, typer.Option(help="vlm, classifier or all")] = "all",
    registry: RegistryOption = None,
) -> None:
    """Rank the hub's ready models for a labeled task with transferability metrics (no
    fine-tuning). Metrics: logme, leep, nce, n_leep, h_score, shrinkage_h_score, gbc,
    transrate, sfda, parc, pactran_gauss, etran, ncti, knn."""
    _one_of("--kind", kind, ("vlm", "classifier", "all"))
    from hubscout.backends import query_backend

    with query_backend(registry, load_settings()) as backend:
        answer = backend.rank(task, metric, kind)
    _print_ranking(Path(task).name, answer)


def _print_ranking(name: str, answer: dict) -> None:
    names = answer["metrics"]
    console.print(
        f"{name}: {answer['examples']} labeled images, best first by {names[0]} "
        f"(hub version {answer['hub_version']})"
    )
    table = Table()
    table.add_column("rank")
    table.add_column("model")
    for metric_name in names:
        table.add_column(metric_name, justify="right")
    for position, row in enumerate(answer["ranking"], start=1):
        values = [
            "-"
            if row["scores"][n] is None
            else f"{row['scores'][n]:.4f}" + ("*" if n in row["saturated"] else "")
            for n in names
        ]
        table.add_row(str(position), row["model"], *values)
    console.print(table)
    if any(row["saturated"] for row in answer["ranking"]):
        console.print(
            "* saturated: an in-sample fit on d feature dimensions with fewer than 3 (d + C) "
            "labeled images, where pure noise scores highly: label more images"
        )
    if {"leep", "nce"} & set(names):
        console.print("leep/nce read VLMs' zero-shot softmax over the concept graph's leaves")


@app.command()
def identify(
    images: Annotated[
        list[Path] | None, typer.Argument(help="Example images (PNG/JPEG), square")
    ] = None,
    prompt: Annotated[
        str | None, typer.Option(help="What the examples show, e.g. 'a red circle'")
    ] = None,
    kind: Annotated[
        str, typer.Option(help="generator (PMI on generator specs) or classifier (RKME)")
    ] = "generator",
    registry: RegistryOption = None,
) -> None:
    """Find the hub models that fit example images: the generator that makes images like
    them, or (--kind classifier) the VLMs and classifiers trained on data like them."""
    _one_of("--kind", kind, ("generator", "classifier"))
    from hubscout.backends import query_backend

    with query_backend(registry, load_settings()) as backend:
        answer = backend.identify(list(images or []), prompt, kind)
    what = "generators" if kind == "generator" else "models trained on data"
    table = Table(title=f"{what} like {len(images or [])} example image(s)")
    for column in ("rank", "model", answer["score"], "evidence"):
        table.add_column(column)
    for position, found in enumerate(answer["ranking"], start=1):
        table.add_row(str(position), found["model"], f"{found['score']:.4f}", found["evidence"])
    console.print(table)
    if answer.get("open_set"):
        verdict = answer["open_set"]
        console.print(
            f"answer: {verdict['answer']} (P(from the hub) {verdict['p_from_hub']:.2f})",
            highlight=False,
        )
    console.print(f"hub version {answer['hub_version']}", highlight=False)


@app.command()
def reuse(
    task: Annotated[str, typer.Argument(help="A target task of the world, e.g. swatches")],
    k: Annotated[int, typer.Option(help="VLMs selected per class")] = 3,
    kind: Annotated[
        str, typer.Option(help="vlm (ensemble) or classifier (head combination)")
    ] = "vlm",
    budget: Annotated[int, typer.Option(help="Most classifiers combined (kind classifier)")] = 3,
) -> None:
    """Select models for a world task from its class names, then reuse them on its test split:
    an entropy-weighted ensemble of VLMs, or a combination of classifier heads with a VLM
    fallback for the classes no head covers."""
    _one_of("--kind", kind, ("vlm", "classifier"))
    _at_least_one("--k", k)
    _at_least_one("--budget", budget)
    from hubscout.backends import LocalBackend
    from hubscout.data.store import World

    settings = load_settings()
    world = World(settings.layout.world)
    local = LocalBackend(settings)
    try:
        _, index = local.index.current()
    finally:
        local.close()
    if kind == "classifier":
        _reuse_experts(task, world, index, budget)
        return

    import numpy as np

    from hubscout.models import load_model
    from hubscout.reuse.ensemble import ensemble_predict
    from hubscout.reuse.world_tasks import selected_for_classes, task_probabilities
    from hubscout.selection.answer import select_models
    from hubscout.selection.requirements import RequirementError, TaskSpec

    class_names = world.class_names(task)
    selection = select_models(TaskSpec(class_names=class_names), index, k=k).selection
    selected = selected_for_classes(selection, class_names)
    if not selected:
        raise RequirementError(
            f"no class of {task} matches a concept of the hub's graph, so no model is "
            "selected to reuse: name its classes by what they look like"
        )
    hub_manifest = settings.layout.hub_manifest
    models = {
        name: load_model(index.models[name].source, manifest=hub_manifest) for name in selected
    }
    probabilities, labels = task_probabilities(world, task, models, settings.cache_dir)
    table = Table(title=f"reuse on {task} ({len(labels)} test images)")
    table.add_column("model")
    table.add_column("selected for")
    table.add_column("accuracy", justify="right")
    for name, classes in sorted(selected.items()):
        accuracy = float(np.mean(probabilities[name].argmax(axis=1) == labels))
        table.add_row(name, ", ".join(class_names[i] for i in sorted(classes)), f"{accuracy:.3f}")
    ensemble = float(np.mean(ensemble_predict(probabilities, selected) == labels))
    table.add_row(
        "[bold]ensemble[/bold]", "1/entropy weighted votes", f"[bold]{ensemble:.3f}[/bold]"
    )
    console.print(table)


def _reuse_experts(task: str, world: "World", index: "SelectionIndex", budget: int) -> None:
    from hubscout.reuse.experts import reuse_experts

    result = reuse_experts(task, world, index, load_settings(), budget)
    table = Table(title=f"expert heads on {task}")
    table.add_column("model")
    table.add_column("answers")
    for name, classes in sorted(result.assignment.items()):
        table.add_row(name, ", ".join(classes))
    if result.fallback_classes:
        table.add_row(f"{result.fallback} (fallback)", ", ".join(result.fallback_classes))
    console.print(table)
    console.print(
        f"accuracy of the combination: {result.accuracy:.3f} "
        f"(the fallback VLM {result.fallback} alone: {result.fallback_accuracy:.3f})"
    )


@pathway_app.command("train")
def pathway_train(
    task: Annotated[str, typer.Argument(help="A target task of the world, e.g. digits")],
    k: Annotated[int | None, typer.Option(help="Hub models run per input")] = None,
    register: Annotated[
        bool, typer.Option(help="Register the pipeline with the registry service")
    ] = False,
    registry: RegistryOption = None,
) -> None:
    """Train a pathway over the starter hub's models on a world task's train and val
    splits, compare it on the test split with the best single model, the uniform and the
    selection ensembles and the LogME pick (logged to MLflow), and save it as a pipeline."""
    if k is not None:
        _at_least_one("--k", k)
    from flows.train_pathway import train_pathway_flow

    result = train_pathway_flow(task, k)
    table = Table(title=f"{task}: test accuracy and hub models run per input")
    for column in ("method", "accuracy", "models per input"):
        table.add_column(column)
    for row in result["table"]:
        accuracy = "-" if row["accuracy"] is None else f"{row['accuracy']:.3f}"
        table.add_row(row["method"], accuracy, f"{row['models_per_input']:.0f}")
    console.print(table)
    source = f"pipeline:{result['pipeline']}"
    console.print(f"saved {source}", highlight=False)
    if register:
        name = Path(result["pipeline"]).name
        with _client(registry) as client:
            answer = client.register(name, source)
        _print_model(answer["model"], answer["hub_version"])


@pipeline_app.command("predict")
def pipeline_predict(
    pipeline: Annotated[str, typer.Argument(help="A pipeline folder or pipeline:<folder>")],
    images: Annotated[list[Path], typer.Argument(help="Images (PNG/JPEG), square")],
) -> None:
    """The pipeline's class probabilities for each image, and the members it ran."""
    from hubscout.identification.examples import read_examples
    from hubscout.models import load_model
    from hubscout.reuse.pipeline import ReusePipeline

    uri = pipeline if pipeline.startswith("pipeline:") else f"pipeline:{pipeline}"
    model = load_model(uri, manifest=load_settings().layout.hub_manifest)
    if not isinstance(model, ReusePipeline):
        raise ConfigError(f"{pipeline} is not a pipeline")
    probabilities, gates = model.route(read_examples(images))
    names = [member.name for member in model.manifest.members]
    table = Table(title=f"{model.manifest.task} ({model.content_hash[:12]})")
    for column in ("image", "class", "probability", "ran"):
        table.add_column(column)
    for path, row, gate in zip(images, probabilities, gates, strict=True):
        best = int(row.argmax())
        ran = ", ".join(names[m] for m in gate.nonzero()[0])
        table.add_row(path.name, model.class_names[best], f"{row[best]:.3f}", ran)
    console.print(table)
