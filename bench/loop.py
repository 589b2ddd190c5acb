"""Learning from outcomes (issue 14): does the ranker get better at each next roadshow as outcomes accumulate?

**Replay through the HTTP API.** A generated world's history before ``YEAR`` is imported (``roadshow
import``) and a first version trained as of the first roadshow (``POST /api/models/train``, a job). Then
each of the year's roadshows is run as the product runs one, through a Litestar test client of the real
app: the organiser creates it (``POST /api/events``, the pitching startups and the institutions that came),
every participant states its wishes drawn from its hidden utility (``PUT …/participants/{id}/wishes``;
each receiver accepts its first two requests it did not refuse), the grid is solved by the serving model
(``POST …/schedule``, a job), what happened at the planned meetings is drawn from the truth and reported (``POST
…/outcomes/batch``), and a retrain runs as a job as of the next roadshow (the registry's champion/challenger
rule decides whether it serves).

**What is scored.** Before each roadshow, for each pitching startup, the top 10 of ``GET
/api/startups/{id}/matches`` served by the current version, and by version 1 (the model never retrained,
served by pinning it for its turn). Relevance does not depend on either model's schedule: every pitching
startup × institution at that roadshow gets a counterfactual outcome drawn from the truth (the history's
own outcome model, a seed per roadshow, no no-shows); gains are ``interested`` 1, ``intent_signed`` 2,
``invested`` 3 (``relevant_pairs``), pairs that had met before excluded. NDCG@10 per startup, and the
paired difference (retrained − never retrained) with its standard error over every startup scored,
over ``SEEDS`` worlds.

**Retrain as a job, and the API meanwhile.** A live ``roadshow serve`` on the medium world: a first
version as of 2025-10-01, then a retrain as of 2026-01-01 from ``POST /api/models/train``, timed from the
job's start to its end; ``GET /health`` on 8 keep-alive connections for 5 s before it, in 3 s windows
during its first 30 s (then the API is left idle, as it mostly is), and 5 s after.
"""

from __future__ import annotations

import asyncio
import json
import math
import os
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from dataclasses import replace
from datetime import date, datetime
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

from bench.api import _free_port, _load, _roadshow
from matcher.io import DataSet, read_data_dir, write_data_dir
from matcher.ranking.metrics import relevant_pairs
from matcher.synthetic import (
    Truth,
    draw_wishes,
    generate,
    read_truth,
    roadshow_event,
    simulate_meeting_outcomes,
    write_world,
)

ROOT = Path(__file__).resolve().parent.parent
PLOT = ROOT / "docs" / "loop.png"
YEAR = 2025
SEEDS = (7, 8)
QUICK_SEEDS = (7,)
K = 10
PORT = 8140  # this area's port (8140-8149); another is chosen when it is taken
JOB_TIMEOUT = 1800.0
# The medium world's first version: the product's default recipe, so the retrain judges a self-tuned champion
# as it will in use. The job then self-tunes the learned recipe twice, in two processes side by side: its
# backtest (then that choice refitted as stale at the hold-out as the champion is now, not tuned again) and the
# version that serves (then the default-risk model).
FIRST_MODEL = "learned"
DURING_WINDOWS = 10  # /health is measured in the retrain's first 30 s, then the API is left idle
ACCEPTS = 2  # meeting requests one participant accepts at a roadshow


# --- the replay through the API ---------------------------------------------------------------------

def _history(world: Path, out: Path) -> DataSet:
    """The world as the zone knew it before ``YEAR``: its records up to then, the year's roadshows not yet held."""
    data = read_data_dir(world)
    first = date(YEAR, 1, 1)
    known = replace(data, interactions=data.interactions.filter(pl.col("occurred_on") < first),
                    events=data.events.filter(pl.col("held_on") < first))
    write_data_dir(known, out)
    return data


