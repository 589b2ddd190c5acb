"""The credit committee's validation report of the default-risk model (``roadshow model-report``).

Protocol: the labelled loans issued before the as-of date are split in time; the latest
``HOLDOUT_SHARE`` of them (by issue date) is the hold-out, the model is fitted on the earlier ones
exactly as a bank's run would fit it, and judged on the hold-out: AUC, KS, Gini, Brier, ECE (10
equal-count bins of predicted PD, where PDs crowd near zero) and a calibration plot. Beside it, the
points scorecard a committee is used to (optbinning's optimal WoE binning and logistic regression, 600
points at odds 50:1, 20 points to double the odds) with its WoE/IV tables, fitted on the same loans and
features and judged on the same hold-out; the population stability index (PSI) of every feature between
the training loans and the population being scored (the startups as of the date, for the product);
the frequency of each reason code and limit basis on that population; and the model card (features
used and left out, the form chosen on validation) of the model the scores come from.

Written as one self-contained HTML page (plots inline as SVG, no network) and as JSON.
"""

from __future__ import annotations

import html
import io
import json
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import polars as pl

from matcher.eligibility.engine import assess_frame, resolve_model, resolve_product
from matcher.eligibility.kv_index import kv_frame
from matcher.eligibility.loan_features import CATEGORICAL_FEATURES, pd_features, training_set
from matcher.eligibility.pd_model import PDModel, recent_outcomes_complete
from matcher.eligibility.policy import Policy
from matcher.eligibility.tech_sme import tech_sme_frame
from matcher.errors import NotFittedError
from matcher.io import DataSet

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
HOLDOUT_SHARE = 0.2
CALIBRATION_BINS = 10
PSI_BINS = 10


def ece(pd: FloatArray, y: IntArray, bins: int = CALIBRATION_BINS) -> float:
    """Expected calibration error over equal-count bins of predicted PD."""
    order = np.argsort(pd, kind="stable")
    total = 0.0
    for chunk in np.array_split(order, bins):
        if chunk.size:
            total += abs(pd[chunk].mean() - y[chunk].mean()) * chunk.size / pd.size
    return float(total)


def discrimination(pd: FloatArray, y: IntArray) -> dict[str, float]:
    """AUC, Gini (2·AUC − 1), KS (largest gap between the defaulters' and the others' score CDFs),
    Brier and ECE."""
    from sklearn.metrics import brier_score_loss, roc_auc_score, roc_curve

    auc = float(roc_auc_score(y, pd))
    fpr, tpr, _ = roc_curve(y, pd)
    return {"auc": auc, "gini": 2 * auc - 1, "ks": float(np.max(tpr - fpr)),
            "brier": float(brier_score_loss(y, pd)), "ece": ece(pd, y), "mean_pd": float(pd.mean()),
            "default_rate": float(y.mean())}


def calibration_table(pd: FloatArray, y: IntArray, bins: int = CALIBRATION_BINS) -> list[dict[str, float]]:
    order = np.argsort(pd, kind="stable")
    return [{"loans": int(c.size), "mean_pd": float(pd[c].mean()), "observed": float(y[c].mean())}
            for c in np.array_split(order, bins) if c.size]


def psi(expected: pl.Series, actual: pl.Series, bins: int = PSI_BINS) -> float | None:
    """Population stability index Σ (a − e)·ln(a / e) over bins of the expected (training) population:
    deciles for numbers, levels (the rarest pooled) for categories; missing is a bin of its own."""
    eps = 1e-4
    if expected.dtype == pl.Utf8:
        top = expected.drop_nulls().value_counts(sort=True)[expected.name].head(bins - 1).to_list()

        def bucket(s: pl.Series) -> pl.Series:
            return pl.select(pl.when(s.is_null()).then(pl.lit("__missing__")).when(s.is_in(top)).then(s)
                             .otherwise(pl.lit("__other__"))).to_series()
    else:
        e = expected.cast(pl.Float64).fill_nan(None)
        values = e.drop_nulls().to_numpy()
        if values.size == 0:
            return None
        edges = np.unique(np.quantile(values, np.linspace(0, 1, bins + 1)[1:-1]))

        def bucket(s: pl.Series) -> pl.Series:
            x = s.cast(pl.Float64).fill_nan(None)
            codes = np.searchsorted(edges, x.fill_null(0.0).to_numpy(), side="right").astype(str)
            return pl.Series(np.where(x.is_null().to_numpy(), "missing", codes))
    share_e = bucket(expected).alias("bin").value_counts(normalize=True)
    share_a = bucket(actual).alias("bin").value_counts(normalize=True)
    joined = share_e.join(share_a, on="bin", how="full", coalesce=True, suffix="_a").fill_null(0.0)
    a = joined["proportion_a"].to_numpy() + eps
    e_ = joined["proportion"].to_numpy() + eps
    return float(np.sum((a - e_) * np.log(a / e_)))


