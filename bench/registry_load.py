"""Load on the registry's /select: a synthetic hub of 1,000 labeled models on 2,000 concept
nodes, served by `hubscout serve --workers 2` (uvicorn) on loopback.

Reports p50/p99 latency and requests per second, with a few concurrent clients, for class
names the service has answered before (their embeddings are cached) and for new ones (each
request embeds its class names with MiniLM), plus the 304 path and the wall time of a CLI
`hubscout select --registry` call (no torch). Targets on 2 cores: p99 under 50 ms and at
least 200 requests/s.
"""

import http.client
import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import httpx
import numpy as np
import polars as pl

from hubscout.data.graph import ConceptNode, nodes_frame
from hubscout.selection.ranking import DEFAULT_METRIC
from registry.publication import LabelPublication, Publication
from registry.store import RegistryStore

MODELS = 1_000
NODES = 2_000
CLIENTS = 4
WORKER_COUNTS = (1, 2)  # service processes (`hubscout serve --workers N`); 2 cores here
REQUESTS = 1_000
NEW_REQUESTS = 300
COLOURS = [
    "red",
    "orange",
    "yellow",
    "green",
    "blue",
    "purple",
    "pink",
    "brown",
    "grey",
    "black",
    "white",
    "teal",
]
THINGS = [
    "circle",
    "square",
    "star",
    "stripe",
    "dot",
    "ring",
    "wave",
    "cross",
    "arrow",
    "leaf",
    "moon",
    "heart",
]
STYLES = ["bright", "dark", "pale", "striped", "dotted", "large", "small", "round", "sharp", "soft"]