class _Client:
    """The organiser's calls, each checked (a failed call stops the benchmark with the API's answer)."""

    def __init__(self, client: Any, key: str) -> None:
        self.http = client
        self.headers = {"Authorization": f"Bearer {key}"}

    def call(self, method: str, path: str, body: Any = None, expect: tuple[int, ...] = (200, 201, 202)) -> Any:
        response = self.http.request(method, path, json=body, headers=self.headers)
        if response.status_code not in expect:
            raise RuntimeError(f"{method} {path}: {response.status_code} {response.text[:500]}")
        return response.json()

    def job(self, job: dict[str, Any]) -> dict[str, Any]:
        deadline = time.monotonic() + JOB_TIMEOUT
        while job["status"] in ("queued", "running"):
            if time.monotonic() > deadline:
                raise RuntimeError(f"job {job['job_id']} still {job['status']} after {JOB_TIMEOUT:.0f} s")
            time.sleep(0.2)
            job = self.call("GET", f"/api/jobs/{job['job_id']}")
        if job["status"] != "done":
            raise RuntimeError(f"job {job['job_id']} {job['status']}: {job.get('error')}")
        return job

    def retrain(self, as_of: date) -> dict[str, Any]:
        started = time.perf_counter()
        job = self.job(self.call("POST", "/api/models/train", {"ranking_model": "learned", "as_of": as_of.isoformat()}))
        return {**job["result"], "seconds": time.perf_counter() - started}

    def top(self, startups: list[str]) -> tuple[int, dict[str, list[str]]]:
        lists, version = {}, -1
        for sid in startups:
            got = self.call("GET", f"/api/startups/{sid}/matches?k={K}")
            lists[sid], version = [m["investor_id"] for m in got["items"]], got["model_version"]
        return version, lists


def _wishes(api: _Client, event: dict[str, Any], truth: Truth, rng: np.random.Generator) -> dict[str, int]:
    """Every participant's wishes, then the requests answered: each receiver accepts the first
    ``ACCEPTS`` it did not say no to and declines the rest (its agenda has room for only so many musts)."""
    event_id = event["event_id"]
    mine: dict[str, list[dict[str, str]]] = defaultdict(list)
    refused: set[tuple[str, str]] = set()
    requests: list[tuple[str, str]] = []  # (receiver, sender)
    for w in draw_wishes(truth, event, rng):
        me, other = (w.startup_id, w.investor_id) if w.by == "startup" else (w.investor_id, w.startup_id)
        mine[me].append({"counterpart_id": other, "kind": w.kind})
        if w.kind == "no":
            refused.add((me, other))
        elif w.kind == "must":
            requests.append((other, me))
    for participant, items in mine.items():
        api.call("PUT", f"/api/events/{event_id}/participants/{participant}/wishes", {"wishes": items})
    accepted = 0
    taken: dict[str, int] = defaultdict(int)
    for receiver, sender in requests:
        answer = "declined" if (receiver, sender) in refused or taken[receiver] >= ACCEPTS else "accepted"
        taken[receiver] += answer == "accepted"
        api.call("PUT", f"/api/events/{event_id}/participants/{receiver}/requests/{sender}", {"answer": answer})
        accepted += answer == "accepted"
    kinds = [i["kind"] for items in mine.values() for i in items]
    return {"must": kinds.count("must"), "wish": kinds.count("wish"), "no": kinds.count("no"), "accepted": accepted}


def _reports(outcomes: pl.DataFrame) -> list[dict[str, Any]]:
    """Simulated meeting outcomes as the reports a roadshow's participants make (an investment after its intent)."""
    items: list[dict[str, Any]] = []
    for r in outcomes.iter_rows(named=True):
        pair = {"startup_id": r["startup_id"], "investor_id": r["investor_id"]}
        if r["no_show"] is not None:
            items.append({**pair, "outcome": "no_show", "no_show": r["no_show"]})
        elif r["outcome"] in ("intent_signed", "invested"):
            items.append({**pair, "outcome": "intent_signed", "amount_wan": r["amount_wan"],
                          "on": r["signed_on"].isoformat()})
            if r["outcome"] == "invested":
                items.append({**pair, "outcome": "invested", "amount_wan": r["amount_wan"],
                              "on": r["invested_on"].isoformat()})
        else:
            items.append({**pair, "outcome": "held" if r["outcome"] == "met" else r["outcome"]})
    return items


