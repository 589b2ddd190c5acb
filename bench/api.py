"""Service benchmark: ``GET /api/startups/{id}/matches?k=10`` against ``GET /health`` on the same server.

The server runs as its own process on loopback (``roadshow serve``, one worker) over a generated world
imported into a SQLite database with a trained model; a bounded async load generator (32 keep-alive
connections, fixed duration, a minimal HTTP/1.1 client so that the client is not what is measured)
drives each endpoint in turn and records every request's latency. Matches
cycle over every startup of the world; the server precomputes them when it loads a model version (health
says ``matches_ready``), and the on-demand cost after a profile edit is measured separately, one at a time.
Target (issue 6): matches sustain ≥ 50% of the health rate with p99 ≤ 50 ms.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import numpy as np

CONNECTIONS = 32
N_UNCACHED = 50
ROOT = Path(__file__).resolve().parent.parent


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _roadshow(env: dict[str, str], *args: str) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "roadshow", *args], env=env, cwd=ROOT, capture_output=True, text=True, check=False
    )
    if done.returncode != 0:
        raise RuntimeError(f"roadshow {' '.join(args)} failed: {done.stderr.strip()}")
    return done.stdout


def _stats(latencies: list[float], seconds: float, errors: int) -> dict[str, float]:
    ms = np.asarray(latencies) * 1000.0
    return {
        "requests": float(len(ms)),
        "errors": float(errors),
        "rate_per_s": len(ms) / seconds,
        "p50_ms": float(np.percentile(ms, 50)) if len(ms) else float("nan"),
        "p99_ms": float(np.percentile(ms, 99)) if len(ms) else float("nan"),
        "max_ms": float(ms.max()) if len(ms) else float("nan"),
    }


async def _request(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter, path: str, headers: bytes
) -> int:
    """One HTTP/1.1 keep-alive GET; returns the status. Hand-rolled because a full client (httpx) costs
    several times the server's own CPU per request and would measure itself, not the server."""
    writer.write(b"GET " + path.encode() + b" HTTP/1.1\r\nHost: bench\r\n" + headers + b"\r\n")
    head = await reader.readuntil(b"\r\n\r\n")
    status = int(head[9:12])
    length = 0
    for line in head.split(b"\r\n"):
        if line[:15].lower() == b"content-length:":
            length = int(line[15:])
    await reader.readexactly(length)
    return status


async def _load(
    port: int, path_for: Callable[[int], str], headers: dict[str, str], seconds: float
) -> dict[str, float]:
    latencies: list[float] = []
    errors = 0
    counter = itertools.count()
    extra = b"".join(f"{k}: {v}\r\n".encode() for k, v in headers.items())
    stop = time.perf_counter() + seconds

    async def worker() -> None:
        nonlocal errors
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        try:
            while time.perf_counter() < stop:
                path = path_for(next(counter))
                started = time.perf_counter()
                status = await _request(reader, writer, path, extra)
                latencies.append(time.perf_counter() - started)
                errors += status != 200
        finally:
            writer.close()

    began = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(CONNECTIONS)))
    return _stats(latencies, time.perf_counter() - began, errors)


async def _uncached(base: str, ids: list[str], headers: dict[str, str]) -> dict[str, float]:
    """One request at a time, each right after an edit of that startup's profile (a new profile
    version, so nothing precomputed applies): the cost of ranking one startup on demand."""
    latencies: list[float] = []
    errors = 0
    async with httpx.AsyncClient(base_url=base, headers=headers, timeout=30.0) as client:
        began = time.perf_counter()
        for sid in ids:
            profile = (await client.get(f"/api/startups/{sid}")).json()
            # A real edit (a trailing space toggled), so the profile gets a new version.
            text = profile["description"] or ""
            edit = {"version": profile["version"], "description": text[:-1] if text.endswith(" ") else text + " "}
            await client.patch(f"/api/startups/{sid}", json=edit)
            started = time.perf_counter()
            response = await client.get(f"/api/startups/{sid}/matches?k=10")
            latencies.append(time.perf_counter() - started)
            errors += response.status_code != 200
        elapsed = time.perf_counter() - began
    return _stats(latencies, elapsed, errors)


