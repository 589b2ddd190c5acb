"""Champion and challenger on the same temporal hold-out (matcher.ranking.champion)."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pytest

from matcher.io import DataSet
from matcher.ranking import LearnedRecommender, get_model, tuning
from matcher.ranking.base import PairRecommender
from matcher.ranking.champion import Champion, holdout_start, judge, score_on_holdout
from matcher.ranking.tuning import TuningResult, tune
from tests.factories import CLUB_AS_OF, club_world, service_world

AS_OF = date(2026, 12, 2)


@pytest.fixture(scope="module")
def fitted() -> PairRecommender:
    return get_model("declared").fit(service_world(), AS_OF)


def _champion(model: PairRecommender, *, pinned: bool = False, trained_as_of: date = AS_OF,
              name: str = "declared") -> Champion:
    return Champion(1, pinned, trained_as_of, make=lambda: get_model(name), load=lambda: model)


def test_the_holdout_is_the_newest_outcomes_before_the_date() -> None:
    data = service_world()
    start = holdout_start(data, AS_OF, 0.2)
    assert start is not None
    days = data.interactions.filter(data.interactions["occurred_on"] < AS_OF)["occurred_on"]
    assert 0.15 <= (days >= start).mean() <= 0.3  # type: ignore[operator]
    assert holdout_start(data, date(2023, 1, 1)) is None  # no history before the date: nothing to hold out


def test_first_activated_rejected_pinned_and_forced(fitted: PairRecommender) -> None:
    data = service_world()
    first = judge(data, AS_OF, lambda: get_model("declared"), None)
    assert first.decision == "first" and first.activate and first.challenger is not None
    same = judge(data, AS_OF, lambda: get_model("declared"), _champion(fitted), same_recipe=True)
    assert same.decision == "activated" and same.champion is not None
    assert same.challenger == same.champion  # the same recipe before the hold-out: refitted once, the same
    assert same.champion_refitted  # the champion was fitted after the hold-out began
    worse = judge(data, AS_OF, lambda: get_model("random"), _champion(fitted))
    assert worse.decision == "rejected" and not worse.activate
    assert worse.challenger is not None and worse.champion is not None
    assert worse.challenger.ndcg < worse.champion.ndcg - worse.tolerance
    pinned = judge(data, AS_OF, lambda: get_model("declared"), _champion(fitted, pinned=True),
                          same_recipe=True)
    assert pinned.decision == "pinned" and not pinned.activate
    forced = judge(data, AS_OF, lambda: get_model("random"), _champion(fitted), force=True)
    assert forced.decision == "forced" and forced.activate
    # A tolerance as wide as NDCG itself lets anything through: the margin is what decides.
    lenient = judge(data, AS_OF, lambda: get_model("random"), _champion(fitted), tolerance=1.0)
    assert lenient.decision == "activated"


def test_a_champion_fitted_before_the_holdout_is_judged_as_it_is() -> None:
    data = service_world()
    start = holdout_start(data, AS_OF)
    assert start is not None
    old = get_model("declared").fit(data, start)
    verdict = judge(data, AS_OF, lambda: get_model("declared"), _champion(old, trained_as_of=start))
    assert not verdict.champion_refitted and verdict.to_dict()["holdout_from"] == start.isoformat()


def test_a_champion_fitted_after_the_holdout_began_is_judged_as_stale_as_it_is_now(fitted: PairRecommender) -> None:
    """A champion fitted 60 days ago is refitted 60 days before the hold-out: the comparison is between
    serving a fresh fit and keeping a 60-day-old one, not the challenger's backtest against itself."""
    data = service_world()
    start = holdout_start(data, AS_OF)
    assert start is not None
    champion = _champion(fitted, trained_as_of=AS_OF - timedelta(days=60))
    verdict = judge(data, AS_OF, lambda: get_model("popularity"), champion,
                           same_recipe=False)
    assert verdict.champion_refitted and verdict.champion_fitted_as_of == start - timedelta(days=60)
    assert f"fitted before {start - timedelta(days=60)}" in verdict.reason
    assert verdict.to_dict()["champion_fitted_as_of"] == (start - timedelta(days=60)).isoformat()
    # The same recipe, stale by 60 days: a model of its own, not the challenger's backtest.
    pop = get_model("popularity").fit(data, AS_OF - timedelta(days=60))
    same = judge(data, AS_OF, lambda: get_model("popularity"),
                        _champion(pop, trained_as_of=AS_OF - timedelta(days=60), name="popularity"),
                        same_recipe=True)
    aged = get_model("popularity").fit(data, start - timedelta(days=60))
    assert same.champion == score_on_holdout(aged, data, start, AS_OF)
    # Fitted today (no staleness), the same recipe's refit is the backtest itself: scored once, a tie.
    today = judge(data, AS_OF, lambda: get_model("popularity"),
                         _champion(pop, trained_as_of=AS_OF, name="popularity"), same_recipe=True)
    assert today.champion == today.challenger and today.champion_fitted_as_of == start


def test_a_self_tuned_champion_is_judged_on_the_backtests_choice_refitted_stale(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """Issue 14: against a self-tuned champion of the same recipe, the judging tunes once (the backtest)
    and judges the champion as that choice fitted as stale as the champion is, not a second tuning."""
    data = club_world(n_startups=150)
    start = holdout_start(data, CLUB_AS_OF)
    assert start is not None
    stale = timedelta(days=45)
    champion = Champion(3, False, CLUB_AS_OF - stale, make=lambda: get_model("learned"),
                        load=lambda: pytest.fail("a champion fitted after the hold-out began is refitted"))
    tunings: list[date] = []

    def counted(data_: DataSet, as_of: date, **kwargs: Any) -> TuningResult:
        tunings.append(as_of)
        return tune(data_, as_of, **kwargs)

    monkeypatch.setattr(tuning, "tune", counted)
    verdict = judge(data, CLUB_AS_OF, lambda: get_model("learned"), champion, same_recipe=True)
    assert tunings == [start]  # the backtest's tuning only
    assert verdict.champion_refitted and verdict.champion_fitted_as_of == start - stale
    backtest = get_model("learned").fit(data, start)
    assert isinstance(backtest, LearnedRecommender)
    refit = backtest.refit(data, start - stale)
    assert refit.chosen_parts_ == backtest.chosen_parts_ and refit.as_of == start - stale
    assert refit.tuned_before == start
    assert verdict.champion == score_on_holdout(refit, data, start, CLUB_AS_OF)
    assert verdict.challenger == score_on_holdout(backtest, data, start, CLUB_AS_OF)
