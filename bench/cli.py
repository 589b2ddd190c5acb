"""Command-line start-up: what ``roadshow`` costs before it does any work, side by side with the
interpreter's own start-up in the same run.

Targets: ``roadshow --help`` ≤ 0.5 s and a tiny event (4 startups, 3 investors, 4 slots, scores given)
scheduled end to end, exports written, ≤ 1.5 s, on a 2-core machine. Every command runs as a fresh
process, the commands taking turns so a change in machine load touches them all alike; one untimed warm-up
round first (bytecode, disk cache). Wall time from spawn to exit; peak RSS of that process.
"""

from __future__ import annotations

import json
import math
import os
import statistics
import subprocess
import sys
import tempfile
from dataclasses import asdict, dataclass
from pathlib import Path

from matcher.scheduling.generate import generate_event

HELP_TARGET_S = 0.5
SCHEDULE_TARGET_S = 1.5


@dataclass
class Row:
    label: str
    command: str
    runs: int
    median_s: float
    p95_s: float
    peak_rss_mb: float
    target_s: float | None


# Runs one command and reports its wall time and peak RSS. A small process of its own, because a child's
# peak RSS counts the memory it shared with its parent before exec, and this benchmark's process is large.
_MEASURE = """
import json, os, subprocess, sys, time
started = time.perf_counter()
child = subprocess.Popen(sys.argv[1:], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
_, status, usage = os.wait4(child.pid, 0)
seconds = time.perf_counter() - started
child.returncode = os.waitstatus_to_exitcode(status)
print(json.dumps({"seconds": seconds, "rss_kib": usage.ru_maxrss, "code": child.returncode}))
"""


# As a user's shell runs it: bytecode is cached (the warm-up round writes it for the project's own modules).
_ENV = {name: value for name, value in os.environ.items() if name != "PYTHONDONTWRITEBYTECODE"}


def _run_once(argv: list[str]) -> tuple[float, float]:
    """Wall seconds and peak RSS (MB) of one run of ``argv``, which must succeed."""
    done = subprocess.run(
        [sys.executable, "-c", _MEASURE, *argv], capture_output=True, text=True, check=True, env=_ENV
    )
    measured = json.loads(done.stdout)
    if measured["code"] != 0:
        raise RuntimeError(f"{' '.join(argv)} exited with {measured['code']}")
    return measured["seconds"], measured["rss_kib"] / 1024  # Linux reports KiB


def _p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[max(0, math.ceil(0.95 * len(ordered)) - 1)]


def main(results_dir: Path, quick: bool) -> str:
    runs = 5 if quick else 20
    python = sys.executable
    roadshow = str(Path(python).with_name("roadshow"))
    with tempfile.TemporaryDirectory(prefix="bench-cli-") as tmp:
        event = Path(tmp) / "event.json"
        event.write_text(json.dumps(generate_event(4, 3, 4, seed=1), ensure_ascii=False), encoding="utf-8")
        cases: list[tuple[str, list[str], float | None]] = [
            ("Python start-up", [python, "-c", "pass"], None),
            ("import typer", [python, "-c", "import typer"], None),
            ("roadshow --help", [roadshow, "--help"], HELP_TARGET_S),
            ("roadshow --version", [roadshow, "--version"], HELP_TARGET_S),
            ("roadshow schedule, tiny event", [roadshow, "schedule", str(event), "--out", str(Path(tmp) / "out")],
             SCHEDULE_TARGET_S),
            ("(reference) import polars, scikit-learn, SciPy",
             [python, "-c", "import polars, sklearn.ensemble, scipy.optimize"], None),
        ]
        print(f"   cli: {len(cases)} commands × {runs} runs", flush=True)
        load_before = os.getloadavg()[0]
        for _, argv, _ in cases:
            _run_once(argv)
        samples: dict[str, list[tuple[float, float]]] = {label: [] for label, _, _ in cases}
        for _ in range(runs):
            for label, argv, _ in cases:
                samples[label].append(_run_once(argv))
        load_after = os.getloadavg()[0]
    rows = []
    for label, argv, target in cases:
        seconds = [s for s, _ in samples[label]]
        shown = " ".join(Path(a).name if a in (python, roadshow) else a for a in argv[:3])
        rows.append(Row(label, shown, runs, statistics.median(seconds), _p95(seconds),
                        max(rss for _, rss in samples[label]), target))
    results_dir.mkdir(parents=True, exist_ok=True)
    (results_dir / "cli.json").write_text(
        json.dumps({"quick": quick, "load_average": [load_before, load_after], "rows": [asdict(r) for r in rows]},
                   indent=2),
        encoding="utf-8",
    )

    base = rows[0].median_s
    lines = [
        "## Command-line start-up",
        "",
        f"`python -m bench.run --only cli`: each command as a fresh process, {runs} runs each, the commands "
        "taking turns, after one untimed warm-up round. The tiny event is `generate_event(4, 3, 4, seed=1)` "
        "with its scores, so no model is fitted; it writes all exports. Raw: `bench/results/cli.json`. "
        f"Machine load average (1 min) {load_before:.1f} before and {load_after:.1f} after the timed rounds: "
        "on a busy machine every row, `python -c pass` included, is slower alike.",
        "",
        "| command | median s | p95 s | over Python start-up s | peak RSS MB | target | met |",
        "|---|---:|---:|---:|---:|---:|---|",
    ]
    for r in rows:
        met = "" if r.target_s is None else ("yes" if r.median_s <= r.target_s else "**no**")
        target = "" if r.target_s is None else f"≤ {r.target_s:g} s"
        lines.append(f"| {r.label} | {r.median_s:.3f} | {r.p95_s:.3f} | {r.median_s - base:+.3f} | "
                     f"{r.peak_rss_mb:.0f} | {target} | {met} |")
    lines += [
        "",
        "`--help` and `--version` load typer and the command signatures only; a command imports what it "
        "uses when it runs (the reference row is what every start-up paid before). The tiny schedule loads "
        "NumPy, HiGHS (highspy), polars, openpyxl, icalendar and jinja2, and SQLAlchemy for two queries of the "
        "participants' names in the configured database; no SciPy, scikit-learn, Alembic or Litestar.",
    ]
    return "\n".join(lines)