def _relevance(truth: Truth, event: dict[str, Any], day: date, seen: pl.DataFrame, seed: int) -> pl.DataFrame:
    """Counterfactual gains at one roadshow: every pitching startup × institution there, had they met."""
    grid = pl.DataFrame({"startup_id": [s["startup_id"] for s in event["startups"]]}).join(
        pl.DataFrame({"investor_id": [i["investor_id"] for i in event["investors"]]}), how="cross")
    drawn = simulate_meeting_outcomes(truth, grid, day, np.random.default_rng(seed), no_show_rate=0.0)
    rows = drawn.with_columns(occurred_on=pl.lit(day))
    interactions = pl.concat([seen, rows.select(seen.columns)])
    data = DataSet(startups=grid.select("startup_id").unique(), investors=grid.select("investor_id").unique(),
                   interactions=interactions)
    return relevant_pairs(data, day).select("startup_id", "investor_id", "gain")


def _ndcg(lists: dict[str, list[str]], gains: pl.DataFrame) -> dict[str, float]:
    """NDCG@K per startup with at least one relevant institution at the roadshow."""
    out = {}
    for (sid,), part in gains.partition_by("startup_id", as_dict=True).items():
        gain = dict(zip(part["investor_id"], part["gain"], strict=True))
        dcg = sum(gain.get(i, 0.0) / math.log2(r + 2) for r, i in enumerate(lists.get(str(sid), [])[:K]))
        ideal = sum(g / math.log2(r + 2) for r, g in enumerate(sorted(gain.values(), reverse=True)[:K]))
        out[str(sid)] = dcg / ideal if ideal else 0.0
    return out


def _frozen_lists(api: _Client, serving: int, startups: list[str]) -> dict[str, list[str]]:
    """Version 1's lists, served through the API by pinning it for its turn (then the serving one again)."""
    if serving == 1:
        return api.top(startups)[1]
    api.call("POST", "/api/models/1/pin")
    version, lists = api.top(startups)
    api.call("POST", f"/api/models/{serving}/pin")
    api.call("POST", "/api/models/unpin")
    assert version == 1, version
    return lists


def replay(seed: int) -> dict[str, Any]:
    from litestar.testing import TestClient

    from api.app import create_app
    from api.settings import Settings

    with tempfile.TemporaryDirectory(prefix="bench-loop-") as tmp:
        home = Path(tmp)
        write_world(generate(seed, "small"), home / "world")
        data = _history(home / "world", home / "history")
        truth = read_truth(home / "world" / "truth")
        url = f"sqlite+aiosqlite:///{home / 'roadshow.db'}"
        env = {**os.environ, "DATABASE_URL": url, "ROADSHOW_DATA_DIR": str(home)}
        _roadshow(env, "import", str(home / "history"))
        key = _roadshow(env, "keys", "create", "--role", "organiser", "--name", "bench").strip().splitlines()[-1]
        # The replay's retrains compete evenly for the CPU (nice 0): the API's rate is measured apart.
        settings = Settings(database_url=url, data_dir=home, model_dir=home / "models", model_refresh_seconds=0.0,
                            retrain_on_outcomes=False, retrain_niceness=0)
        events = data.events.filter(pl.col("held_on").dt.year() == YEAR).sort("held_on")
        days = events["held_on"].to_list()
        rng = np.random.default_rng(seed)
        seen = data.interactions.filter(pl.col("occurred_on") < date(YEAR, 1, 1)).select(
            "startup_id", "investor_id", "occurred_on", "outcome")
        rows: list[dict[str, Any]] = []
        with TestClient(app=create_app(settings), raise_server_exceptions=False, timeout=JOB_TIMEOUT) as client:
            api = _Client(client, key)
            first = api.retrain(days[0])
            serving, retrain = first["version"], first
            for k, (event_id, day) in enumerate(zip(events["event_id"], days, strict=True)):
                event = roadshow_event(truth, event_id)
                startups = [s["startup_id"] for s in event["startups"]]
                version, retrained = api.top(startups)
                assert version == serving, (version, serving)
                never = _frozen_lists(api, serving, startups)
                gains = _relevance(truth, event, day, seen, seed * 1000 + k)
                a, b = _ndcg(retrained, gains), _ndcg(never, gains)
                api.call("POST", "/api/events", event)
                wishes = _wishes(api, event, truth, rng)
                api.job(api.call("POST", f"/api/events/{event_id}/schedule", {"time_limit": 30, "background": True})
                        ["job"])
                meetings = pl.DataFrame(api.call("GET", f"/api/events/{event_id}/meetings"))
                outcomes = simulate_meeting_outcomes(truth, meetings.select("startup_id", "investor_id"), day, rng)
                reports = _reports(outcomes)
                api.call("POST", f"/api/events/{event_id}/outcomes/batch", {"items": reports})
                rows.append({
                    "seed": seed, "event_id": event_id, "held_on": day.isoformat(), "serving_version": serving,
                    "decision": retrain["decision"], "reason": (retrain.get("evaluation") or {}).get("reason"),
                    "retrain_seconds": round(retrain["seconds"], 1), "startups_scored": len(a),
                    "ndcg_retrained": float(np.mean(list(a.values()))) if a else 0.0,
                    "ndcg_never_retrained": float(np.mean(list(b.values()))) if b else 0.0,
                    "per_startup": {sid: [a[sid], b[sid]] for sid in a},
                    "meetings": meetings.height, "reports": len(reports), "wishes": wishes,
                })
                print(f"   seed {seed} {event_id}: retrained (v{serving}, {retrain['decision']}) "
                      f"{rows[-1]['ndcg_retrained']:.4f}, never retrained {rows[-1]['ndcg_never_retrained']:.4f} "
                      f"on {len(a)} startups; {meetings.height} meetings, {len(reports)} reports", flush=True)
                seen = pl.concat([seen, _as_seen(outcomes, day)])
                if k + 1 < len(days):
                    retrain = api.retrain(days[k + 1])
                    if retrain["active"]:
                        serving = retrain["version"]
    return {"seed": seed, "rows": rows}