def _svg_calibration(table: list[dict[str, float]]) -> str:
    from matplotlib.figure import Figure

    fig = Figure(figsize=(4.5, 4.0))
    ax = fig.add_subplot()
    pred = [r["mean_pd"] for r in table]
    obs = [r["observed"] for r in table]
    top = max([*pred, *obs, 0.01]) * 1.1
    ax.plot([0, top], [0, top], color="#999", linewidth=1, label="perfect")
    ax.plot(pred, obs, marker="o", color="#c0392b", label="model")
    ax.set_xlabel("predicted PD (bin mean)")
    ax.set_ylabel("observed default rate")
    ax.set_title("Calibration on the hold-out")
    ax.legend(loc="upper left")
    fig.tight_layout()
    buffer = io.StringIO()
    fig.savefig(buffer, format="svg")
    text = buffer.getvalue()
    return text[text.index("<svg"):]


def _pandas(features: pl.DataFrame, columns: list[str]) -> Any:
    import pandas as pd

    out: dict[str, Any] = {}
    for c in columns:
        col = features[c]
        if c in CATEGORICAL_FEATURES:
            out[c] = col.fill_null("missing").to_numpy().astype(str)
        else:
            out[c] = col.cast(pl.Float64).fill_null(np.nan).to_numpy()
    return pd.DataFrame(out)


def _scorecard(train: pl.DataFrame, y: IntArray, test: pl.DataFrame, y_test: IntArray | None,
               columns: list[str]) -> dict[str, Any]:
    from optbinning import BinningProcess, Scorecard
    from sklearn.linear_model import LogisticRegression

    categorical = [c for c in columns if c in CATEGORICAL_FEATURES]
    process = BinningProcess(columns, categorical_variables=categorical, min_bin_size=0.02)
    card = Scorecard(binning_process=process, estimator=LogisticRegression(max_iter=2000),
                     scaling_method="pdo_odds", scaling_method_params={"pdo": 20, "odds": 50, "scorecard_points": 600})
    card.fit(_pandas(train, columns), y)
    process = card.binning_process_
    summary = process.summary()
    iv: list[dict[str, Any]] = [
        {"feature": str(r["name"]), "iv": float(r["iv"]), "bins": int(r["n_bins"]), "selected": bool(r["selected"])}
        for _, r in summary.sort_values("iv", ascending=False).iterrows()
    ]
    points = [{"feature": str(r["Variable"]), "bin": bin_label(r["Bin"]), "points": float(r["Points"])}
              for _, r in card.table(style="summary").iterrows()]
    woe: dict[str, list[dict[str, Any]]] = {}
    for row in iv:
        if not row["selected"]:
            continue
        name = str(row["feature"])
        table = process.get_binned_variable(name).binning_table.build()
        woe[name] = [
            {"bin": bin_label(r["Bin"]), "count": int(r["Count"]), "event_rate": float(r["Event rate"]),
             "woe": float(r["WoE"]) if r["WoE"] != "" else 0.0, "iv": float(r["IV"])}
            for _, r in table.iterrows() if str(r.name) != "Totals"
        ]
    out: dict[str, Any] = {"iv": iv, "points": points, "woe": woe}
    if y_test is not None and len(np.unique(y_test)) == 2:
        out["holdout"] = discrimination(card.predict_proba(_pandas(test, columns))[:, 1], y_test)
    return out


BIN_CATEGORIES_SHOWN = 8


def bin_label(value: Any) -> str:
    """A bin as a person reads it: numeric bins are optbinning's interval text (``[3.50, 7.00)``); a
    categorical bin is the array of its categories, listed (the first few, then how many more)."""
    if isinstance(value, str):
        return value
    try:
        categories = [str(v) for v in value]
    except TypeError:
        return str(value)
    shown = "、".join(categories[:BIN_CATEGORIES_SHOWN])
    more = len(categories) - BIN_CATEGORIES_SHOWN
    return f"{shown} … (+{more})" if more > 0 else shown


@dataclass(frozen=True, slots=True)
class ModelReport:
    data: dict[str, Any]
    html: str


