"""Lists benchmark (issue 9, part A): investors and banks apart, and investor-side ranking over HTTP.

- Kinds on the shipped sample (fit before 2025-07-01, as the issue measured it): the share of banks among
  every startup's default (``kind=all``) top 10, how many startups get no investor in their top 10, and
  whether every ``kind=investor`` list holds only investors and every ``kind=bank`` list only banks.
- HTTP (``large`` world: 20,000 startups; ``--quick``: ``small``): ``roadshow serve`` (one worker) over the
  world imported and trained (``roadshow train``), then ``GET /api/investors/{id}/matches?k=10`` cycling
  over investors and banks, one client at a time (latency) and four at once; then ``GET /health`` alone
  and again while eight investor-side ranking requests are always in flight (does the event loop keep
  answering?). The large world is trained with ``--model boosted`` (what the self-tuning default chooses
  there; its own fit takes about 12 minutes on two busy cores). Reference timing in the same run: a fixed
  numpy workload (a 1,500 × 1,500 float64 matrix product) and the 1-minute load average, so figures from
  machines of different speed or load can be compared.
Targets: investor-side p95 ≤ 50 ms with 20,000 startups; health under load ≥ 80% of its rate alone.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

from bench.api import _backend, _free_port, _load, _psql, _roadshow, _wait_ready
from matcher.io import read_data_dir
from matcher.ranking import get_model

ROOT = Path(__file__).resolve().parent.parent
SAMPLE_AS_OF = date(2025, 7, 1)
IN_FLIGHT = 8
ROUNDS = 3
MODEL = {"small": "learned", "large": "boosted"}


def _reference_ms() -> float:
    """Median of five runs of a fixed numpy workload: this machine's speed (and load) right now."""
    rng = np.random.default_rng(0)
    a = rng.random((1500, 1500))
    times = []
    for _ in range(5):
        started = time.perf_counter()
        a @ a
        times.append(time.perf_counter() - started)
    return float(np.median(times) * 1000)


def _kinds_section() -> dict[str, Any]:
    data = read_data_dir(ROOT / "data" / "sample")
    kinds = data.investors.select("investor_id", "kind")
    model = get_model("learned").fit(data, SAMPLE_AS_OF)
    lists = {kind: model.recommend(data, k=10, kind=kind).join(kinds, on="investor_id")
             for kind in ("all", "investor", "bank")}
    top = lists["all"]
    per_startup = top.group_by("startup_id").agg((pl.col("kind") != "bank").sum().alias("investors"))
    repeated = top.group_by("startup_id", pl.col("reasons").list.sort()).len().filter(pl.col("len") > 1)
    return {
        "startups": data.startups.height,
        "institutions": data.investors.height,
        "banks_share_of_institutions": float((kinds["kind"] == "bank").mean() or 0.0),
        "banks_share_of_top10": float((top["kind"] == "bank").mean() or 0.0),
        "startups_without_an_investor_in_top10": int((per_startup["investors"] == 0).sum()),
        "investor_lists_pure": bool((lists["investor"]["kind"] != "bank").all()),
        "bank_lists_pure": bool((lists["bank"]["kind"] == "bank").all()),
        "investor_lists": lists["investor"]["startup_id"].n_unique(),
        "bank_lists": lists["bank"]["startup_id"].n_unique(),
        "lists_with_a_repeated_reason_set": repeated["startup_id"].n_unique(),
    }


async def _health_under_load(port: int, matches: Callable[[int], str], headers: dict[str, str],
                             seconds: float) -> tuple[dict[str, float], dict[str, float]]:
    health, heavy = await asyncio.gather(
        _load(port, lambda _: "/health", {}, seconds, 8),
        _load(port, matches, headers, seconds + 1.0, IN_FLIGHT),
    )
    return health, heavy