def _as_seen(outcomes: pl.DataFrame, day: date) -> pl.DataFrame:
    """The meetings of a roadshow as pairs that have met (what ``relevant_pairs`` leaves out afterwards)."""
    return outcomes.select("startup_id", "investor_id", occurred_on=pl.lit(day),
                           outcome=pl.col("outcome").fill_null("requested"))


def paired(replays: list[dict[str, Any]]) -> dict[str, Any]:
    """Retrained − never retrained over every startup scored after the first roadshow of each world."""
    diffs = [a - b for r in replays for row in r["rows"][1:] for a, b in row["per_startup"].values()]
    later = [row for r in replays for row in r["rows"][1:]]
    n = len(diffs)
    mean = float(np.mean(diffs)) if n else float("nan")
    se = float(np.std(diffs, ddof=1) / math.sqrt(n)) if n > 1 else float("nan")
    held = sum(row["ndcg_retrained"] >= row["ndcg_never_retrained"] - 1e-9 for row in later)
    return {"startups": n, "mean_difference": mean, "standard_error": se, "roadshows": len(later),
            "roadshows_held_or_better": held,
            "retrained_mean": float(np.mean([a for r in replays for row in r["rows"][1:]
                                             for a, _ in row["per_startup"].values()])) if n else float("nan"),
            "never_mean": float(np.mean([b for r in replays for row in r["rows"][1:]
                                         for _, b in row["per_startup"].values()])) if n else float("nan")}


# --- a medium-world retrain as a job, and /health meanwhile ------------------------------------------

def _port() -> int:
    import socket

    with socket.socket() as sock:
        try:
            sock.bind(("127.0.0.1", PORT))
        except OSError:
            return _free_port()
    return PORT


def _wait_health(base: str, server: subprocess.Popen[bytes], timeout: float = 600.0) -> None:
    import httpx

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise RuntimeError(f"roadshow serve exited with {server.returncode}")
        try:
            if httpx.get(f"{base}/health", timeout=5.0).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    raise RuntimeError("roadshow serve did not answer /health")


