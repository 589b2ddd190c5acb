"""Eligibility benchmark (issues 5, 10): the PD model against three peers on temporal hold-outs of
several loan books, and what the service really runs, timed.

Protocols (each: fit on the earlier loans, judge on the later ones; every model sees the same loans and
the same feature frame, ``matcher.eligibility.loan_features``, minus columns empty or constant there):
- **sample world** ``matcher.synthetic.generate(SEED, "large")`` (``medium`` with ``--quick``): trained
  on loans issued before ``CUT``, tested on later loans whose term ended by the end of the history (all
  of them have an observed outcome); its ``truth/loans`` gives each loan's true PD, so the AUC of the
  true PDs is the ceiling. Targets: AUC within 0.02 of the truth's, ECE ≤ 0.02.
- **SBA-shaped books** (``bench/sba_book.py``: the shape and published default structure of the U.S.
  SBA 7(a) loan data, documented there): two seeds of the full book (NAICS code, state, city, bank,
  head count, firm age, term, amount, date) and the five-column book (amount, date, outcome). The
  latest 20 % of loans by approval date are held out. Target: AUC ≥ the best peer's and Brier ≤ every
  peer's.

Peers: a **tuned HistGradientBoosting** (native categoricals over the 254 most frequent levels; leaves,
leaf size, learning rate and L2 chosen, and the number of trees read off the validation curve, on the
same temporal validation split our model uses, then refitted on all training loans), an **optbinning
scorecard** (optimal WoE binning + logistic regression) and a **logistic regression** (median
imputation with missing flags, standardisation, one-hot categories with rare levels pooled).

Metrics: ROC AUC, Brier score, expected calibration error over 10 equal-count bins of predicted PD
(PDs crowd near zero; equal-width bins would hide miscalibration there), log-loss.

Speed: 100,000 startups for one product through ``assess_frame`` (the large world's firms repeated
under new ids), and one decision over HTTP: ``POST /api/eligibility`` against ``roadshow serve`` on
loopback over the sample world in SQLite, sequential requests from one client, p50 and p95. Each is
reported with its CPU time (the batch's process, the server's per request, every thread counted) and
beside a fixed reference workload timed in the same run: on a machine shared with other jobs the wall
time says how busy the machine was, the CPU time what the work costs.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import polars as pl
from sklearn.metrics import brier_score_loss, log_loss, roc_auc_score

from bench.sba_book import write_book
from matcher.eligibility import PDModel, assess_frame, default_policy, prior_model
from matcher.eligibility.loan_features import CATEGORICAL_FEATURES, FEATURES, training_set
from matcher.eligibility.pd_model import recent_outcomes_complete
from matcher.eligibility.report import ece
from matcher.io import DataSet, read_data_dir
from matcher.synthetic import HISTORY_END, generate

SEED = 20260501
CUT = date(2024, 7, 1)
SPEED_FIRMS = 100_000
HTTP_REQUESTS = 300
HOLDOUT_SHARE = 0.2
FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
ROOT = Path(__file__).resolve().parent.parent


# --- peers -----------------------------------------------------------------------------------------


def _usable(train: pl.DataFrame) -> list[str]:
    """The columns any modeller would keep: not empty, not constant on the training loans."""
    keep = []
    for c in FEATURES:
        col = train[c]
        present = col.drop_nulls()
        if col.dtype == pl.Float64:
            present = present.drop_nans()
        if present.len() and (present.n_unique() > 1 or present.len() < train.height):
            keep.append(c)
    return keep


def _pandas(features: pl.DataFrame, columns: list[str]) -> Any:
    import pandas as pd

    out: dict[str, Any] = {}
    for c in columns:
        if c in CATEGORICAL_FEATURES:
            out[c] = features[c].fill_null("missing").to_numpy().astype(str)
        else:
            out[c] = features[c].cast(pl.Float64).fill_null(np.nan).to_numpy()
    return pd.DataFrame(out)


def _logistic(train: pl.DataFrame, y: IntArray, columns: list[str]) -> Any:
    from sklearn.compose import ColumnTransformer
    from sklearn.impute import SimpleImputer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    numeric = [c for c in columns if c not in CATEGORICAL_FEATURES]
    categorical = [c for c in columns if c in CATEGORICAL_FEATURES]
    prep = ColumnTransformer([
        ("num", make_pipeline(SimpleImputer(strategy="median", add_indicator=True), StandardScaler()), numeric),
        ("cat", OneHotEncoder(handle_unknown="infrequent_if_exist", min_frequency=20), categorical),
    ])
    model = make_pipeline(prep, LogisticRegression(max_iter=3000))
    model.fit(_pandas(train, columns), y)
    return lambda frame: model.predict_proba(_pandas(frame, columns))[:, 1]


def _scorecard(train: pl.DataFrame, y: IntArray, columns: list[str]) -> Any:
    from optbinning import BinningProcess, Scorecard
    from sklearn.linear_model import LogisticRegression

    categorical = [c for c in columns if c in CATEGORICAL_FEATURES]
    process = BinningProcess(columns, categorical_variables=categorical)
    card = Scorecard(binning_process=process, estimator=LogisticRegression(max_iter=3000))
    card.fit(_pandas(train, columns), y)
    return lambda frame: card.predict_proba(_pandas(frame, columns))[:, 1]


class _Ordinal:
    """Category → code over the 254 most frequent training levels (HistGradientBoosting's limit is 255)."""

    def __init__(self, train: pl.DataFrame, columns: list[str]) -> None:
        self.columns = columns
        self.codes = {c: {v: float(i) for i, v in enumerate(
            train[c].drop_nulls().value_counts(sort=True)[c].head(254).to_list())} for c in columns
            if c in CATEGORICAL_FEATURES}

    def __call__(self, frame: pl.DataFrame) -> FloatArray:
        cols = []
        for c in self.columns:
            if c in self.codes:
                cols.append(frame[c].replace_strict(self.codes[c], default=None, return_dtype=pl.Float64)
                            .fill_null(np.nan).to_numpy())
            else:
                cols.append(frame[c].cast(pl.Float64).fill_null(np.nan).to_numpy())
        return np.column_stack(cols)


def _tuned_hgb(train: pl.DataFrame, y: IntArray, issued: pl.Series, columns: list[str]) -> tuple[Any, dict[str, Any]]:
    from sklearn.ensemble import HistGradientBoostingClassifier

    days = issued.cast(pl.Date).to_physical().to_numpy()
    val = days >= np.quantile(days, 1 - HOLDOUT_SHARE)
    encode = _Ordinal(train.filter(pl.Series(~val)), columns)
    x_tr, x_val = encode(train.filter(pl.Series(~val))), encode(train.filter(pl.Series(val)))
    mask = [c in CATEGORICAL_FEATURES for c in columns]
    x_tr = np.where(np.isnan(x_tr).all(axis=0, keepdims=True), 0.0, x_tr)
    best: tuple[float, dict[str, Any]] | None = None
    grid = itertools.product((8, 31), (20, 100), (0.1,), (0.0, 1.0))
    for leaves, leaf, rate, l2 in grid:
        params = {"max_leaf_nodes": leaves, "min_samples_leaf": leaf, "learning_rate": rate, "l2_regularization": l2}
        booster = HistGradientBoostingClassifier(max_iter=300, early_stopping=False, categorical_features=mask,
                                                 random_state=0, **params).fit(x_tr, y[~val])
        curve = [log_loss(y[val], p[:, 1], labels=[0, 1]) for p in booster.staged_predict_proba(x_val)]
        k = int(np.argmin(curve))
        if best is None or curve[k] < best[0]:
            best = (curve[k], {**params, "max_iter": k + 1})
    assert best is not None
    encode_all = _Ordinal(train, columns)
    x_all = encode_all(train)
    x_all = np.where(np.isnan(x_all).all(axis=0, keepdims=True), 0.0, x_all)
    final = HistGradientBoostingClassifier(early_stopping=False, categorical_features=mask, random_state=0,
                                           **best[1]).fit(x_all, y)
    return (lambda frame: final.predict_proba(encode_all(frame))[:, 1]), best[1]


def _metrics(name: str, pd: FloatArray, y: IntArray, fit_s: float | None, **extra: Any) -> dict[str, Any]:
    return {"model": name, "auc": float(roc_auc_score(y, pd)), "brier": float(brier_score_loss(y, pd)),
            "ece": ece(pd, y), "log_loss": float(log_loss(y, np.clip(pd, 1e-9, 1 - 1e-9), labels=[0, 1])),
            "mean_pd": float(pd.mean()), "fit_seconds": fit_s, **extra}


def _compare(train: pl.DataFrame, y: IntArray, issued: pl.Series, test: pl.DataFrame, y_test: IntArray,
             *, recent_complete: bool) -> tuple[list[dict[str, Any]], PDModel]:
    from matcher.eligibility.pd_model import _one_thread

    rows = []
    started = time.perf_counter()
    ours = PDModel().fit(train, y, issued, recent_outcomes_complete=recent_complete)
    rows.append(_metrics("ours (WoE + chosen form + Platt)", ours.predict_pd(test), y_test,
                         time.perf_counter() - started, form=ours.chosen_))
    columns = _usable(train)
    with _one_thread():
        started = time.perf_counter()
        hgb, params = _tuned_hgb(train, y, issued, columns)
        rows.append(_metrics("tuned HistGradientBoosting", hgb(test), y_test, time.perf_counter() - started,
                             params=params))
        for name, fit in (("optbinning scorecard", _scorecard), ("logistic regression", _logistic)):
            started = time.perf_counter()
            predict = fit(train, y, columns)
            rows.append(_metrics(name, predict(test), y_test, time.perf_counter() - started))
    return rows, ours


# --- protocols -------------------------------------------------------------------------------------


def _sample_world(size: str) -> dict[str, Any]:
    world = generate(SEED, size)
    data, policy = world.data, default_policy()
    # Every labelled loan: the test loans are picked below (term ended), not by the maturity rule.
    everything = training_set(data.startups, data.ip_assets, data.loans, as_of=HISTORY_END + timedelta(days=1),
                              policy=policy, mature_only=False)
    loans = everything.loan_id.to_frame().join(data.loans, on="loan_id", how="left", maintain_order="left")
    ends = loans.select(pl.col("issued_on").dt.offset_by(pl.format("{}mo", pl.col("term_months"))))[:, 0]
    test_mask = ((everything.issued_on >= CUT) & (ends <= HISTORY_END)).to_numpy()
    test, y_test = everything.features.filter(pl.Series(test_mask)), everything.defaulted[test_mask]
    truth = everything.loan_id.to_frame().join(world.truth["loans"], on="loan_id", how="left", maintain_order="left")
    train = training_set(data.startups, data.ip_assets, data.loans, as_of=CUT, policy=policy)
    complete = recent_outcomes_complete(data.loans, train.issued_on, CUT, PDModel().validation_share)
    rows, ours = _compare(train.features, train.defaulted, train.issued_on, test, y_test, recent_complete=complete)
    rows.insert(0, _metrics("true PD (truth/)", truth["true_pd"].to_numpy()[test_mask], y_test, None))
    rows.append(_metrics("prior (other seed, no retraining)", prior_model().predict_pd(test), y_test, None))
    return {"book": f"sample world {size} (seed {SEED})",
            "split": f"trained before {CUT}, tested on later loans whose term ended by {HISTORY_END}",
            "train_loans": len(train.defaulted), "test_loans": int(test_mask.sum()),
            "test_default_rate": float(y_test.mean()), "rows": rows, "card": ours.card(), "data": data}


def _book(path: Path, label: str) -> dict[str, Any]:
    data = read_data_dir(path)
    ts = training_set(data.startups, data.ip_assets, data.loans, as_of=None, policy=default_policy())
    days = ts.issued_on.cast(pl.Date).to_physical().to_numpy()
    cut = np.quantile(days, 1 - HOLDOUT_SHARE)
    test = days >= cut
    cut_day = date(1970, 1, 1) + timedelta(days=int(cut))
    train_f = ts.features.filter(pl.Series(~test))
    train_issued = ts.issued_on.filter(pl.Series(~test))
    complete = recent_outcomes_complete(data.loans, train_issued, cut_day, PDModel().validation_share)
    rows, ours = _compare(train_f, ts.defaulted[~test], train_issued, ts.features.filter(pl.Series(test)),
                          ts.defaulted[test], recent_complete=complete)
    truth = pl.read_csv(path / "truth" / "loans.csv")
    true_pd = ts.loan_id.to_frame().join(truth, on="loan_id", how="left", maintain_order="left")["true_pd"].to_numpy()
    rows.insert(0, _metrics("true PD (generator)", true_pd[test], ts.defaulted[test], None))
    # The test loans ranked by the amount alone (smaller riskier): on a book that has only the amount,
    # every model monotone in it ranks the test window alike, so this is its AUC ceiling there.
    amount = ts.features["amount_wan"].cast(pl.Float64).fill_null(np.nan).to_numpy()[test]
    amount_auc = float(roc_auc_score(ts.defaulted[test], -np.nan_to_num(amount, nan=np.nanmedian(amount))))
    return {"book": label, "split": f"latest {HOLDOUT_SHARE:.0%} by approval date held out (from {cut_day})",
            "amount_only_auc": amount_auc,
            "train_loans": int((~test).sum()), "test_loans": int(test.sum()),
            "test_default_rate": float(ts.defaulted[test].mean()), "rows": rows, "card": ours.card()}


# --- speed -----------------------------------------------------------------------------------------


def _reference() -> dict[str, float]:
    """A fixed workload (sort 2 million floats, sha256 of 200,000 short strings), best of three: its
    wall time against its CPU time says how much of the machine this run had."""
    rng = np.random.default_rng(0)
    values = rng.random(2_000_000)
    texts = [f"firm-{k}".encode() for k in range(200_000)]
    best: tuple[float, float] | None = None
    for _ in range(3):
        wall, cpu = time.perf_counter(), time.process_time()
        np.sort(values)
        for t in texts:
            hashlib.sha256(t).hexdigest()
        run = (time.perf_counter() - wall, time.process_time() - cpu)
        best = run if best is None or run[0] < best[0] else best
    assert best is not None
    return {"wall_seconds": best[0], "cpu_seconds": best[1]}


def _server_cpu(pid: int) -> float | None:
    """CPU seconds (user + system, all threads) of a process so far; None off Linux."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _batch_speed(data: DataSet, model: PDModel) -> dict[str, dict[str, float]]:
    reps = -(-SPEED_FIRMS // data.startups.height)
    startups = pl.concat([data.startups.with_columns(pl.col("startup_id") + f"-{k}") for k in range(reps)])
    ips = pl.concat([data.ip_assets.with_columns(pl.col("startup_id") + f"-{k}") for k in range(reps)])
    startups = startups.head(SPEED_FIRMS)
    big = DataSet(startups=startups, ip_assets=ips.filter(pl.col("startup_id").is_in(startups["startup_id"].implode())))
    out: dict[str, dict[str, float]] = {}
    for product in ("knowledge_value_credit", "ip_pledge", "other"):
        started, cpu = time.perf_counter(), time.process_time()
        assess_frame(big, product=product, as_of=HISTORY_END, model=model)
        out[product] = {"wall_seconds": time.perf_counter() - started, "cpu_seconds": time.process_time() - cpu}
    return out


def _http_speed(requests: int) -> dict[str, Any]:
    """p50/p95 of one ``POST /api/eligibility`` against ``roadshow serve`` over the shipped sample."""
    import httpx

    from bench.api import _free_port, _roadshow, _wait_ready

    data = read_data_dir(ROOT / "data" / "sample")
    consents = data.consents.filter(pl.col("revoked_on").is_null())
    products = data.loan_products.join(consents, on="bank_id", how="inner")
    bank = products.group_by("bank_id").len().sort("len", descending=True)["bank_id"][0]
    product = products.filter(pl.col("bank_id") == bank)["product_id"][0]
    firms = consents.filter(pl.col("bank_id") == bank)["startup_id"].unique().sort().to_list()
    with tempfile.TemporaryDirectory(prefix="bench-eligibility-") as tmp:
        env = {**os.environ, "ROADSHOW_DATA_DIR": str(Path(tmp) / "var"), "DATABASE_URL": "",
               "ROADSHOW_ENV": "development"}
        _roadshow(env, "import", str(ROOT / "data" / "sample"))
        _roadshow(env, "train")
        key = _roadshow(env, "keys", "create", "--role", "bank", "--name", "bench", "--bank-id", bank)
        key = key.strip().splitlines()[-1].split()[-1]
        port = _free_port()
        base = f"http://127.0.0.1:{port}"
        server = subprocess.Popen([sys.executable, "-m", "roadshow", "serve", "--host", "127.0.0.1", "--port",
                                   str(port)], env=env, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        latencies, errors = [], 0
        cpu_before = cpu_after = None
        try:
            _wait_ready(base, server)
            with httpx.Client(base_url=base, headers={"Authorization": f"Bearer {key}"}, timeout=30.0) as client:
                for i in range(requests + 20):
                    if i == 20:
                        cpu_before = _server_cpu(server.pid)
                    started = time.perf_counter()
                    response = client.post("/api/eligibility",
                                           json={"startup_id": firms[i % len(firms)], "product_id": product})
                    if i >= 20:  # the first requests warm the model and the connection pool
                        latencies.append(time.perf_counter() - started)
                        errors += response.status_code != 200
            cpu_after = _server_cpu(server.pid)
        finally:
            server.terminate()
            server.wait(timeout=30)
    ms = np.asarray(latencies) * 1000
    return {"requests": len(ms), "errors": errors, "bank": bank, "product": product,
            "p50_ms": float(np.percentile(ms, 50)), "p95_ms": float(np.percentile(ms, 95)),
            "max_ms": float(ms.max()),
            # The server's CPU per request, every thread included (what the request costs the machine).
            "server_cpu_ms_per_request": (None if cpu_before is None or cpu_after is None
                                          else (cpu_after - cpu_before) * 1000 / len(ms))}


def _load() -> str:
    try:
        with Path("/proc/loadavg").open() as fh:
            return fh.read().split()[0]
    except OSError:
        return "n/a"


# --- report ----------------------------------------------------------------------------------------


def _table(result: dict[str, Any]) -> list[str]:
    lines = [f"**{result['book']}** — {result['split']}; {result['train_loans']:,} training loans, "
             f"{result['test_loans']:,} held out (default rate {result['test_default_rate']:.3f}); "
             f"our form: {result['card']['form']}.", "",
             "| model | AUC | Brier | ECE | log-loss | mean PD | fit s |", "|---|---:|---:|---:|---:|---:|---:|"]
    for r in result["rows"]:
        fit = "" if r["fit_seconds"] is None else f"{r['fit_seconds']:.1f}"
        lines.append(f"| {r['model']} | {r['auc']:.4f} | {r['brier']:.5f} | {r['ece']:.4f} | {r['log_loss']:.4f} | "
                     f"{r['mean_pd']:.4f} | {fit} |")
    ours = next(r for r in result["rows"] if r["model"].startswith("ours"))
    peers = [r for r in result["rows"] if r["model"] in ("tuned HistGradientBoosting", "optbinning scorecard",
                                                          "logistic regression")]
    best_auc = max(peers, key=lambda r: r["auc"])
    best_brier = min(peers, key=lambda r: r["brier"])
    auc_ok, brier_ok = ours["auc"] >= best_auc["auc"], ours["brier"] <= best_brier["brier"]
    result["target"] = {"auc_margin": ours["auc"] - best_auc["auc"],
                        "brier_margin": best_brier["brier"] - ours["brier"], "met": bool(auc_ok and brier_ok)}
    lines += ["", f"Margins: AUC {ours['auc'] - best_auc['auc']:+.4f} over the best peer ({best_auc['model']}), "
              f"Brier {best_brier['brier'] - ours['brier']:+.5f} better than the best peer ({best_brier['model']}): "
              f"{'met' if auc_ok and brier_ok else 'NOT met'}.", ""]
    return lines


def main(results_dir: Path, quick: bool) -> str:
    started = time.perf_counter()
    sample = _sample_world("medium" if quick else "large")
    data = sample.pop("data")
    books = []
    n = 12_000 if quick else 40_000
    with tempfile.TemporaryDirectory(prefix="bench-sba-") as tmp:
        seeds = (0,) if quick else (0, 1)
        for seed in seeds:
            books.append(_book(write_book(Path(tmp) / f"full{seed}", n, seed=seed),
                               f"SBA-shaped book, {n:,} loans, seed {seed}"))
        books.append(_book(write_book(Path(tmp) / "five", n, seed=0, columns="five"),
                           f"SBA-shaped five-column book (amount, date, outcome), {n:,} loans, seed 0"))
    quality_seconds = time.perf_counter() - started
    model = PDModel().fit(*_all_loans(data))
    reference = _reference()
    batch = _batch_speed(data, model)
    http = _http_speed(100 if quick else HTTP_REQUESTS)
    result = {"sample_world": sample, "books": books, "batch_seconds": batch, "http": http, "reference": reference,
              "quality_seconds": quality_seconds, "machine": platform.machine(), "load_average_1m": _load()}

    truth = sample["rows"][0]
    ours = next(r for r in sample["rows"] if r["model"].startswith("ours"))
    lines = ["## Eligibility: default-risk model and scoring speed", "",
             f"`python -m bench.run --only eligibility{' --quick' if quick else ''}` ({quality_seconds:.0f} s for the "
             f"quality part; 1-minute load average {result['load_average_1m']} on a shared 2-core machine). Every "
             "model is fitted on the same loans and the same feature frame and judged on the same later loans; "
             "peers: a tuned HistGradientBoosting, an optbinning scorecard, a logistic regression "
             "(see `bench/eligibility.py`).", ""]
    lines += _table(sample)
    lines += [f"Sample-world targets: AUC gap to the true PDs {truth['auc'] - ours['auc']:+.4f} (≤ 0.02: "
              f"{'met' if truth['auc'] - ours['auc'] <= 0.02 else 'NOT met'}); ECE {ours['ece']:.4f} (≤ 0.02: "
              f"{'met' if ours['ece'] <= 0.02 else 'NOT met'}).", ""]
    for book in books:
        lines += _table(book)
        lines += [f"The amount alone ranks these test loans at AUC {book['amount_only_auc']:.4f}.", ""]
    lines += ["On the full books the ridge scorecard wins the validation split (every city, bank and sector code a "
              "penalised level beside its region and group, the term free to show that 20-year loans backed by real "
              "estate rarely default). On the five-column book the test window's loans differ only in amount "
              "(their issue dates all lie past the last training vintage), so no model ranks them much better "
              "than the amount alone (the AUC above): ours and the scorecard tie, both a little below it, and ours is "
              "better calibrated.", ""]
    cpu_ms = http["server_cpu_ms_per_request"]
    lines += [f"Speed (model: {model.chosen_}): {SPEED_FIRMS:,} startups for one product, model loaded: "
              + ", ".join(f"{k} {v['wall_seconds']:.1f} s ({v['cpu_seconds']:.1f} s CPU)" for k, v in batch.items())
              + " (target ≤ 10 s); one decision over HTTP "
              f"(`POST /api/eligibility`, {http['requests']} sequential requests, SQLite, one worker): p50 "
              f"{http['p50_ms']:.1f} ms, p95 {http['p95_ms']:.1f} ms (target ≤ 20 ms), {http['errors']} errors"
              + (f", server CPU {cpu_ms:.1f} ms per request" if cpu_ms is not None else "") + ". Reference workload "
              f"in the same run (`_reference`: sort 2 M floats + 200,000 sha256): {reference['wall_seconds']:.2f} s "
              f"wall for {reference['cpu_seconds']:.2f} s CPU (wall ≫ CPU: other processes held the cores).", ""]
    (results_dir / "eligibility.json").write_text(json.dumps(result, indent=2, default=str), encoding="utf-8")
    return "\n".join(lines)


def _all_loans(data: DataSet) -> tuple[pl.DataFrame, IntArray, pl.Series]:
    ts = training_set(data.startups, data.ip_assets, data.loans, as_of=None, policy=default_policy())
    return ts.features, ts.defaulted, ts.issued_on


if __name__ == "__main__":
    out = ROOT / "bench" / "results"
    out.mkdir(parents=True, exist_ok=True)
    print(main(out, quick="--quick" in sys.argv))
