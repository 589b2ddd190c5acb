"""Scheduling commands: ``schedule`` (the one-to-one meeting grid) and ``plan-sessions`` (pitch sessions)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from roadshow.commands._common import (
    DataDirOption,
    err_console,
    load_data,
    native_output_to_stderr,
    parse_date,
    user_errors,
)
from roadshow.commands.choices import ScheduleMode, Solver

if TYPE_CHECKING:
    from matcher.scheduling import Organiser

MODE_HELP = (
    "balanced (default): every startup gets as many meetings as the worst-off can, then the best total score; "
    "total: the best total score only; fair: also lifts the worst-off startup's score total."
)


def _handouts(name: str | None, email: str | None) -> tuple[Organiser, str | None]:
    """The calendar organiser (options over the configuration) and the configured default venue."""
    from api.settings import Settings
    from matcher.scheduling import Organiser

    settings = Settings.from_env()
    configured = settings.organiser()
    return Organiser(name or configured.name, email or configured.email), settings.default_venue


def schedule(
    event: Annotated[Path, typer.Argument(exists=True, dir_okay=False, help="event.json (DATA_FORMAT.md).")],
    *,
    out: Annotated[
        Path,
        typer.Option("--out", file_okay=False, help="Directory for meetings.csv, the workbook, .ics files, agenda."),
    ],
    data: DataDirOption = None,
    mode: Annotated[ScheduleMode | None, typer.Option("--mode", help=MODE_HELP)] = None,
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
            "--reschedule",
            exists=True,
            dir_okay=False,
            help="The confirmed meetings.csv (or schedule.json) to keep where possible.",
        ),
    ] = None,
    changes: Annotated[
        Path | None, typer.Option("--changes", exists=True, dir_okay=False, help="changes.json for --reschedule.")
    ] = None,
    as_of: Annotated[str | None, typer.Option("--as-of", help="Fit the ranking model on history before this date.")]
    = None,
    venue: Annotated[str | None, typer.Option("--venue", help="Where the meetings are held (calendar LOCATION).")]
    = None,
    organiser_name: Annotated[
        str | None, typer.Option("--organiser-name", help="Calendar ORGANIZER name (default ROADSHOW_ORGANISER_NAME).")
    ] = None,
    organiser_email: Annotated[
        str | None,
        typer.Option("--organiser-email", help="Calendar ORGANIZER mailbox (default ROADSHOW_ORGANISER_EMAIL)."),
    ] = None,
    encoding: Annotated[str, typer.Option(help="Text encoding of the data directory's CSV files.")] = "utf-8",
) -> None:
    """Solve the meeting grid and write exports; prints a JSON summary (objective, bound, gap, spread, …).

    Participants are named and unscored pairs scored from --data, or from the configured database."""
    from dataclasses import replace

    from matcher.errors import InvalidInputError
    from matcher.scheduling import (
        DEFAULT_MODE,
        load_changes,
        load_current,
        load_event,
        reschedule,
        score_unscored,
        solve,
        write_exports,
    )
    from matcher.scheduling.handout import participant_names
    from roadshow.commands.service import database_names

    with user_errors():
        if time_limit <= 0:
            raise InvalidInputError("must be positive", field="--time-limit")
        if (current is None) != (changes is None):
            raise InvalidInputError("--reschedule and --changes go together", field="--changes")
        organiser, default_venue = _handouts(organiser_name, organiser_email)
        dataset = load_data(data, encoding) if data is not None else None
        names = participant_names(dataset) if dataset is not None else database_names()
        problem = load_event(event, wish_bonus=wish_bonus, names=names)
        ids = [p.participant_id for p in (*problem.startups, *problem.investors)]
        unknown = [pid for pid in ids if pid not in names]
        if unknown:
            where = str(data) if data is not None else "the configured database"
            err_console.print(
                f"[yellow]{len(unknown)} participant(s) of {event} are not in {where} (e.g. {', '.join(unknown[:3])})"
                ": they are shown by id, and only the event's own scores pair them[/yellow]",
                highlight=False,
            )
        problem = replace(problem, venue=venue or problem.venue or default_venue)
        if problem.unscored() and dataset is None:
            # Only an event that leaves pairs to score needs the whole database.
            dataset = load_data(None)
        if problem.unscored() and dataset is not None and not dataset.startups.is_empty():
            # The ranking stack (scikit-learn, skops) loads only when the event leaves pairs to score.
            from matcher.scheduling.scoring import fitted_pair_scorer

            with err_console.status("fitting the ranking model to score the pairs the event leaves open…"):
                problem = score_unscored(problem, fitted_pair_scorer(dataset, parse_date(as_of, "--as-of")))
        with native_output_to_stderr(), err_console.status("solving the meeting grid…") as status:

            def progress(message: str) -> None:
                status.update(message)

            if current is not None and changes is not None:
                problem, result = reschedule(
                    problem,
                    load_current(current),
                    load_changes(changes, problem),
                    mode=mode,
                    solver=solver,
                    time_limit=time_limit,
                    seed=seed,
                    progress=progress,
                )
            else:
                result = solve(
                    problem, mode=mode or DEFAULT_MODE, solver=solver, time_limit=time_limit, seed=seed,
                    progress=progress,
                )
            status.update("writing exports")
            files = write_exports(problem, result, out, organiser=organiser)
    summary: dict[str, Any] = result.summary(problem)
    summary["files"] = {kind: str(paths[0]) for kind, paths in files.items() if kind != "ics"}
    if "ics" in files:
        summary["files"]["ics"] = f"{len(files['ics'])} files in {out / 'ics'}"
    # Plain JSON on stdout (progress went to stderr) so scripts can parse it.
    typer.echo(json.dumps(summary, ensure_ascii=False, indent=2))


def plan_sessions_command(
    *,
    out: Annotated[
        Path, typer.Option("--out", file_okay=False, help="Directory for sessions.csv and invitations.csv.")
    ],
    data: DataDirOption = None,
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
    from matcher.scheduling.scoring import fitted_pair_scorer
    from matcher.spreadsheet import write_csv

    with user_errors():
        ds = load_data(data, encoding)
        startup_ids = [p.participant_id for p in load_event(event).startups] if event is not None else None
        scorer = fitted_pair_scorer(ds, parse_date(as_of, "--as-of")) if model else None
        with native_output_to_stderr():
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
        write_csv(plan.sessions_frame(), out / "sessions.csv")
        write_csv(plan.invitations_frame(), out / "invitations.csv")
    for warning in plan.warnings():
        err_console.print(f"[yellow]warning:[/yellow] {warning}", highlight=False)
    summary: dict[str, Any] = {
        **plan.summary(),
        "files": {"sessions": str(out / "sessions.csv"), "invitations": str(out / "invitations.csv")},
    }
    typer.echo(json.dumps(summary, ensure_ascii=False, indent=2))


def register(app: typer.Typer) -> None:
    app.command("schedule")(schedule)
    app.command("plan-sessions")(plan_sessions_command)
