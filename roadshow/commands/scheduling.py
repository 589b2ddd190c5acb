"""Scheduling commands: ``schedule`` (the one-to-one meeting grid) and ``plan-sessions`` (pitch sessions)."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from matcher.errors import InvalidInputError
from roadshow.commands._common import err_console, load_data, parse_date, user_errors
from roadshow.commands.choices import ScheduleMode, Solver

if TYPE_CHECKING:
    import numpy as np
    from numpy.typing import NDArray

    from matcher.io import DataSet
    from matcher.scheduling import PairScorer
    from matcher.scheduling.problem import Pair


def ranking_pair_scorer(data: DataSet, as_of: date | None) -> PairScorer:
    """Scores pairs the event leaves unscored with the ranking model fitted on ``data``."""
    import numpy as np
    import polars as pl

    try:
        from matcher.ranking import score_pairs
    except ImportError:
        raise InvalidInputError("no scores and ranking model unavailable", field="scores") from None

    def scorer(pairs: list[Pair]) -> NDArray[np.float64]:
        frame = pl.DataFrame(
            {"startup_id": [s for s, _ in pairs], "investor_id": [i for _, i in pairs]},
            schema={"startup_id": pl.Utf8, "investor_id": pl.Utf8},
        )
        return np.asarray(score_pairs(data, frame, as_of), dtype=np.float64)

    return scorer


def schedule(
    event: Annotated[Path, typer.Argument(exists=True, dir_okay=False, help="event.json (DATA_FORMAT.md).")],
    *,
    out: Annotated[
        Path,
        typer.Option("--out", file_okay=False, help="Directory for meetings.csv, the workbook, .ics files, agenda."),
    ],
    data: Annotated[
        Path | None, typer.Option("--data", help="Data directory; the ranking model scores pairs the event does not.")
    ] = None,
    mode: Annotated[
        ScheduleMode, typer.Option("--mode", help="total: maximise total score; fair: lift the worst-off first.")
    ] = "total",
    solver: Annotated[
        Solver,
        typer.Option("--solver", help="milp: exact; decomposition: pair selection, then slots; auto: both."),
    ] = "auto",
    time_limit: Annotated[float, typer.Option("--time-limit", help="Seconds the solver may use.")] = 60.0,
    seed: Annotated[int, typer.Option("--seed", help="Seed for any randomised step.")] = 0,
    wish_bonus: Annotated[float, typer.Option("--wish-bonus", help="Added to the objective per wish met.")] = 0.25,
    current: Annotated[
        Path | None,
        typer.Option(
            "--reschedule", exists=True, dir_okay=False, help="The confirmed meetings.csv to keep where possible."
        ),
    ] = None,
    changes: Annotated[
        Path | None, typer.Option("--changes", exists=True, dir_okay=False, help="changes.json for --reschedule.")
    ] = None,
    as_of: Annotated[str | None, typer.Option("--as-of", help="Fit the ranking model on history before this date.")]
    = None,
    encoding: Annotated[str, typer.Option(help="Text encoding of the data directory's CSV files.")] = "utf-8",
) -> None:
    """Solve the meeting grid and write exports; prints a JSON summary (objective, bound, gap, …)."""
    from matcher.scheduling import load_changes, load_event, read_meetings_csv, reschedule, solve, write_exports

    with user_errors():
        if time_limit <= 0:
            raise InvalidInputError("must be positive", field="--time-limit")
        if (current is None) != (changes is None):
            raise InvalidInputError("--reschedule and --changes go together", field="--changes")
        scorer = ranking_pair_scorer(load_data(data, encoding), parse_date(as_of, "--as-of")) if data else None
        problem = load_event(event, pair_scorer=scorer, wish_bonus=wish_bonus)
        with err_console.status("solving the meeting grid…") as status:

            def progress(message: str) -> None:
                status.update(message)

            if current is not None and changes is not None:
                problem, result = reschedule(
                    problem,
                    read_meetings_csv(current),
                    load_changes(changes, problem),
                    mode=mode,
                    solver=solver,
                    time_limit=time_limit,
                    seed=seed,
                    progress=progress,
                )
            else:
                result = solve(
                    problem, mode=mode, solver=solver, time_limit=time_limit, seed=seed, progress=progress
                )
            status.update("writing exports")
            files = write_exports(problem, result, out)
    summary: dict[str, Any] = result.summary()
    summary["files"] = {kind: str(paths[0]) for kind, paths in files.items() if kind != "ics"}
    if "ics" in files:
        summary["files"]["ics"] = f"{len(files['ics'])} files in {out / 'ics'}"
    # Plain JSON on stdout (progress went to stderr) so scripts can parse it.
    typer.echo(json.dumps(summary, ensure_ascii=False, indent=2))


def plan_sessions_command(
    *,
    data: Annotated[Path, typer.Option("--data", help="Data directory with startups.csv and investors.csv.")],
    out: Annotated[
        Path, typer.Option("--out", file_okay=False, help="Directory for sessions.csv and invitations.csv.")
    ],
    event: Annotated[
        Path | None,
        typer.Option(
            "--event", exists=True, dir_okay=False, help="Plan for the startups of this event.json (default: all)."
        ),
    ] = None,
    capacity: Annotated[int, typer.Option("--capacity", help="Pitches per session.")] = 8,
    pitch_minutes: Annotated[int, typer.Option("--pitch-minutes", help="Minutes per pitch.")] = 8,
    qa_minutes: Annotated[int, typer.Option("--qa-minutes", help="Minutes of Q&A per pitch.")] = 7,
    investors: Annotated[int, typer.Option("--investors", help="Investor seats per session.")] = 6,
    banks: Annotated[int, typer.Option("--banks", help="Bank seats per session.")] = 2,
    max_sessions: Annotated[int, typer.Option("--max-sessions", help="Sessions one investor is invited to.")] = 2,
    model: Annotated[
        bool, typer.Option("--model/--declared", help="Fit from the ranking model or from declared preferences.")
    ] = False,
    as_of: Annotated[str | None, typer.Option("--as-of", help="Fit the ranking model on history before this date.")]
    = None,
    encoding: Annotated[str, typer.Option(help="Text encoding of the data directory's CSV files.")] = "utf-8",
) -> None:
    """Group startups into themed pitch sessions and invite the best-fitting investors and banks."""
    from matcher.scheduling import load_event, plan_sessions

    with user_errors():
        ds = load_data(data, encoding)
        startup_ids = [p.participant_id for p in load_event(event).startups] if event is not None else None
        scorer = ranking_pair_scorer(ds, parse_date(as_of, "--as-of")) if model else None
        plan = plan_sessions(
            ds,
            startup_ids=startup_ids,
            capacity=capacity,
            pitch_minutes=pitch_minutes,
            qa_minutes=qa_minutes,
            investors_per_session=investors,
            banks_per_session=banks,
            max_sessions_per_investor=max_sessions,
            pair_scorer=scorer,
        )
        out.mkdir(parents=True, exist_ok=True)
        plan.sessions_frame().write_csv(out / "sessions.csv")
        plan.invitations_frame().write_csv(out / "invitations.csv")
    summary: dict[str, Any] = {
        **plan.summary(),
        "files": {"sessions": str(out / "sessions.csv"), "invitations": str(out / "invitations.csv")},
    }
    typer.echo(json.dumps(summary, ensure_ascii=False, indent=2))


def register(app: typer.Typer) -> None:
    app.command("schedule")(schedule)
    app.command("plan-sessions")(plan_sessions_command)
