"""Load on the registry's /select: a synthetic hub of 1,000 labeled models on 2,000 concept
nodes, served by a real uvicorn on loopback.

Reports p50/p99 latency and requests per second, with a few concurrent clients, for class
names the service has answered before (their embeddings are cached) and for new ones (each
request embeds its class names with MiniLM), plus the 304 path and the wall time of a CLI
`hubscout select --registry` call (no torch). Targets on 2 cores: p99 under 50 ms and at
least 200 requests/s.
"""

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

from registry.publication import LabelPublication, Publication
from registry.store import RegistryStore

MODELS = 1_000
NODES = 2_000
CLIENTS = 4
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
                "metric": ["f1_siblings"] * NODES,
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


def _load(base: str, bodies: list[dict], clients: int) -> tuple[list[float], float]:
    """Latencies (s) of every request and the wall time, `clients` threads sharing `bodies`."""
    latencies: list[float] = []
    lock = threading.Lock()
    queue = list(bodies)

    def client() -> None:
        with httpx.Client(base_url=base, timeout=30) as http:
            while True:
                with lock:
                    if not queue:
                        return
                    body = queue.pop()
                start = time.perf_counter()
                answer = http.post("/select", json=body)
                elapsed = time.perf_counter() - start
                answer.raise_for_status()
                with lock:
                    latencies.append(elapsed)

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
    """Build the synthetic hub, serve it, load /select and print the figures."""
    with tempfile.TemporaryDirectory() as folder:
        data = Path(folder) / "data"
        start = time.perf_counter()
        synthetic_hub(data)
        print(
            f"synthetic hub: {MODELS} models x {NODES} nodes in {time.perf_counter() - start:.0f} s"
        )
        port = _free_port()
        env = os.environ | {"HUBSCOUT_DATA_DIR": str(data)}
        app = "registry.service:app_from_environment"
        server = [sys.executable, "-m", "uvicorn", "--factory", app, "--host", "127.0.0.1"]
        process = subprocess.Popen(
            [*server, "--port", str(port), "--log-level", "warning"],
            env=env,
        )
        base = f"http://127.0.0.1:{port}"
        try:
            start = time.perf_counter()
            while True:  # the first answer waits for the index (MiniLM, node embeddings)
                try:
                    answer = httpx.post(
                        f"{base}/select", json={"class_names": ["red"]}, timeout=600
                    )
                    answer.raise_for_status()
                    break
                except httpx.TransportError:
                    if process.poll() is not None or time.perf_counter() - start > 600:
                        raise
                    time.sleep(0.5)
            print(f"service ready, index built, in {time.perf_counter() - start:.0f} s")
            rng = np.random.default_rng(1)
            seen = [
                {"class_names": [f"{c} {t}" for c, t in zip(cs, ts, strict=True)], "k": 3}
                for cs, ts in (
                    (rng.choice(COLOURS, 3, replace=False), rng.choice(THINGS, 3))
                    for _ in range(20)
                )
            ]
            _load(base, seen, 1)  # every seen request answered once: their names are cached
            bodies = [seen[i % len(seen)] for i in range(REQUESTS)]
            _report("class names seen before", *_load(base, bodies, CLIENTS))
            fresh = [
                {"class_names": [f"{w} {i} {j}" for j, w in enumerate(rng.choice(THINGS, 3))]}
                for i in range(NEW_REQUESTS)
            ]
            _report("new class names", *_load(base, fresh, CLIENTS))
            first = httpx.post(f"{base}/select", json=seen[0])
            tag = {"If-None-Match": first.headers["etag"]}
            times = []
            with httpx.Client(base_url=base) as http:
                for _ in range(200):
                    begin = time.perf_counter()
                    assert http.post("/select", json=seen[0], headers=tag).status_code == 304
                    times.append(time.perf_counter() - begin)
            print(f"304 (If-None-Match): p50 {1000 * statistics.median(times):.1f} ms")
            hubscout = Path(sys.executable).parent / "hubscout"  # the installed command
            command = [str(hubscout), "select", "red circle, blue star"]
            walls = []
            for _ in range(5):
                begin = time.perf_counter()
                subprocess.run([*command, "--registry", base], check=True, capture_output=True)
                walls.append(time.perf_counter() - begin)
            print(f"CLI select --registry: median wall {statistics.median(walls):.2f} s (5 runs)")
        finally:
            os.kill(process.pid, signal.SIGTERM)
            process.wait(timeout=30)


if __name__ == "__main__":
    main()
