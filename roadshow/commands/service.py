"""Service commands: ``serve``, ``worker``, ``import``, ``export``, ``train``, ``keys create|revoke``,
``models list|pin|unpin|rollback`` and ``db upgrade``.

Each honours ``DATABASE_URL`` (default: a SQLite file under ``ROADSHOW_DATA_DIR``) through
``api.settings.Settings.from_env()``, read when the command runs, never at import. The service layer
(``api``, SQLAlchemy, Litestar) is imported inside the commands, so the other commands start fast.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, TypeVar

import typer

from roadshow.commands._common import console, err_console, load_data, parse_date, progress, user_errors
from roadshow.commands.choices import KeyRole, RankingModel

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession

    from api.settings import Settings
    from matcher.io import DataSet

T = TypeVar("T")

keys_app = typer.Typer(help="Create and revoke API keys (printed once, stored only as hashes).", no_args_is_help=True)
db_app = typer.Typer(help="Database schema management.", no_args_is_help=True)
models_app = typer.Typer(help="The model registry: list versions, pin one, unpin, roll back.", no_args_is_help=True)


def _run(settings: Settings, work: Callable[[AsyncSession], Awaitable[T]]) -> T:
    """Run one unit of work on a fresh engine (the commands are short-lived processes)."""
    import asyncio

    from api.db.engine import create_engine, session_factory

    async def main() -> T:
        engine = create_engine(settings.database_url)
        try:
            async with session_factory(engine)() as session:
                return await work(session)
        finally:
            await engine.dispose()

    return asyncio.run(main())


def database_dataset() -> DataSet:
    """Every table of the configured database as the frames the batch commands read from a directory
    (migrated first, so a fresh installation reads as empty instead of failing)."""
    from api.services.frames import load_dataset

    settings = _settings()
    with user_errors():
        _upgrade(settings)
        return _run(settings, load_dataset)


def database_names() -> dict[str, str]:
    """Startup, investor and bank id → name from the configured database, for ``schedule``.

    The same pairs ``participant_names`` takes from ``database_dataset()``, read with two queries and without
    the ORM or a migration: those cost a second of start-up, against the ≤ 1.5 s a tiny schedule must take
    (``python -m bench.run --only cli``). A database not created yet, or without those tables, has no names."""
    import asyncio

    from sqlalchemy import inspect, text
    from sqlalchemy.engine import make_url
    from sqlalchemy.ext.asyncio import create_async_engine

    settings = _settings()
    url = make_url(settings.database_url)
    if url.get_backend_name() == "sqlite" and (not url.database or not Path(url.database).exists()):
        return {}

    async def main() -> dict[str, str]:
        engine = create_async_engine(url, hide_parameters=True)
        try:
            async with engine.connect() as conn:
                present = await conn.run_sync(lambda c: set(inspect(c).get_table_names()))
                if not {"startups", "investors"} <= present:
                    return {}
                rows = [*await conn.execute(text("SELECT startup_id, name FROM startups")),
                        *await conn.execute(text("SELECT investor_id, name FROM investors"))]
            return {key: name for key, name in rows if name}
        finally:
            await engine.dispose()

    with user_errors():
        return asyncio.run(main())


def _settings() -> Settings:
    from api.settings import Settings

    with user_errors():
        return Settings.from_env()


def _upgrade(settings: Settings) -> None:
    from api.db.migrate import upgrade

    upgrade(settings.database_url)


def upgrade_db() -> None:
    """Create or migrate the database schema to the newest revision (Alembic)."""
    settings = _settings()
    with user_errors():
        _upgrade(settings)
    console.print(f"database at revision head: {_safe_url(settings)}")


def _safe_url(settings: Settings) -> str:
    from sqlalchemy.engine import make_url

    return make_url(settings.database_url).render_as_string(hide_password=True)


def _import(settings: Settings, directory: Path, encoding: str) -> dict[str, int]:
    from api.services.frames import import_dataset

    data = load_data(directory, encoding)  # validated before anything is written
    return _run(settings, lambda session: import_dataset(session, data))


def import_data(
    directory: Annotated[Path, typer.Argument(help="Data directory as in DATA_FORMAT.md.")],
    encoding: Annotated[str, typer.Option(help="Text encoding of the CSV files.")] = "utf-8",
) -> None:
    """Load a data directory into the database: validated first, then one transaction (all or nothing)."""
    settings = _settings()
    with user_errors():
        _upgrade(settings)
        counts = _import(settings, directory, encoding)
    console.print("imported " + ", ".join(f"{n} {t}" for t, n in counts.items() if n))


def export_data(
    out: Annotated[Path, typer.Option("--out", help="Directory to write the interchange files into.")],
    fmt: Annotated[str, typer.Option("--format", help="csv or parquet.")] = "csv",
) -> None:
    """Write the configured database as a data directory (DATA_FORMAT.md), consents.csv included."""
    from matcher.io import write_data_dir

    data = database_dataset()
    with user_errors():
        written = write_data_dir(data, out, fmt=fmt)  # type: ignore[arg-type]  # checked: csv or parquet
    console.print("wrote " + ", ".join(p.name for p in written) + f" to {out}", highlight=False)


def _train(settings: Settings, as_of: date | None, model: str, force: bool = False) -> None:
    from api.services.training import train as train_models

    with progress(f"training: reading the database, fitting the {model} ranking and default-risk models"):
        row = _run(settings, lambda s: train_models(
            s, model_dir=settings.model_dir, as_of=as_of, ranking_model=model, force=force,
            tolerance=settings.retrain_tolerance, holdout_share=settings.retrain_holdout_share,
            niceness=settings.retrain_niceness))
    pd_model = "trained on the loan book" if row.eligibility_path else "documented prior (too few loans)"
    reason = (row.evaluation or {}).get("reason", "")
    serving = ("activated: running servers switch to it within seconds" if row.active
               else "kept, not activated (the serving version stays)")
    console.print(
        f"registered model version {row.version}: ranking {row.ranking_model} as of {row.trained_as_of}, "
        f"default-risk model {pd_model}; {row.decision}: {reason}; {serving}",
        highlight=False, soft_wrap=True,
    )


def train(
    as_of: Annotated[
        str | None, typer.Option("--as-of", help="Fit on history before this date (default today).")
    ] = None,
    model: Annotated[RankingModel, typer.Option(help="The ranking model: learned or a baseline.")] = "learned",
    force: Annotated[
        bool, typer.Option("--force", help="Activate the new version even if it is worse than the serving one.")
    ] = False,
) -> None:
    """Fit the ranking and eligibility models on the database and register a new model version.

    The new ranking model is judged against the serving one on the newest outcomes and activated only if
    its NDCG@10 is not lower by more than ROADSHOW_RETRAIN_TOLERANCE (0.02), unless --force."""
    settings = _settings()
    with user_errors():
        _upgrade(settings)
        _train(settings, parse_date(as_of, "--as-of"), model, force)


def _print_version(row: Any) -> None:
    evaluation = row.evaluation or {}
    challenger = evaluation.get("challenger") or {}
    ndcg = f"NDCG@{evaluation.get('k', 10)} {challenger['ndcg']:.4f}" if challenger else "not evaluated"
    flags = " ".join(f for f, on in (("serving", row.active), ("pinned", row.pinned)) if on)
    console.print(f"{row.version:>4}  {row.ranking_model:<18} as of {row.trained_as_of}  {row.decision or '—':<9}  "
                  f"{ndcg}  {flags}", highlight=False, soft_wrap=True)


def list_models() -> None:
    """Every model version, newest first: its decision, its NDCG on the newest outcomes, which one serves."""
    from api.services.registry import list_versions

    settings = _settings()
    with user_errors():
        _upgrade(settings)
        rows = _run(settings, list_versions)
    for row in rows:
        _print_version(row)


def pin_model(version: Annotated[int, typer.Argument(min=1, help="The version to serve and keep.")]) -> None:
    """Serve this version and keep it: retrains are still evaluated and kept, but do not replace it."""
    from api.services.registry import pin

    settings = _settings()
    with user_errors():
        row = _run(settings, lambda s: pin(s, version))
    console.print(f"version {row.version} serves and is pinned; running servers switch within seconds")


def unpin_model() -> None:
    """Let retrains replace the serving version again when they are not worse."""
    from api.services.registry import unpin

    settings = _settings()
    with user_errors():
        row = _run(settings, unpin)
    console.print(f"version {row.version} serves, unpinned")


def rollback_model() -> None:
    """Serve again the version the serving one replaced (pinned, so the next retrain does not undo it)."""
    from api.services.registry import rollback

    settings = _settings()
    with user_errors():
        row = _run(settings, rollback)
    console.print(f"rolled back: version {row.version} serves again, pinned; running servers switch within seconds")


def create_key(
    role: Annotated[KeyRole, typer.Option(help="What the key may do.")],
    name: Annotated[str, typer.Option(help="Who the key is for (shown in listings).")],
    bank_id: Annotated[str | None, typer.Option("--bank-id", help="The bank a bank key is bound to.")] = None,
    startup_id: Annotated[
        str | None, typer.Option("--startup-id", help="The startup a startup key is bound to.")
    ] = None,
    investor_id: Annotated[
        str | None,
        typer.Option("--investor-id", help="The investor or bank institution an investor key is bound to."),
    ] = None,
) -> None:
    """Create an API key and print it once; only its hash is stored."""
    from api.services.keys import Role
    from api.services.keys import create_key as create

    settings = _settings()
    parsed = Role(role)
    with user_errors():
        _upgrade(settings)
        created = _run(
            settings,
            lambda s: create(
                s,
                role=parsed,
                name=name,
                secret=settings.secret,
                bank_id=bank_id,
                startup_id=startup_id,
                investor_id=investor_id,
            ),
        )
    err_console.print(f"key {created.key_id} ({created.role}) for {name}; store it now, it is not shown again:")
    typer.echo(created.api_key)


def revoke_key(key_id: Annotated[str, typer.Argument(help="The key id printed when it was created.")]) -> None:
    """Revoke an API key (it stops working within a few seconds on running servers)."""
    from api.services.keys import revoke_key as revoke

    settings = _settings()
    with user_errors():
        _run(settings, lambda s: revoke(s, key_id=key_id))
    console.print(f"revoked {key_id}")


def open_database(import_if_empty: Path | None) -> tuple[str, dict[str, int]]:
    """Migrate the configured database and load ``import_if_empty`` into it when it holds nothing yet.

    Returns the database URL (password hidden) and the imported row counts (empty when nothing was imported).
    """
    from api.services.frames import is_empty

    settings = _settings()
    counts: dict[str, int] = {}
    with user_errors():
        _upgrade(settings)
        if import_if_empty is not None and _run(settings, is_empty):
            counts = _import(settings, import_if_empty, "utf-8")
    return _safe_url(settings), counts


def serve(  # noqa: PLR0917  # typer passes options by keyword; the order is the --help order
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="TCP port.")] = 8000,
    import_if_empty: Annotated[
        Path | None, typer.Option("--import-if-empty", help="Load this data directory when the database is empty.")
    ] = None,
    workers: Annotated[
        int, typer.Option(min=1, max=64, help="API processes (use PostgreSQL and REDIS_URL for more than one).")
    ] = 1,
    job_worker: Annotated[
        bool,
        typer.Option(
            "--job-worker/--no-job-worker",
            help="Also run the job queue's worker in each API process (the default); with --no-job-worker, "
            "run `roadshow worker` apart.",
        ),
    ] = True,
    access_log: Annotated[bool, typer.Option("--access-log/--no-access-log", help="One JSON line per request.")] = True,
) -> None:
    """Run the HTTP API (OpenAPI docs under /schema). Migrates the database first."""
    import os

    import uvicorn

    from api.services.frames import is_empty
    from api.services.models import has_registered_model

    _, counts = open_database(import_if_empty)
    if counts:
        console.print("imported " + ", ".join(f"{n} {t}" for t, n in counts.items() if n))
    settings = _settings()
    with user_errors():
        if not _run(settings, has_registered_model) and not _run(settings, is_empty):
            console.print("no model registered yet: training one on the database")
            try:
                _train(settings, None, "learned")
            except Exception as exc:  # the service still starts; matches wait for `roadshow train`
                first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
                err_console.print(
                    f"[yellow]warning:[/yellow] no model could be trained yet ({first}); serving without matches "
                    "until `roadshow train` succeeds",
                    highlight=False,
                    soft_wrap=True,
                )
    if settings.uses_development_secret:
        err_console.print(
            "[yellow]warning:[/yellow] ROADSHOW_SECRET is not set: keys are hashed with the development secret; "
            "set ROADSHOW_SECRET and ROADSHOW_ENV=production before real use",
            highlight=False,
            soft_wrap=True,
        )
    if workers > 1 and (settings.is_sqlite or not settings.redis_url):
        err_console.print(
            "[yellow]warning:[/yellow] several workers share limits and caches only through PostgreSQL and "
            "REDIS_URL; rate limits are per process without Redis",
            highlight=False,
            soft_wrap=True,
        )
    # Read by the app factory in every worker process.
    os.environ["ROADSHOW_EMBEDDED_WORKER"] = "1" if job_worker else "0"
    console.print(f"serving on http://{host}:{port}  (docs: http://{host}:{port}/schema)")
    uvicorn.run(
        "api.app:app_from_env",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        access_log=False,
        # X-Forwarded-For is read by the app, only from TRUSTED_PROXIES (uvicorn would trust 127.0.0.1).
        proxy_headers=False,
        log_config=_log_config(access_log),
    )


def _log_config(access_log: bool) -> dict[str, Any]:
    """Warnings of the service and uvicorn on stderr; the access log (JSON lines) on stdout."""
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {
            "plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"},
            "line": {"format": "%(message)s"},
        },
        "handlers": {
            "stderr": {"class": "logging.StreamHandler", "formatter": "plain", "stream": "ext://sys.stderr"},
            "stdout": {"class": "logging.StreamHandler", "formatter": "line", "stream": "ext://sys.stdout"},
        },
        "loggers": {
            "uvicorn": {"handlers": ["stderr"], "level": "WARNING", "propagate": False},
            "uvicorn.error": {"handlers": ["stderr"], "level": "WARNING", "propagate": False},
            "huey": {"handlers": ["stderr"], "level": "WARNING", "propagate": False},
            "api": {"handlers": ["stderr"], "level": "WARNING", "propagate": False},
            "api.access": {
                "handlers": ["stdout"],
                "level": "INFO" if access_log else "WARNING",
                "propagate": False,
            },
        },
    }


def worker(
    threads: Annotated[int, typer.Option(min=1, max=32, help="Jobs run at once by this process.")] = 1,
) -> None:
    """Run the job queue's worker (solves, re-plans) until stopped; start as many as the machine holds.

    Needs REDIS_URL to serve API processes on other machines; without it the queue is a SQLite file
    under ROADSHOW_DATA_DIR, shared with the API processes of this machine."""
    import logging.config

    from api.services.jobs import run_worker

    settings = _settings()
    with user_errors():
        _upgrade(settings)
    logging.config.dictConfig(_log_config(access_log=False))
    where = "Redis" if settings.redis_url else f"{settings.data_dir / 'queue.db'}"
    console.print(f"job worker with {threads} thread(s) on the queue in {where}; stop with Ctrl-C")
    run_worker(settings, threads)


def register(app: typer.Typer) -> None:
    app.command("serve")(serve)
    app.command("worker")(worker)
    app.command("import")(import_data)
    app.command("export")(export_data)
    app.command("train")(train)
    keys_app.command("create")(create_key)
    keys_app.command("revoke")(revoke_key)
    db_app.command("upgrade")(upgrade_db)
    models_app.command("list")(list_models)
    models_app.command("pin")(pin_model)
    models_app.command("unpin")(unpin_model)
    models_app.command("rollback")(rollback_model)
    app.add_typer(keys_app, name="keys")
    app.add_typer(db_app, name="db")
    app.add_typer(models_app, name="models")