def _scored_features(data: DataSet, *, as_of: date, product: str, policy: Policy) -> pl.DataFrame:
    spec = resolve_product(product, data, policy)
    tech = tech_sme_frame(data.startups, data.ip_assets, as_of=as_of, policy=policy)
    kv = kv_frame(data.startups, tech, policy)
    ask = pl.col("funding_ask_wan")
    amount = pl.when(ask > 0).then(pl.min_horizontal(ask, pl.lit(spec.max_amount_wan))).otherwise(spec.max_amount_wan)
    return pd_features(data.startups, tech, kv, as_of=as_of, product_kind=spec.kind.value, amount_wan=amount,
                       term_months=pl.lit(spec.term_months), bank_id=spec.bank_id)


def _holdout(data: DataSet, *, as_of: date, policy: Policy) -> tuple[dict[str, Any], str | None]:
    ts = training_set(data.startups, data.ip_assets, data.loans, as_of=as_of, policy=policy)
    if ts.features.height == 0:
        return {"loans": 0, "note": "no labelled loans before the date"}, None
    days = ts.issued_on.cast(pl.Date).to_physical().to_numpy()
    cut = int(np.quantile(days, 1 - HOLDOUT_SHARE))
    test = days >= cut
    cut_day = date.fromordinal(date(1970, 1, 1).toordinal() + cut)
    y, y_test = ts.defaulted[~test], ts.defaulted[test]
    info: dict[str, Any] = {"from": cut_day.isoformat(), "loans": int(test.sum()), "train_loans": int((~test).sum()),
                            "defaults": int(y_test.sum())}
    if len(np.unique(y_test)) < 2:
        info["note"] = "the hold-out has only one outcome; discrimination cannot be measured"
        return info, None
    train_f, test_f = ts.features.filter(pl.Series(~test)), ts.features.filter(pl.Series(test))
    try:
        issued = ts.issued_on.filter(pl.Series(~test))
        model = PDModel().fit(train_f, y, issued, trained_until=cut_day.isoformat(),
                              recent_outcomes_complete=recent_outcomes_complete(
                                  data.loans, issued, cut_day, PDModel().validation_share))
    except NotFittedError as exc:
        info["note"] = f"the loans before the hold-out cannot train a model: {exc}"
        return info, None
    pd = model.predict_pd(test_f)
    table = calibration_table(pd, y_test)
    info |= {"metrics": discrimination(pd, y_test), "calibration": table, "card": model.card()}
    columns = [*model.numeric_, *model.categorical_]
    try:
        info["scorecard"] = _scorecard(train_f, y, test_f, y_test, columns)
    except Exception as exc:  # optbinning raises assorted errors on degenerate columns; the report goes on
        info["scorecard"] = {"note": f"the scorecard could not be fitted: {exc}"}
    return info, _svg_calibration(table)


def build_report(data: DataSet, *, as_of: date, product: str, policy: Policy) -> ModelReport:
    holdout, svg = _holdout(data, as_of=as_of, policy=policy)
    model = resolve_model(data, as_of=as_of, model=None, policy=policy)
    train = training_set(data.startups, data.ip_assets, data.loans, as_of=as_of, policy=policy).features
    scored = _scored_features(data, as_of=as_of, product=product, policy=policy)
    stability: list[dict[str, Any]] = []
    if train.height and scored.height:
        for c in (*model.numeric_, *model.categorical_):
            value = psi(train[c], scored[c])
            if value is not None:
                stability.append({"feature": c, "psi": value})
    stability.sort(key=lambda r: -float(r["psi"]))
    scores = assess_frame(data, product=product, as_of=as_of, model=model, policy=policy)
    n = max(scores.height, 1)
    reasons = (scores.select(pl.col("reason_codes").explode().drop_nulls()).to_series().value_counts(sort=True)
               if scores.height else pl.DataFrame({"reason_codes": [], "count": []}))
    bases = scores["limit_basis"].value_counts(sort=True) if scores.height else pl.DataFrame({"limit_basis": [],
                                                                                                "count": []})
    report = {
        "as_of": as_of.isoformat(), "product": product, "policy_version": policy.version,
        "holdout": holdout, "model": model.card(), "psi": stability,
        "population": {"firms": scores.height, "eligible": int(scores["eligible"].sum()) if scores.height else 0,
                       "mean_pd": float(scores["pd"].cast(pl.Float64).mean() or 0.0)  # type: ignore[arg-type]
                       if scores.height else 0.0},
        "reason_codes": [{"code": r[0], "count": int(r[1]), "share": r[1] / n} for r in reasons.iter_rows()],
        "limit_basis": [{"basis": r[0], "count": int(r[1]), "share": r[1] / n} for r in bases.iter_rows()],
    }
    return ModelReport(report, _html(report, svg))


