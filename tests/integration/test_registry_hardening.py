"""The registry service under attack, on a real uvicorn (loopback): every header form of the
token, uploads built to cost memory or break a decoder (each a 4xx, with the service's RSS
measured around it), a locked database (503 after a bounded wait while /healthz answers at
once), rate limits, the Host check and the origin check."""

import json
import os
import socket
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import psutil
import pytest
import torch

from tests import payloads
from tests.conftest import TINY_CLIP_ARCH, TOKEN, running_service

READ_TOKEN = "a-read-token-of-the-tests"
WRITE = {"Authorization": f"Bearer {TOKEN}"}
READ = {"Authorization": f"Bearer {READ_TOKEN}"}
WAIT_S = 1.0  # the service's database wait, short so that the lock test is quick
DECODED_LIMIT = 32 * 2**20
# What one refused upload may grow the service by: a few times what was sent, plus this.
RSS_CONSTANT = 48 * 2**20
RSS_UPLOAD_FACTOR = 4


@pytest.fixture(scope="module")
def hardened(tmp_path_factory, tiny_clip, tiny_world):
    """A service with closed reads (the read token or the write token opens them), a short
    database wait and a decoded-size limit of 32 MiB; its process."""
    tmp_path = tmp_path_factory.mktemp("hardened")
    extra = {
        "HUBSCOUT_REGISTRY_OPEN_READS": "false",
        "HUBSCOUT_REGISTRY_READ_TOKEN": READ_TOKEN,
        "HUBSCOUT_REGISTRY_DATABASE_WAIT_SECONDS": str(WAIT_S),
        "HUBSCOUT_REGISTRY_MAX_DECODED_BYTES": str(DECODED_LIMIT),
        "HUBSCOUT_REGISTRY_MAX_IDENTIFY_PIXELS": str(4 * 256 * 256),
        "HUBSCOUT_REGISTRY_UPLOADS_PER_MINUTE": "1000",
        "HUBSCOUT_REGISTRY_MAX_UPLOAD_BYTES": "1000000",
    }
    with running_service(tmp_path, "sqlite", tiny_clip[1], tiny_world, extra) as service:
        [process] = [
            p
            for p in psutil.process_iter(["cmdline"])
            if p.info["cmdline"] and service.base.rsplit(":", 1)[1] in p.info["cmdline"]
        ]
        yield service, process


def _problem(response: httpx.Response, status: int) -> str:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    detail = response.json()["detail"]
    assert "\n" not in detail and "/tmp" not in detail and "Traceback" not in response.text
    return detail