def _health(port: int, seconds: float) -> dict[str, float]:
    return asyncio.run(_load(port, lambda _: "/health", {}, seconds, 8))


def _ended_children_cpu(pid: int) -> float:
    """CPU seconds used by the processes ``pid`` started that have ended, theirs included (Linux: cutime +
    cstime of /proc/<pid>/stat). The retrain's processes end with the job; the server's ranking workers do not."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[13]) + int(fields[14])) / os.sysconf("SC_CLK_TCK")


def retrain_medium(quick: bool) -> dict[str, Any]:
    import httpx

    size = "small" if quick else "medium"
    with tempfile.TemporaryDirectory(prefix="bench-loop-medium-") as tmp:
        home = Path(tmp)
        world = generate(7, size)
        write_world(world, home / "world")
        env = {**os.environ, "DATABASE_URL": f"sqlite+aiosqlite:///{home / 'roadshow.db'}",
               "ROADSHOW_DATA_DIR": str(home), "ROADSHOW_RETRAIN_ON_OUTCOMES": "0"}
        env.pop("REDIS_URL", None)
        _roadshow(env, "import", str(home / "world"))
        first_started = time.perf_counter()
        _roadshow(env, "train", "--as-of", "2025-10-01", "--model", FIRST_MODEL)
        first_seconds = time.perf_counter() - first_started
        key = _roadshow(env, "keys", "create", "--role", "organiser", "--name", "bench").strip().splitlines()[-1]
        headers = {"Authorization": f"Bearer {key}"}
        port = _port()
        base = f"http://127.0.0.1:{port}"
        server = subprocess.Popen(
            [sys.executable, "-m", "roadshow", "serve", "--host", "127.0.0.1", "--port", str(port), "--workers", "1",
             "--no-access-log"], env=env, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            _wait_health(base, server)
            time.sleep(2.0)
            before = _health(port, 5.0)
            load_before = os.getloadavg()[0]
            cpu_before = _ended_children_cpu(server.pid)
            job = httpx.post(f"{base}/api/models/train", headers=headers, timeout=30.0,
                             json={"ranking_model": "learned", "as_of": "2026-01-01"}).json()
            during: list[dict[str, float]] = []
            while True:
                state = httpx.get(f"{base}/api/jobs/{job['job_id']}", headers=headers, timeout=30.0).json()
                if state["status"] not in ("queued", "running"):
                    break
                if state["status"] == "running" and len(during) < DURING_WINDOWS:
                    during.append(_health(port, 3.0))
                else:
                    time.sleep(0.5)
            load_during = os.getloadavg()[0]
            job_cpu = _ended_children_cpu(server.pid) - cpu_before
            after = _health(port, 5.0)
        finally:
            server.terminate()
            server.wait(timeout=60)
    if state["status"] != "done":
        raise RuntimeError(f"retrain job {state['status']}: {state.get('error')}")
    started = datetime.fromisoformat(state["started_at"])
    finished = datetime.fromisoformat(state["finished_at"])
    requests = sum(w["requests"] for w in during)
    seconds = sum(w["requests"] / w["rate_per_s"] for w in during if w["rate_per_s"])
    return {
        "world": size, "interactions": world.data.interactions.height, "first_model": FIRST_MODEL,
        "first_fit_seconds": round(first_seconds, 1),
        "job_seconds": round((finished - started).total_seconds(), 1), "job_cpu_seconds": round(job_cpu, 1),
        "decision": state["result"]["decision"], "reason": state["result"]["evaluation"]["reason"],
        "health_before": before, "health_during": {
            "windows": len(during), "rate_per_s": requests / seconds if seconds else float("nan"),
            "p99_ms": max((w["p99_ms"] for w in during), default=float("nan")),
            "errors": sum(w["errors"] for w in during)},
        "health_after": after, "load_before": load_before, "load_during": load_during,
    }


# --- report ------------------------------------------------------------------------------------------

def _plot(replays: list[dict[str, Any]]) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(replays), figsize=(4.2 * len(replays), 3.4), sharey=True, squeeze=False)
    for ax, r in zip(axes[0], replays, strict=True):
        labels = [row["held_on"][5:] for row in r["rows"]]
        ax.plot(labels, [row["ndcg_retrained"] for row in r["rows"]], marker="o", label="retrained after each")
        ax.plot(labels, [row["ndcg_never_retrained"] for row in r["rows"]], marker="s", linestyle="--",
                label="version 1, never retrained")
        ax.set_title(f"world seed {r['seed']}")
        ax.set_xlabel(f"roadshow of {YEAR} (month-day)")
        ax.grid(alpha=0.3)
        ax.tick_params(axis="x", labelrotation=45)
    axes[0][0].set_ylabel(f"NDCG@{K} at that roadshow")
    axes[0][0].set_ylim(bottom=0)
    axes[0][0].legend(fontsize=8)
    fig.tight_layout()
    PLOT.parent.mkdir(exist_ok=True)
    fig.savefig(PLOT, dpi=100)
    plt.close(fig)


_HEADER = (f"| world | roadshow | startups scored | NDCG@{K} retrained | NDCG@{K} never retrained | "
           "serving (last retrain) | meetings / reports | retrain s |\n|---|---|---|---|---|---|---|---|")


def _markdown(replays: list[dict[str, Any]], summary: dict[str, Any], medium: dict[str, Any],
              replay_seconds: float, load: float) -> str:
    table = "\n".join(
        f"| {row['seed']} | {row['event_id']} | {row['startups_scored']} | {row['ndcg_retrained']:.4f} | "
        f"{row['ndcg_never_retrained']:.4f} | v{row['serving_version']} ({row['decision']}) | "
        f"{row['meetings']} / {row['reports']} | {row['retrain_seconds']:.0f} |"
        for r in replays for row in r["rows"])
    hb, hd, ha = medium["health_before"], medium["health_during"], medium["health_after"]
    verdict_ndcg = ("met" if summary["mean_difference"] >= -summary["standard_error"] else "not met")
    verdict_time = "met" if medium["job_seconds"] <= 60 else "not met"
    # CPU seconds do not depend on how busy the shared machine is, as wall time does (older records lack it).
    cpu = f", {medium['job_cpu_seconds']:.0f} CPU-s in its processes" if "job_cpu_seconds" in medium else ""
    first = medium.get("first_model", "popularity")  # older records: a popularity champion
    judged = ("; the job self-tunes the learned recipe twice, in two processes side by side: its backtest, then "
              "that choice refitted as stale at the hold-out as the champion is now (not tuned again); and the "
              "version that serves" if first == "learned" else
              "; the job self-tunes the learned recipe twice, in two processes side by side: its backtest, then the "
              "baseline refitted as stale at the hold-out; and the version that serves")
    return f"""## Learning from outcomes (issue 14)