def _table(rows: list[dict[str, Any]], columns: list[str]) -> str:
    def cell(v: Any) -> str:
        return f"{v:.4f}" if isinstance(v, float) else html.escape(str(v))

    head = "".join(f"<th>{html.escape(c)}</th>" for c in columns)
    body = "".join("<tr>" + "".join(f"<td>{cell(r.get(c, ''))}</td>" for c in columns) + "</tr>" for r in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


_PSI_READING = "PSI < 0.1 稳定 stable; 0.1–0.25 需关注 watch; > 0.25 显著偏移 shifted"


def _html(r: dict[str, Any], svg: str | None) -> str:
    h = r["holdout"]
    parts = [f"<h1>违约模型验证报告 · Default-model validation report</h1>"
             f"<p>截至 As of {r['as_of']} · 产品 product {html.escape(r['product'])} · "
             f"政策 policy {html.escape(r['policy_version'])}</p>",
             "<h2>时间外样本 · Temporal hold-out</h2>"]
    if "metrics" in h:
        m = h["metrics"]
        parts.append(f"<p>在 {h['from']} 之前的 {h['train_loans']} 笔贷款上训练，在之后的 {h['loans']} 笔（违约 "
                     f"{h['defaults']} 笔）上检验 · trained on {h['train_loans']} loans before {h['from']}, tested on "
                     f"the {h['loans']} later ones ({h['defaults']} defaults).</p>")
        rows = [{"model": "PD model (ours)", **m}]
        if "holdout" in h.get("scorecard", {}):
            rows.append({"model": "points scorecard (optbinning)", **h["scorecard"]["holdout"]})
        parts.append(_table(rows, ["model", "auc", "ks", "gini", "brier", "ece", "mean_pd", "default_rate"]))
        if svg:
            parts.append(f"<div class='plot'>{svg}</div>")
        parts.append(_table(h["calibration"], ["loans", "mean_pd", "observed"]))
    else:
        parts.append(f"<p>{html.escape(h.get('note', ''))}</p>")
    card = h.get("scorecard", {})
    if "points" in card:
        parts += ["<h2>评分卡 · Points scorecard</h2><p>600 分对应 50:1 的好坏比，每 20 分比值翻倍 · 600 points at "
                  "odds 50:1, 20 points to double the odds.</p>",
                  _table(card["points"], ["feature", "bin", "points"]),
                  "<h2>信息值 · Information value</h2>", _table(card["iv"], ["feature", "iv", "bins", "selected"])]
        for feature, rows in card["woe"].items():
            parts += [f"<h3>WoE · {html.escape(feature)}</h3>",
                      _table(rows, ["bin", "count", "event_rate", "woe", "iv"])]
    elif "note" in card:
        parts.append(f"<p>{html.escape(card['note'])}</p>")
    parts += ["<h2>群体稳定性 · Population stability (training loans → scored firms)</h2>",
              f"<p>{_PSI_READING}</p>", _table(r["psi"], ["feature", "psi"]),
              "<h2>原因代码频率 · Reason codes on the scored population</h2>",
              f"<p>{r['population']['firms']} firms, {r['population']['eligible']} eligible, "
              f"mean PD {r['population']['mean_pd']:.4f}</p>",
              _table(r["reason_codes"], ["code", "count", "share"]),
              _table(r["limit_basis"], ["basis", "count", "share"]),
              "<h2>模型卡 · Model card</h2>",
              f"<pre>{html.escape(json.dumps(r['model'], ensure_ascii=False, indent=1))}</pre>"]
    style = ("body{font-family:'Microsoft YaHei','PingFang SC',sans-serif;margin:2em;max-width:70em}"
             "table{border-collapse:collapse;margin:.5em 0}td,th{border:1px solid #ccc;padding:.2em .5em;"
             "text-align:right}th{background:#f4f4f4}pre{background:#f8f8f8;padding:1em;overflow:auto}")
    return (f"<!doctype html><html lang='zh-CN'><head><meta charset='utf-8'><title>违约模型验证报告</title>"
            f"<style>{style}</style></head><body>{''.join(parts)}</body></html>")


def write_report(report: ModelReport, out: Path) -> list[Path]:
    out.mkdir(parents=True, exist_ok=True)
    page, blob = out / "report.html", out / "report.json"
    page.write_text(report.html, encoding="utf-8")
    blob.write_text(json.dumps(report.data, ensure_ascii=False, indent=2), encoding="utf-8")
    return [page, blob]