def test_an_empty_token_stops_the_service_and_doctor_says_why(tmp_path, tiny_clip, tiny_world):
    empty = {"HUBSCOUT_REGISTRY_TOKEN": ""}
    with (
        pytest.raises(RuntimeError, match="the registry token is set but empty"),
        running_service(tmp_path, "sqlite", tiny_clip[1], tiny_world, empty),
    ):
        pass
    doctor = subprocess.run(
        [sys.executable, "-c", "from hubscout.cli import main; main()", "doctor"],
        env=os.environ | {"HUBSCOUT_REGISTRY_TOKEN": "", "HUBSCOUT_DATA_DIR": str(tmp_path)},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert doctor.returncode == 2
    assert "registry_token (HUBSCOUT_REGISTRY_TOKEN" in doctor.stderr
    assert "set but empty" in doctor.stderr


@pytest.mark.parametrize(
    ("headers", "status"),
    [
        ([], 401),
        ([("Authorization", "")], 401),
        ([("Authorization", "Bearer ")], 401),
        ([("Authorization", "Bearer")], 401),
        ([("Authorization", f"Basic {TOKEN}")], 401),
        ([("Authorization", f"Bearer {TOKEN[:-1]}")], 401),
        ([("Authorization", f"Bearer {TOKEN}x")], 401),
        ([("Authorization", f"Bearer {READ_TOKEN}")], 401),  # reads only
        ([("Authorization", f"Bearer {TOKEN}"), ("Authorization", f"Bearer {TOKEN}")], 400),
        ([("Authorization", f"Bearer {TOKEN}")], 202),
    ],
)
def test_every_form_of_the_authorization_header(hardened, headers, status):
    service, _ = hardened
    body = json.dumps(
        {"name": "tiny-clip", "source": f"open_clip:{TINY_CLIP_ARCH}@{service.root}/tiny.pt"}
    ).encode()
    host, port = service.base.removeprefix("http://").split(":")
    lines = ["POST /models HTTP/1.1", f"Host: {host}", "Content-Type: application/json",
             f"Content-Length: {len(body)}", "Connection: close"]  # fmt: skip
    lines += [f"{name}: {value}" for name, value in headers]  # as sent, a trailing space too
    with socket.create_connection((host, int(port)), timeout=30) as connection:
        connection.sendall("\r\n".join(lines).encode() + b"\r\n\r\n" + body)
        answer = b""
        while chunk := connection.recv(65536):
            answer += chunk
    head = answer.split(b"\r\n\r\n")[0].decode().lower()
    assert head.split()[1] == str(status), answer
    if status == 401:
        assert 'www-authenticate: bearer realm="hubscout"' in head


def test_closed_reads_open_with_either_token(hardened):
    service, _ = hardened
    assert "reads need" in _problem(httpx.get(f"{service.base}/models"), 401)
    assert httpx.get(f"{service.base}/models", headers=READ).status_code == 200
    assert httpx.get(f"{service.base}/models", headers=WRITE).status_code == 200
    assert httpx.get(f"{service.base}/healthz").status_code == 200  # probes need no token


def _attacks(root: Path) -> list[tuple[str, str, dict, int, str]]:
    """(attack, endpoint, request, status, words of the detail)."""
    big = [("images", (f"{i}.png", payloads.png(4000))) for i in range(4)]
    many = {f"set/c{i % 2}/{i}.png": payloads.png() for i in range(2)}
    return [
        ("npz header claiming 279 GiB", "/rank",
         {"files": {"dataset": ("d.npz", payloads.npz_header_bomb())}}, 400,
         "decodes to 286102.3 MiB"),
        ("compressed npz, 96 MiB decoded", "/rank",
         {"files": {"dataset": ("d.npz", payloads.compressed_npz(32768))}}, 400,
         "over the limit of 32.0 MiB"),
        ("plain .npy named .npz", "/rank",
         {"files": {"dataset": ("d.npz", payloads.plain_npy())}}, 400, "is not an .npz archive"),
        ("four 4000x4000 PNGs", "/identify", {"files": big}, 400,
         "hold 64000000 pixels together"),
        ("EPS upload", "/identify", {"files": [("images", ("a.eps", payloads.eps()))]}, 400,
         "as a PNG or JPEG image"),
        ("PNG with a broken data stream", "/identify",
         {"files": [("images", ("a.png", payloads.broken_png()))]}, 400, "broken data stream"),
        ("PNG with an invalid chunk", "/identify",
         {"files": [("images", ("a.png", payloads.png_with_bad_chunk()))]}, 400,
         "as a PNG or JPEG image"),
        ("zip member of 64 MiB zeros", "/rank",
         {"files": {"dataset": ("d.zip", payloads.zip_bomb_member(64 * 2**20))}}, 400,
         "unpacks to more than 32.0 MiB"),
        ("zip entries colliding as file and folder", "/rank",
         {"files": {"dataset": ("d.zip", payloads.zip_of({"a/x.png": b"1", "a": b"2"}))}}, 400,
         "collides"),
        ("zip entry name of 300 characters", "/rank",
         {"files": {"dataset": ("d.zip", payloads.zip_of({"c/" + "n" * 300 + ".png": b"1"}))}},
         400, "over 255 bytes"),
        ("zip of two classes, no models ready", "/rank",
         {"files": {"dataset": ("d.zip", payloads.zip_of(many))}}, 409, "no ready"),
        ("NUL byte in a source path", "/models",
         {"json": {"name": "nul", "source": f"timm:resnet10t@{root}/a\x00.pt"}}, 422,
         "body.source"),
        ("pretrained tag that downloads", "/models",
         {"json": {"name": "dl", "source": "open_clip:ViT-B-32/laion2b_s34b_b79k"}}, 400,
         "allows no downloads"),
    ]  # fmt: skip


def test_hostile_uploads_are_4xx_and_cost_the_service_a_bounded_memory(hardened):
    service, process = hardened
    root = service.root
    torch.save({"weights": torch.zeros(2), "code": Path("x")}, root / "pickled.pt")
    attacks = [
        *_attacks(root),
        ("pickle-bearing .pt", "/models",
         {"json": {"name": "pickle", "source": f"timm:resnet10t@{root}/pickled.pt"}}, 400,
         "pickled Python objects"),
    ]  # fmt: skip
    rows = []
    for attack, path, request, status, words in attacks:
        sent = sum(len(part[1][1]) for part in _parts(request.get("files", {}))) or len(
            str(request.get("json", ""))
        )
        for _ in range(2):  # the first of each kind loads code; the second is measured
            before = process.memory_info().rss
            answer = httpx.post(f"{service.base}{path}", **request, headers=WRITE, timeout=60)
            grown = process.memory_info().rss - before
        assert words in _problem(answer, status), attack
        assert grown <= RSS_UPLOAD_FACTOR * sent + RSS_CONSTANT, (attack, grown)
        rows.append((attack, status, sent, grown))
    print("\nattack | status | sent bytes | RSS growth (MiB)")
    for attack, status, sent, grown in rows:
        print(f"{attack} | {status} | {sent} | {grown / 2**20:.1f}")
    assert httpx.get(f"{service.base}/healthz").status_code == 200  # still serving


def _parts(files: dict | list) -> list:
    return list(files.items()) if isinstance(files, dict) else files


def test_a_chunked_body_over_the_limit_is_413(hardened):
    service, _ = hardened

    def chunks():
        for _ in range(10):
            yield b"x" * 1000

    answer = httpx.post(f"{service.base}/models", content=chunks(), headers=WRITE, timeout=60)
    assert "over 4000 bytes" in _problem(answer, 413)


def test_a_locked_database_is_503_after_the_wait_while_health_and_reads_answer(hardened):
    service, _ = hardened
    holder = sqlite3.connect(Path(service.env["HUBSCOUT_DATA_DIR"]) / "registry.db")
    holder.execute("BEGIN IMMEDIATE")  # another writer holds the write lock
    body = {"name": "locked", "source": f"open_clip:{TINY_CLIP_ARCH}@{service.root}/tiny.pt"}
    answers: dict[str, httpx.Response] = {}

    def register():
        start = time.monotonic()
        answers["post"] = httpx.post(f"{service.base}/models", json=body, headers=WRITE, timeout=60)
        answers["seconds"] = time.monotonic() - start

    try:
        writer = threading.Thread(target=register)
        writer.start()
        time.sleep(0.2)
        health_s = []
        for _ in range(5):
            start = time.monotonic()
            assert httpx.get(f"{service.base}/healthz").status_code == 200
            health_s.append(time.monotonic() - start)
        reads = httpx.get(f"{service.base}/models", headers=READ)
        ready = httpx.get(f"{service.base}/readyz")
        writer.join(timeout=30)
    finally:
        holder.rollback()
        holder.close()
    assert max(health_s) < 0.1, health_s
    assert reads.status_code == 200 and ready.json() == {"status": "ready"}  # WAL: readers go on
    assert "database is busy" in _problem(answers["post"], 503)
    assert answers["post"].headers["retry-after"] == "2"
    assert WAIT_S <= answers["seconds"] < WAIT_S + 3
    assert (
        httpx.post(f"{service.base}/models", json=body, headers=WRITE, timeout=60).status_code
        == 202
    )


def test_filters_hosts_and_origins(hardened):
    service, _ = hardened
    base = service.base
    assert "kind" in _problem(httpx.get(f"{base}/models?kind=bogus", headers=READ), 422)
    assert "status" in _problem(httpx.get(f"{base}/models?status=bogus", headers=READ), 422)
    foreign = {"Host": "evil.example"} | READ
    assert "host name is not served" in _problem(httpx.get(f"{base}/models", headers=foreign), 400)
    assert httpx.get(f"{base}/healthz", headers={"Host": "10.0.0.7:8700"}).status_code == 200
    page = {"Origin": "http://evil.example"} | READ
    answer = httpx.post(f"{base}/identify", files=[("images", ("a.png", payloads.png()))],
                        headers=page)  # fmt: skip
    assert "another origin" in _problem(answer, 403)
    assert "access-control-allow-origin" not in answer.headers  # no CORS by default


def test_clients_past_their_rate_get_429_with_retry_after(tmp_path, tiny_clip, tiny_world):
    extra = {
        "HUBSCOUT_REGISTRY_UPLOADS_PER_MINUTE": "2",
        "HUBSCOUT_REGISTRY_SELECT_PER_MINUTE": "2",
    }
    with running_service(tmp_path, "sqlite", tiny_clip[1], tiny_world, extra) as service:
        identify = lambda: httpx.post(  # noqa: E731
            f"{service.base}/identify", files=[("images", ("a.png", payloads.png()))]
        )
        assert [identify().status_code for _ in range(2)] == [409, 409]  # no specs yet
        limited = identify()
        assert "over 2 uploads a minute" in _problem(limited, 429)
        assert limited.headers["retry-after"] == "30"
        select = lambda: httpx.post(  # noqa: E731
            f"{service.base}/select", json={"class_names": ["red"]}, timeout=120
        )
        assert 429 not in [select().status_code for _ in range(2)]
        assert select().status_code == 429
