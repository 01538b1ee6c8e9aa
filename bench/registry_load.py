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
from pathlib import Path

import httpx
import numpy as np
import polars as pl

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


def synthetic_hub(data: Path) -> None:
    """2,000 concept nodes (size style colour thing) and 1,000 models labeled on all of
    them."""
    rng = np.random.default_rng(0)
    sizes = ("small", "large")
    names = [f"{z} {s} {c} {t}" for z in sizes for s in STYLES for c in COLOURS for t in THINGS]
    names = names[:NODES]
    nodes = pl.DataFrame(
        {
            "node_id": [f"n{i:04d}" for i in range(NODES)],
            "name": names,
            "description": [f"a {n}, a kind of {n.split()[-1]}" for n in names],
        }
    )
    (data / "world").mkdir(parents=True)
    nodes.write_parquet(data / "world" / "nodes.parquet")
    store = RegistryStore(f"sqlite:///{data / 'registry.db'}")
    labels = []
    for i in range(MODELS):
        name = f"model-{i:04d}"
        store.register(name, f"open_clip:bench/{name}", "vlm", f"{i:064x}")
        table = pl.DataFrame(
            {
                "model_id": [name] * NODES,
                "node_id": nodes["node_id"],
                "metric": [DEFAULT_METRIC] * NODES,
                "value": rng.uniform(0, 1, NODES),
                "label_version": [f"l{i}"] * NODES,
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


def _report(what: str, latencies: list[float], wall: float) -> None:
    ms = np.array(latencies) * 1000
    print(
        f"{what}: {len(ms)} requests, p50 {np.percentile(ms, 50):.1f} ms, "
        f"p99 {np.percentile(ms, 99):.1f} ms, {len(ms) / wall:.0f} requests/s"
    )


def main() -> None:
    """Build the synthetic hub, then serve it with 1 and 2 worker processes and load it."""
    with tempfile.TemporaryDirectory() as folder:
        data = Path(folder) / "data"
        start = time.perf_counter()
        synthetic_hub(data)
        print(
            f"synthetic hub: {MODELS} models x {NODES} nodes in {time.perf_counter() - start:.0f} s"
        )
        for workers in WORKER_COUNTS:
            print(f"-- hubscout serve --workers {workers}")
            _serve_and_load(data, workers)


def _serve_and_load(data: Path, workers: int) -> None:
    port = _free_port()
    env = os.environ | {"HUBSCOUT_DATA_DIR": str(data)}
    hubscout = Path(sys.executable).parent / "hubscout"  # the installed command
    serve = [str(hubscout), "serve", "--port", str(port), "--workers", str(workers)]
    process = subprocess.Popen(serve, env=env, stdout=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    try:
        start = time.perf_counter()
        while True:  # the first answer waits for the index (MiniLM, node embeddings)
            try:
                answer = httpx.post(f"{base}/select", json={"class_names": ["red"]}, timeout=600)
                answer.raise_for_status()
                break
            except httpx.TransportError:
                if process.poll() is not None or time.perf_counter() - start > 600:
                    raise
                time.sleep(0.5)
        quick = 0  # every worker has built its index when 20 answers in a row are quick
        while quick < 20 and time.perf_counter() - start < 600:
            begin = time.perf_counter()
            httpx.post(f"{base}/select", json={"class_names": ["red"]}, timeout=600)
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
        bodies = [seen[i % len(seen)] for i in range(REQUESTS)]
        _report("class names seen before", *_load(port, bodies, CLIENTS))
        fresh = [
            {"class_names": [f"{w} {i} {j}" for j, w in enumerate(rng.choice(THINGS, 3))]}
            for i in range(NEW_REQUESTS)
        ]
        _report("new class names", *_load(port, fresh, CLIENTS))
        first = httpx.post(f"{base}/select", json=seen[0])
        tag = {"If-None-Match": first.headers["etag"]}
        times = []
        with httpx.Client(base_url=base) as http:
            for _ in range(200):
                begin = time.perf_counter()
                assert http.post("/select", json=seen[0], headers=tag).status_code == 304
                times.append(time.perf_counter() - begin)
        print(f"304 (If-None-Match): p50 {1000 * statistics.median(times):.1f} ms")
        command = [str(hubscout), "select", "red circle, blue star"]
        walls = []
        for _ in range(5):
            begin = time.perf_counter()
            subprocess.run([*command, "--registry", base], check=True, capture_output=True)
            walls.append(time.perf_counter() - begin)
        print(f"CLI select --registry: median wall {statistics.median(walls):.2f} s (5 runs)")
    finally:
        os.kill(process.pid, signal.SIGTERM)  # uvicorn's supervisor stops its workers
        process.wait(timeout=60)


if __name__ == "__main__":
    main()