`python -m bench.run --only loop` (the replay {replay_seconds:.0f} s; load average {load:.1f} on 2 cores).
Each world's {YEAR} roadshows replayed one by one **through the HTTP API** (a test client of the real app):
`roadshow import` of the history before {YEAR}, then per roadshow `POST /api/events`, every participant's
wishes from its hidden utility (`PUT …/participants/{{id}}/wishes`; each receiver accepts its first two
requests it did not refuse), `POST …/schedule` (a job; the serving model scores the grid), the planned
meetings' outcomes drawn from the truth and reported (`POST …/outcomes/batch`), and a retrain job as of the
next roadshow (`POST /api/models/train`; activated only if not worse on the newest outcomes by more than
0.02). Before each roadshow, the top {K} of `GET /api/startups/{{id}}/matches` for its startups from the
serving version and from version 1 (never retrained, pinned for its turn), scored against every startup ×
institution there had they met (a counterfactual draw from the truth, the same for both; pairs met before left
out).

![NDCG@{K} per roadshow, retrained vs never retrained]({PLOT.name})

{_HEADER}
{table}

Paired over the {summary['startups']} startups scored after each world's first roadshow
({summary['roadshows']} roadshows, {len(replays)} world(s)): retrained {summary['retrained_mean']:.4f}, never
retrained {summary['never_mean']:.4f}, difference
**{summary['mean_difference']:+.4f} ± {summary['standard_error']:.4f}** (standard error); retrained holds or
beats the frozen model at {summary['roadshows_held_or_better']} of the {summary['roadshows']} roadshows one by
one (each scores a few startups, so single points are noisy).