def _wait_ready(base: str, server: subprocess.Popen[bytes], timeout: float = 120.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise RuntimeError("the server exited before it was ready")
        try:
            if httpx.get(f"{base}/health", timeout=2.0).json()["model"]["matches_ready"]:
                return
        except (httpx.HTTPError, ValueError, KeyError):
            pass
        time.sleep(0.5)
    raise RuntimeError("the server did not become ready")


def main(results_dir: Path, quick: bool) -> str:
    from matcher.synthetic import generate, write_world

    size = "small" if quick else "medium"
    seconds = 5.0 if quick else 20.0
    with tempfile.TemporaryDirectory(prefix="bench-api-") as tmp:
        world = generate(seed=11, size=size)
        data_dir = Path(tmp) / "data"
        write_world(world, data_dir)
        env = {
            **os.environ,
            "ROADSHOW_DATA_DIR": str(Path(tmp) / "var"),
            "DATABASE_URL": "",
            "ROADSHOW_ENV": "development",
        }
        started = time.perf_counter()
        _roadshow(env, "import", str(data_dir))
        _roadshow(env, "train")
        setup_seconds = time.perf_counter() - started
        key = _roadshow(env, "keys", "create", "--role", "organiser", "--name", "bench").strip().splitlines()[-1]
        headers = {"Authorization": f"Bearer {key}"}
        ids = world.data.startups["startup_id"].to_list()
        port = _free_port()
        base = f"http://127.0.0.1:{port}"
        server = subprocess.Popen(
            [sys.executable, "-m", "roadshow", "serve", "--host", "127.0.0.1", "--port", str(port)],
            env=env,
            cwd=ROOT,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            _wait_ready(base, server)
            health = asyncio.run(_load(port, lambda _: "/health", {}, seconds))
            matches = asyncio.run(
                _load(port, lambda i: f"/api/startups/{ids[i % len(ids)]}/matches?k=10", headers, seconds)
            )
            uncached = asyncio.run(_uncached(base, ids[:N_UNCACHED], headers))
        finally:
            server.terminate()
            server.wait(timeout=30)
    ratio = matches["rate_per_s"] / health["rate_per_s"]
    result: dict[str, Any] = {
        "world": size,
        "startups": len(ids),
        "investors": world.data.investors.height,
        "connections": CONNECTIONS,
        "seconds_per_endpoint": seconds,
        "setup_seconds": round(setup_seconds, 1),
        "health": health,
        "matches": matches,
        "matches_uncached_sequential": uncached,
        "ratio": ratio,
        "target_met": bool(ratio >= 0.5 and matches["p99_ms"] <= 50.0),
    }
    (results_dir / "api.json").write_text(json.dumps(result, indent=2), encoding="utf-8")
    print(f"health  {health['rate_per_s']:.0f} req/s  p50 {health['p50_ms']:.1f} ms  p99 {health['p99_ms']:.1f} ms")
    print(f"matches {matches['rate_per_s']:.0f} req/s  p50 {matches['p50_ms']:.1f} ms  p99 {matches['p99_ms']:.1f} ms")
    print(f"ratio matches/health = {ratio:.2f} (target ≥ 0.5; p99 target ≤ 50 ms)")
    return "\n".join(
        [
            "## Service (issue 6)",
            "",
            f"`python -m bench.run --only api{' --quick' if quick else ''}`: one `roadshow serve` worker on loopback "
            f"over the {size} world ({len(ids)} startups, {world.data.investors.height} investors, SQLite), "
            f"{CONNECTIONS} keep-alive connections, {seconds:.0f} s per endpoint (asyncio load generator in a "
        "separate process on the same machine).",
            "",
            "| endpoint | req/s | p50 ms | p99 ms | errors |",
            "|---|---|---|---|---|",
            f"| GET /health | {health['rate_per_s']:.0f} | {health['p50_ms']:.1f} | {health['p99_ms']:.1f} | "
            f"{health['errors']:.0f} |",
            f"| GET /api/startups/{{id}}/matches?k=10 | {matches['rate_per_s']:.0f} | {matches['p50_ms']:.1f} | "
            f"{matches['p99_ms']:.1f} | {matches['errors']:.0f} |",
            f"| same, right after a profile edit, 1 client ({N_UNCACHED} startups) | "
            f"{uncached['rate_per_s']:.0f} | {uncached['p50_ms']:.1f} | {uncached['p99_ms']:.1f} | "
            f"{uncached['errors']:.0f} |",
            "",
            f"Ratio matches/health: **{ratio:.2f}** (target ≥ 0.5); matches p99 {matches['p99_ms']:.1f} ms "
            f"(target ≤ 50 ms): {'met' if result['target_met'] else 'NOT met'}. Matches are precomputed per "
            "(model version, startup, profile version) when a model version loads; the last row is the on-demand "
            "cost of ranking one startup after its profile changed.",
        ]
    )


if __name__ == "__main__":
    out = ROOT / "bench" / "results"
    out.mkdir(parents=True, exist_ok=True)
    print(main(out, quick="--quick" in sys.argv))
