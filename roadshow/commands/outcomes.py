"""Participants' commands at a roadshow: ``outcomes record|import|list`` and ``wishes set|answer|list``.

Thin doors onto the services the API's ``/api/events/{id}/outcomes`` and ``/participants/{id}`` call
(``api.services.outcomes``, ``api.services.participants``), acting as an organiser: the same checks,
the same records (each report a new row, who and when), the same retrain queued after new outcomes.
Errors are the services' own, one line naming the field; in a CSV, its file, row and column.
"""

from __future__ import annotations

import csv
import getpass
import re
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Literal

import typer

from matcher.errors import InvalidInputError
from roadshow.commands._common import console, parse_date, user_errors
from roadshow.commands.service import _run, _settings, _upgrade

if TYPE_CHECKING:
    from api.schemas.participants import OutcomeCreate, OutcomeRead
    from api.services.keys import Principal

outcomes_app = typer.Typer(
    help="Meeting outcomes at a roadshow: record one, import a CSV, list them (as an organiser).",
    no_args_is_help=True,
)
wishes_app = typer.Typer(
    help="Participants' wishes at a roadshow: set one's must / wish / no, answer a request, list them.",
    no_args_is_help=True,
)

Outcome = Literal["held", "no_show", "declined", "interested", "intent_signed", "invested"]
"""``matcher.outcomes.MEETING_OUTCOMES``."""
Absent = Literal["startup", "investor", "both"]
"""``matcher.outcomes.ABSENT``."""
Answer = Literal["accepted", "declined"]
CSV_COLUMNS = ("startup_id", "investor_id", "outcome", "no_show", "amount_wan", "on")
_ITEM_FIELD = re.compile(r"^items\[(\d+)\]\.?(.*)$")


def _organiser() -> Principal:
    """Who the command acts as: an organiser, recorded as ``cli:<user>`` (the API records the key id)."""
    from api.services.keys import Principal, Role

    return Principal(key_id=f"cli:{getpass.getuser()}"[:64], role=Role.ORGANISER)


def _print_outcome(row: OutcomeRead) -> None:
    extra = [f"{row.no_show} did not come"] if row.no_show else []
    if row.amount_wan is not None:
        extra.append(f"{row.amount_wan:g} 万元 on {row.on}")
    where = "" if row.scheduled else " (outside the schedule)"
    flag = "" if row.current else " (replaced by a later report)"
    console.print(
        f"{row.id:>5}  {row.startup_id} {row.startup_name} × {row.investor_id} {row.investor_name}: "
        f"{row.outcome}{'; ' + ', '.join(extra) if extra else ''}{where}{flag}  "
        f"[{row.recorded_by}, {row.recorded_at:%Y-%m-%d %H:%M}]",
        highlight=False, soft_wrap=True, markup=False,
    )


def _record(event_id: str, items: list[OutcomeCreate], *, batch: bool) -> list[OutcomeRead]:
    """Record the reports as the API does, then say whether they started a retrain (as they do there)."""
    from api.services import outcomes
    from api.services.jobs import JobQueue

    settings = _settings()
    _upgrade(settings)
    queue = JobQueue(settings)
    result = _run(settings, lambda s: outcomes.record(
        s, principal=_organiser(), event_id=event_id, items=items, batch=batch, retrain=(queue, settings)))
    assert isinstance(result, list)  # no idempotency key from the command line: never a replay
    return result


def _retrain_note() -> None:
    settings = _settings()
    if settings.retrain_on_outcomes:
        console.print("a retrain is queued: `roadshow serve` or `roadshow worker` runs it; `roadshow train` runs "
                      "one now", highlight=False)
    else:
        console.print("no retrain started (ROADSHOW_RETRAIN_ON_OUTCOMES=0): `roadshow train` runs one",
                      highlight=False)