**Retrain as a job** on the {medium['world']} world ({medium['interactions']:,} interactions), live
`roadshow serve`, `POST /api/models/train` as of 2026-01-01 against a version fitted as of 2025-10-01:
**{medium['job_seconds']:.1f} s** from the job's start to its end{cpu} ({medium['decision']}: {medium['reason']});
the first version ({first}{judged}) took {medium['first_fit_seconds']:.0f} s through `roadshow train`
(load average {medium['load_before']:.1f} before, {medium['load_during']:.1f} at the end). `GET /health` on 8
connections: {hb['rate_per_s']:.0f} req/s before (p99 {hb['p99_ms']:.1f} ms), **{hd['rate_per_s']:.0f} req/s
during** the retrain (its first {hd['windows']} windows of 3 s, worst p99 {hd['p99_ms']:.1f} ms,
{hd['errors']:.0f} errors), {ha['rate_per_s']:.0f} after; the job reads the database and fits in child
processes at nice 10 (the default) with one BLAS/OpenMP thread each, so the API's process only waits.
"Before" starts 2 s after `/health` first answers, while the server still ranks every startup of the world
for its precomputed lists, which likely holds that rate down.

**Why the earlier replay had retraining lose** (library calls, the world's own recorded meetings as the
truth: −0.053 on average, behind at the last two roadshows). Three things, found this session:
(1) the champion/challenger gate compared nothing: a champion fitted after the hold-out began was refitted
*before the hold-out*, which for the same recipe is the challenger's own backtest, so every retrain was a tie
("0.0638 against 0.0638") and activated whatever it did; the champion is now refitted as stale at the
hold-out as it is at the retrain (`matcher/ranking/champion.py`), and the choice judged is the registry's
own, a fresh fit against keeping the old one. Judged that way, the fresh fit **loses** on the sample's
newest outcomes too (the small world, as of 2026-01-01 against a version of 2025-10-01: NDCG@10 0.1214
against 0.1591, rejected): fitting the self-tuned recipe on more recent outcomes does not rank the next
outcomes better here, which is the ranking recipe's matter (tuning and features), not the loop's; the gate
now keeps such a retrain from serving. (2) Each roadshow scores 7–14 startups: one point's standard error is
about 0.1, so single roadshows cannot tell the two apart; the paired difference over every startup scored
is what is reported. (3) The earlier truth was the meetings the generator's own guests chose (declared fit
plus noise), so it scored who would be met as much as who would engage; the replay above scores every
startup × institution at the roadshow instead, the same for both models.

Target status: NDCG@{K} at each next roadshow improves or holds: **{verdict_ndcg}** on the paired comparison
(the difference above against its standard error); retrain ≤ 60 s as a job: **{verdict_time}**.
"""


def main(results_dir: Path, quick: bool) -> str:
    results_dir.mkdir(parents=True, exist_ok=True)
    out = results_dir / "loop.json"
    medium = retrain_medium(quick)
    record: dict[str, Any] = {"quick": quick, "year": YEAR, "retrain_job": medium, "replays": []}
    out.write_text(json.dumps(record, indent=2, default=str), encoding="utf-8")
    started = time.perf_counter()
    for seed in QUICK_SEEDS if quick else SEEDS:
        record["replays"].append(replay(seed))
        out.write_text(json.dumps(record, indent=2, default=str), encoding="utf-8")  # kept as each world ends
    record |= {"replay_seconds": time.perf_counter() - started, "load_average": os.getloadavg()[0]}
    record["paired"] = paired(record["replays"])
    out.write_text(json.dumps(record, indent=2, default=str), encoding="utf-8")
    return report(record)


def report(record: dict[str, Any]) -> str:
    """The section from ``loop.json`` (also what re-renders it without re-running the benchmark)."""
    _plot(record["replays"])
    return _markdown(record["replays"], record["paired"], record["retrain_job"], record["replay_seconds"],
                     record["load_average"])