def _http_section(quick: bool) -> dict[str, Any]:
    from matcher.synthetic import generate, write_world

    size = "small" if quick else "large"
    seconds = 5.0 if quick else 10.0
    with tempfile.TemporaryDirectory(prefix="bench-lists-") as tmp:
        world = generate(seed=11, size=size)
        data_dir = Path(tmp) / "data"
        write_world(world, data_dir)
        backend_env, backend = _backend(Path(tmp))
        env = {**os.environ, **backend_env}
        started = time.perf_counter()
        _roadshow(env, "import", str(data_dir))
        # The self-tuning default takes ~12 minutes to fit on the large world on two busy cores; the boosted
        # trees it chooses there (two-stage: linear candidates, trees re-rank) are what an investor's list runs.
        _roadshow(env, "train", "--model", MODEL[size])
        setup_seconds = time.perf_counter() - started
        key = _roadshow(env, "keys", "create", "--role", "organiser", "--name", "bench").strip().splitlines()[-1]
        headers = {"Authorization": f"Bearer {key}"}
        investors = world.data.investors["investor_id"].to_list()
        port = _free_port()
        base = f"http://127.0.0.1:{port}"
        server = subprocess.Popen(
            [sys.executable, "-m", "roadshow", "serve", "--host", "127.0.0.1", "--port", str(port), "--workers", "1",
             "--no-access-log"], env=env, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            # The server first ranks every startup (20,000 on the large world: minutes on two busy cores).
            _wait_ready(base, server, timeout=1800.0)

            def matches(i: int) -> str:
                return f"/api/investors/{investors[i % len(investors)]}/matches?k=10"

            # The first request builds the startup pool (every startup encoded once); not what is measured.
            asyncio.run(_load(port, matches, headers, 3.0, 1))
            reference_before = _reference_ms()
            load_before = os.getloadavg()[0]
            one = asyncio.run(_load(port, matches, headers, seconds, 1))
            four = asyncio.run(_load(port, matches, headers, seconds, 4))
            # Alternated ROUNDS times: one pair of 10 s runs on a shared machine moved the ratio by ten points.
            pairs = []
            for _ in range(ROUNDS):
                alone = asyncio.run(_load(port, lambda _: "/health", {}, seconds, 8))
                load_alone = os.getloadavg()[0]
                under, heavy = asyncio.run(_health_under_load(port, matches, headers, seconds))
                load_under = os.getloadavg()[0]
                pairs.append((under["rate_per_s"] / alone["rate_per_s"] if alone["rate_per_s"] else float("nan"),
                              alone, under, heavy))
            # The round with the median ratio is the one reported in full.
            ratio, alone, under, heavy = sorted(pairs, key=lambda pair: pair[0])[len(pairs) // 2]
            reference_after = _reference_ms()
        finally:
            server.terminate()
            server.wait(timeout=60)
        if backend_env["DATABASE_URL"].startswith("postgresql"):
            from sqlalchemy.engine import make_url

            admin = os.environ.get("BENCH_DATABASE_URL") or os.environ.get("DATABASE_URL_TEST") or ""

            _psql(admin, f'DROP DATABASE IF EXISTS "{make_url(backend_env["DATABASE_URL"]).database}" WITH (FORCE)')
    return {
        "world": size, "backend": backend, "startups": world.data.startups.height, "investors": len(investors),
        "setup_seconds": round(setup_seconds, 1), "seconds_per_run": seconds, "model": MODEL[size],
        "investor_matches_1_client": one, "investor_matches_4_clients": four,
        "health_alone": alone, "health_with_8_rankings_in_flight": under, "rankings_in_flight": heavy,
        "health_ratio": ratio, "health_ratios": [round(pair[0], 3) for pair in pairs],
        "reference_ms": [round(reference_before, 1), round(reference_after, 1)],
        "load_average_1m": {"before": round(load_before, 2), "after_health_alone": round(load_alone, 2),
                            "after_health_under_load": round(load_under, 2)},
    }


def _markdown(kinds: dict[str, Any], http: dict[str, Any], quick: bool) -> str:
    one, four = http["investor_matches_1_client"], http["investor_matches_4_clients"]
    alone, under = http["health_alone"], http["health_with_8_rankings_in_flight"]
    heavy, load = http["rankings_in_flight"], http["load_average_1m"]
    met = one["p95_ms"] <= 50.0
    return "\n".join([
        "## Lists: investors and banks apart, investor-side ranking over HTTP (issue 9)",
        "",
        f"`python -m bench.run --only lists{' --quick' if quick else ''}`.",
        "",
        f"Kinds on `data/sample` ({kinds['startups']} startups, {kinds['institutions']} institutions of which "
        f"{kinds['banks_share_of_institutions']:.0%} banks), learned model fitted before {SAMPLE_AS_OF}, top 10:",
        "",
        "| figure | value |",
        "|---|---|",
        f"| banks' share of the default (`kind=all`) top-10 slots | **{kinds['banks_share_of_top10']:.1%}** "
        "(86 % before per-kind calibration, issue 9) |",
        f"| startups with no investor in their top 10 | {kinds['startups_without_an_investor_in_top10']} "
        "(99 before) |",
        f"| every `kind=investor` list holds only investors ({kinds['investor_lists']} lists) | "
        f"{'yes' if kinds['investor_lists_pure'] else 'NO'} |",
        f"| every `kind=bank` list holds only banks ({kinds['bank_lists']} lists) | "
        f"{'yes' if kinds['bank_lists_pure'] else 'NO'} |",
        f"| lists with two items carrying the same reason set | {kinds['lists_with_a_repeated_reason_set']} |",
        "",
        f"HTTP: `roadshow serve --workers 1` (one ranking process, `ROADSHOW_RANKING_PROCESSES`) over the "
        f"{http['world']} world ({http['startups']:,} startups, "
        f"{http['investors']:,} investors and banks) on {http['backend']}, model from "
        f"`roadshow train --model {http['model']}`; "
        f"{http['seconds_per_run']:.0f} s per run, an asyncio load generator on the same 2-core machine. "
        f"Reference timing (1,500² float64 matrix product, median of 5): {http['reference_ms'][0]:.0f} ms before, "
        f"{http['reference_ms'][1]:.0f} ms after; 1-minute load average {load['before']:.1f} before, "
        f"{load['after_health_alone']:.1f} after health alone, {load['after_health_under_load']:.1f} after health "
        "under load (the machine is shared).",
        "",
        "| request | clients | req/s | p50 ms | p95 ms | p99 ms | errors |",
        "|---|---|---|---|---|---|---|",
        f"| `GET /api/investors/{{id}}/matches?k=10` | 1 | {one['rate_per_s']:.0f} | {one['p50_ms']:.1f} | "
        f"{one['p95_ms']:.1f} | {one['p99_ms']:.1f} | {one['errors']:.0f} |",
        f"| same | 4 | {four['rate_per_s']:.0f} | {four['p50_ms']:.1f} | {four['p95_ms']:.1f} | "
        f"{four['p99_ms']:.1f} | {four['errors']:.0f} |",
        f"| `GET /health` idle | 8 | {alone['rate_per_s']:.0f} | {alone['p50_ms']:.1f} | {alone['p95_ms']:.1f} | "
        f"{alone['p99_ms']:.1f} | {alone['errors']:.0f} |",
        f"| `GET /health` with {IN_FLIGHT} investor rankings in flight | 8 | {under['rate_per_s']:.0f} | "
        f"{under['p50_ms']:.1f} | {under['p95_ms']:.1f} | {under['p99_ms']:.1f} | {under['errors']:.0f} |",
        f"| the {IN_FLIGHT} rankings meanwhile | {IN_FLIGHT} | {heavy['rate_per_s']:.0f} | {heavy['p50_ms']:.1f} | "
        f"{heavy['p95_ms']:.1f} | {heavy['p99_ms']:.1f} | {heavy['errors']:.0f} |",
        "",
        f"Investor-side p95 with one client: {one['p95_ms']:.1f} ms (target ≤ 50 ms: {'met' if met else 'NOT met'}). "
        f"Health keeps **{http['health_ratio']:.0%}** of its idle rate while {IN_FLIGHT} rankings are in flight "
        f"(target ≥ 80 %: {'met' if http['health_ratio'] >= 0.8 else 'NOT met'}; the median of {ROUNDS} alternated "
        f"rounds, each {', '.join(f'{r:.0%}' for r in http['health_ratios'])}, the table's rows are that round's); "
        f"the {IN_FLIGHT} rankings meanwhile "
        f"got {heavy['rate_per_s']:.0f}/s through at p50 {heavy['p50_ms']:.0f} ms (one client alone: "
        f"{one['rate_per_s']:.0f}/s). Candidate generation then re-rank: one investor's list scores every startup "
        "with the cheap linear stage over a pool of startups encoded once per model and profile change (that "
        "investor's text and co-investment columns made dense, the two text similarities combined before the "
        "product: one sparse-matrix × vector product over the pool), then re-ranks the best 100 with the trees. "
        "That work runs in a worker process that keeps the serving model and the pool between requests "
        "(`api.services.compute`), at a lower CPU priority than the event loop (`ROADSHOW_RANKING_NICENESS`, "
        "default 15), one ranking at a time per process (the others wait in the event loop at no cost). "
        "The request itself reads nothing from the database: the startups' names and the roster come from the "
        "match book's one-second sync (`api.services.matches.MatchBook`); with one transaction per request for "
        "them (before 2026-12-08) the event loop spent 4.7–5.3 ms of CPU per investor's list against 1.9–2.0 ms "
        "now, and this bench showed health at 78 % (73–83 % in repeated runs of the same harness). "
        "The session before these two changes (same bench, load about 5): one client p50 35.6 ms, "
        "p95 60.6 ms; health kept 35 % of its idle rate under 8 rankings.",
    ])


def main(results_dir: Path, quick: bool) -> str:
    kinds = _kinds_section()
    http = _http_section(quick)
    (results_dir / "lists.json").write_text(json.dumps({"kinds": kinds, "http": http}, indent=2), encoding="utf-8")
    print(f"banks in top 10: {kinds['banks_share_of_top10']:.1%}; investor matches p95 "
          f"{http['investor_matches_1_client']['p95_ms']:.1f} ms; health ratio {http['health_ratio']:.2f}")
    return _markdown(kinds, http, quick)


if __name__ == "__main__":
    out = ROOT / "bench" / "results"
    out.mkdir(parents=True, exist_ok=True)
    print(main(out, quick="--quick" in sys.argv))