def record_outcome(  # noqa: PLR0917  # typer passes options by keyword; the order is the --help order
    event_id: Annotated[str, typer.Argument(help="The roadshow (event id).")],
    startup: Annotated[str, typer.Option("--startup", help="The startup of the meeting.")],
    investor: Annotated[str, typer.Option("--investor", help="The investor or bank of the meeting.")],
    outcome: Annotated[Outcome, typer.Option(help="What happened.")],
    no_show: Annotated[Absent | None, typer.Option("--no-show", help="With no_show: who did not come.")] = None,
    amount: Annotated[
        float | None, typer.Option("--amount", help="With intent_signed or invested: the amount in 万元.")
    ] = None,
    on: Annotated[
        str | None, typer.Option("--on", help="Signing or investment date, YYYY-MM-DD (default the roadshow's day).")
    ] = None,
) -> None:
    """Record one meeting's outcome (a new report: a correction never overwrites the previous one)."""
    from api.schemas.participants import OutcomeCreate

    with user_errors():
        item = OutcomeCreate(startup_id=startup, investor_id=investor, outcome=outcome, no_show=no_show,
                             amount_wan=amount, on=parse_date(on, "--on"))
        rows = _record(event_id, [item], batch=False)
    for row in rows:
        _print_outcome(row)
    _retrain_note()


def read_outcomes_csv(path: Path) -> list[OutcomeCreate]:
    """The rows of an outcomes CSV (header ``startup_id,investor_id,outcome[,no_show,amount_wan,on]``;
    empty cells are absent values) as the API's ``OutcomeCreate``; a bad cell names its file, row and column."""
    import msgspec

    from api.schemas.participants import OutcomeCreate

    with path.open(encoding="utf-8-sig", newline="") as handle:
        reader = csv.DictReader(handle)
        header = reader.fieldnames or []
        for column in header:
            if column not in CSV_COLUMNS:
                raise InvalidInputError(f"unknown column {column!r}; the columns are {', '.join(CSV_COLUMNS)}",
                                        field=f"{path.name}: header")
        for column in CSV_COLUMNS[:3]:
            if column not in header:
                raise InvalidInputError(f"the column {column} is missing", field=f"{path.name}: header")
        items = []
        for line, row in enumerate(reader, start=2):
            cells = {k: v.strip() for k, v in row.items() if k is not None and v is not None and v.strip()}
            try:
                items.append(msgspec.convert(cells, OutcomeCreate, strict=False))
            except msgspec.ValidationError as exc:
                message, _, at = str(exc).partition(" - at `$.")
                column = at.rstrip("`")
                value = f" ({cells[column]!r})" if column in cells else ""
                raise InvalidInputError(f"{message[:1].lower()}{message[1:]}{value}",
                                        field=f"{path.name}: row {line}" + (f", column {column}" if column else "")
                                        ) from None
    if not items:
        raise InvalidInputError("no outcome rows", field=path.name)
    return items


def _in_csv(exc: InvalidInputError, path: Path) -> InvalidInputError:
    """A batch error (``items[k].column``) as the CSV's row and column (row 1 is the header)."""
    found = _ITEM_FIELD.match(exc.field or "")
    if found is None:
        return exc
    column = f", column {found.group(2)}" if found.group(2) else ""
    return InvalidInputError(str(exc), field=f"{path.name}: row {int(found.group(1)) + 2}{column}")


def import_outcomes(
    event_id: Annotated[str, typer.Argument(help="The roadshow (event id).")],
    path: Annotated[
        Path, typer.Argument(help="CSV with columns startup_id,investor_id,outcome[,no_show,amount_wan,on].")
    ],
) -> None:
    """Record every row of a CSV as one batch: all or none (the first bad row is named)."""
    with user_errors():
        items = read_outcomes_csv(path)
        try:
            rows = _record(event_id, items, batch=True)
        except InvalidInputError as exc:
            raise _in_csv(exc, path) from None
    console.print(f"recorded {len(rows)} outcome(s) at {event_id} from {path.name}", highlight=False)
    _retrain_note()