def synthetic_hub(data: Path, models: int = MODELS, node_count: int = NODES) -> None:
    """`node_count` concept nodes (size style colour thing) and `models` models labeled on
    all of them. The nodes table is the world's own (`nodes_frame`), so that it has every
    column the matcher reads."""
    rng = np.random.default_rng(0)
    sizes = ("small", "large")
    names = [f"{z} {s} {c} {t}" for z in sizes for s in STYLES for c in COLOURS for t in THINGS]
    concepts = [
        ConceptNode(f"n{i:04d}", name, f"a {name}, a kind of {name.split()[-1]}", "bench", ())
        for i, name in enumerate(names[:node_count])
    ]
    nodes = nodes_frame(concepts)
    (data / "world").mkdir(parents=True)
    nodes.write_parquet(data / "world" / "nodes.parquet")
    store = RegistryStore(f"sqlite:///{data / 'registry.db'}")
    labels = []
    for i in range(models):
        name = f"model-{i:04d}"
        store.register(name, f"open_clip:bench/{name}", "vlm", f"{i:064x}")
        table = pl.DataFrame(
            {
                "model_id": [name] * node_count,
                "node_id": nodes["node_id"],
                "metric": [DEFAULT_METRIC] * node_count,
                "value": rng.uniform(0, 1, node_count),
                "label_version": [f"l{i}"] * node_count,
            }
        )
        labels.append(LabelPublication(name, f"l{i}", "g", table))
    store.publish(Publication("synthetic hub", labels=tuple(labels)))
    store.close()


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _load(port: int, bodies: list[dict], clients: int) -> tuple[list[float], float]:
    """Latencies (s) of every request and the wall time, `clients` threads sharing `bodies`,
    each on one keep-alive connection of the standard library's HTTP client (lighter than
    httpx: the load generator shares the 2 cores with the service)."""
    latencies: list[float] = []
    lock = threading.Lock()
    queue = [json.dumps(body).encode() for body in bodies]

    def client() -> None:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        headers = {"Content-Type": "application/json"}
        try:
            while True:
                with lock:
                    if not queue:
                        return
                    body = queue.pop()
                start = time.perf_counter()
                connection.request("POST", "/select", body, headers)
                answer = connection.getresponse()
                answer.read()
                elapsed = time.perf_counter() - start
                if answer.status != 200:
                    raise RuntimeError(f"/select answered {answer.status}")
                with lock:
                    latencies.append(elapsed)
        finally:
            connection.close()

    start = time.perf_counter()
    threads = [threading.Thread(target=client) for _ in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return latencies, time.perf_counter() - start


def _report(what: str, latencies: list[float], wall: float) -> dict[str, float]:
    ms = np.array(latencies) * 1000
    figures = {
        "requests": len(ms),
        "p50_ms": float(np.percentile(ms, 50)),
        "p99_ms": float(np.percentile(ms, 99)),
        "requests_per_s": len(ms) / wall,
    }
    print(
        f"{what}: {figures['requests']} requests, p50 {figures['p50_ms']:.1f} ms, "
        f"p99 {figures['p99_ms']:.1f} ms, {figures['requests_per_s']:.0f} requests/s"
    )
    return figures


@dataclass(frozen=True)
class LoadSize:
    """How big a run is: the full benchmark by default, a smoke run in the tests."""

    models: int = MODELS
    nodes: int = NODES
    worker_counts: tuple[int, ...] = WORKER_COUNTS
    requests: int = REQUESTS
    new_requests: int = NEW_REQUESTS
    etag_requests: int = 200
    cli_runs: int = 5


def main(size: LoadSize = LoadSize()) -> list[dict[str, object]]:
    """Build the synthetic hub, then serve it with each worker count and load it; one dict
    of figures per worker count."""
    with tempfile.TemporaryDirectory() as folder:
        data = Path(folder) / "data"
        start = time.perf_counter()
        synthetic_hub(data, size.models, size.nodes)
        elapsed = time.perf_counter() - start
        print(f"synthetic hub: {size.models} models x {size.nodes} nodes in {elapsed:.0f} s")
        results = []
        for workers in size.worker_counts:
            print(f"-- hubscout serve --workers {workers}")
            results.append({"workers": workers, **_serve_and_load(data, workers, size)})
        return results


def _select(base: str, body: dict, timeout: float = 600) -> httpx.Response:
    """One /select that must answer with a ranking: a 200 without models is a broken bench."""
    answer = httpx.post(f"{base}/select", json=body, timeout=timeout)
    answer.raise_for_status()
    if not answer.json()["ranking"]:
        raise RuntimeError(f"/select answered no models for {body}: {answer.text[:200]}")
    return answer


def _serve_and_load(data: Path, workers: int, size: LoadSize) -> dict[str, object]:
    port = _free_port()
    # the load is the point here: lift the per-process /select limit above what it sends
    limit = str(10 * (size.requests + size.new_requests + size.etag_requests))
    env = os.environ | {
        "HUBSCOUT_DATA_DIR": str(data),
        "HUBSCOUT_REGISTRY_SELECT_PER_MINUTE": limit,
    }
    hubscout = Path(sys.executable).parent / "hubscout"  # the installed command
    serve = [str(hubscout), "serve", "--port", str(port), "--workers", str(workers)]
    process = subprocess.Popen(serve, env=env, stdout=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    try:
        start = time.perf_counter()
        while True:  # the first answer waits for the index (MiniLM, node embeddings)
            try:
                _select(base, {"class_names": ["red"]})
                break
            except httpx.TransportError:
                if process.poll() is not None or time.perf_counter() - start > 600:
                    raise
                time.sleep(0.5)
        quick = 0  # every worker has built its index when 20 answers in a row are quick
        while quick < 20 and time.perf_counter() - start < 600:
            begin = time.perf_counter()
            _select(base, {"class_names": ["red"]})
            quick = quick + 1 if time.perf_counter() - begin < 0.1 else 0
        print(f"service ready, indexes built, in {time.perf_counter() - start:.0f} s")
        rng = np.random.default_rng(1)
        seen = [
            {"class_names": [f"{c} {t}" for c, t in zip(cs, ts, strict=True)], "k": 3}
            for cs, ts in (
                (rng.choice(COLOURS, 3, replace=False), rng.choice(THINGS, 3)) for _ in range(20)
            )
        ]
        _load(port, seen, 1)  # every seen request answered once: their names are cached
        bodies = [seen[i % len(seen)] for i in range(size.requests)]
        figures: dict[str, object] = {
            "seen": _report("class names seen before", *_load(port, bodies, CLIENTS))
        }
        fresh = [
            {"class_names": [f"{w} {i} {j}" for j, w in enumerate(rng.choice(THINGS, 3))]}
            for i in range(size.new_requests)
        ]
        figures["new"] = _report("new class names", *_load(port, fresh, CLIENTS))
        first = _select(base, seen[0])
        figures["top_models"] = [m["model"] for m in first.json()["ranking"]]
        tag = {"If-None-Match": first.headers["etag"]}
        times = []
        with httpx.Client(base_url=base) as http:
            for _ in range(size.etag_requests):
                begin = time.perf_counter()
                assert http.post("/select", json=seen[0], headers=tag).status_code == 304
                times.append(time.perf_counter() - begin)
        figures["not_modified_p50_ms"] = 1000 * statistics.median(times)
        print(f"304 (If-None-Match): p50 {figures['not_modified_p50_ms']:.1f} ms")
        command = [str(hubscout), "select", "red circle, blue star"]
        walls = []
        for _ in range(size.cli_runs):
            begin = time.perf_counter()
            subprocess.run([*command, "--registry", base], check=True, capture_output=True)
            walls.append(time.perf_counter() - begin)
        figures["cli_wall_s"] = statistics.median(walls)
        print(
            f"CLI select --registry: median wall {figures['cli_wall_s']:.2f} s "
            f"({size.cli_runs} runs)"
        )
        return figures
    finally:
        os.kill(process.pid, signal.SIGTERM)  # uvicorn's supervisor stops its workers
        process.wait(timeout=60)


if __name__ == "__main__":
    main()