def list_outcomes(
    event_id: Annotated[str, typer.Argument(help="The roadshow (event id).")],
    history: Annotated[bool, typer.Option("--history", help="Every report, oldest first, not only the current ones.")]
    = False,
) -> None:
    """Each meeting's current outcome at the roadshow (with --history, every report with who and when)."""
    from api.services import outcomes

    settings = _settings()
    with user_errors():
        _upgrade(settings)
        rows = _run(settings, lambda s: outcomes.list_outcomes(
            s, principal=_organiser(), event_id=event_id, history=history))
    for row in rows:
        _print_outcome(row)
    if not rows:
        console.print(f"no outcome recorded at {event_id} yet", highlight=False)


def _print_wish(startup: str, investor: str, by: str, kind: str, status: str | None) -> None:
    answer = f" ({status})" if status else ""
    console.print(f"{startup} × {investor}: {kind} from the {by}{answer}", highlight=False, markup=False)


def set_wishes(
    event_id: Annotated[str, typer.Argument(help="The roadshow (event id).")],
    participant: Annotated[str, typer.Argument(help="The startup, investor or bank whose wishes these are.")],
    must: Annotated[list[str] | None, typer.Option("--must", help="A counterpart to meet (a request it answers).")]
    = None,
    wish: Annotated[list[str] | None, typer.Option("--wish", help="A counterpart it would like to meet.")] = None,
    no: Annotated[list[str] | None, typer.Option("--no", help="A counterpart it will not meet.")] = None,
) -> None:
    """Replace the participant's whole set of wishes at the roadshow (none given: clear them)."""
    from api.schemas.participants import WishItem
    from api.services import participants

    wishes = [WishItem(counterpart_id=c, kind=kind)  # type: ignore[arg-type]  # the kinds are the literals
              for kind, names in (("must", must), ("wish", wish), ("no", no)) for c in names or []]
    settings = _settings()
    with user_errors():
        _upgrade(settings)
        view = _run(settings, lambda s: participants.set_wishes(
            s, principal=_organiser(), event_id=event_id, participant_id=participant, wishes=wishes))
    console.print(f"{view.participant_id} {view.name} at {event_id}: {len(view.wishes)} wish(es) and request(s)",
                  highlight=False)
    for w in view.wishes:
        _print_wish(w.startup_id, w.investor_id, w.by_side, w.kind, w.status)


def answer_request(
    event_id: Annotated[str, typer.Argument(help="The roadshow (event id).")],
    participant: Annotated[str, typer.Argument(help="Who received the request.")],
    counterpart: Annotated[str, typer.Argument(help="Who sent it.")],
    answer: Annotated[Answer, typer.Argument(help="accepted or declined.")],
) -> None:
    """Accept or decline a meeting request (an accepted request is a meeting the schedule must hold)."""
    from api.services import participants

    settings = _settings()
    with user_errors():
        _upgrade(settings)
        _run(settings, lambda s: participants.answer_request(
            s, principal=_organiser(), event_id=event_id, participant_id=participant, counterpart_id=counterpart,
            answer=answer))
    console.print(f"{participant} {answer} the request of {counterpart} at {event_id}", highlight=False)


def list_wishes(event_id: Annotated[str, typer.Argument(help="The roadshow (event id).")]) -> None:
    """Every wish and request at the roadshow, with its answer."""
    from api.services import participants

    settings = _settings()
    with user_errors():
        _upgrade(settings)
        rows = _run(settings, lambda s: participants.all_wishes(s, event_id=event_id))
    for w in rows:
        _print_wish(w.startup_id, w.investor_id, w.by_side, w.kind, w.status)
    if not rows:
        console.print(f"no wish stated at {event_id} yet", highlight=False)


def register(app: typer.Typer) -> None:
    outcomes_app.command("record")(record_outcome)
    outcomes_app.command("import")(import_outcomes)
    outcomes_app.command("list")(list_outcomes)
    wishes_app.command("set")(set_wishes)
    wishes_app.command("answer")(answer_request)
    wishes_app.command("list")(list_wishes)
    app.add_typer(outcomes_app, name="outcomes")
    app.add_typer(wishes_app, name="wishes")

