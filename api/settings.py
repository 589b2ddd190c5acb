"""Typed settings, read from the environment only when ``Settings.from_env()`` is called."""

from __future__ import annotations

import ipaddress
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from matcher.errors import InvalidInputError

if TYPE_CHECKING:
    from matcher.scheduling.handout import Organiser

DEVELOPMENT = "development"
PRODUCTION = "production"
ENVIRONMENTS = (DEVELOPMENT, PRODUCTION)

# Used only in development so that `roadshow serve` works out of the box; refused in production.
DEVELOPMENT_SECRET = "development-secret-do-not-use-in-production"
MIN_SECRET_LENGTH = 32
DEFAULT_VENUE = "湘潭高新区"
DEFAULT_NICENESS = 10  # a retrain's fit yields to the API (see Settings.retrain_niceness)
DEFAULT_RANKING_NICENESS = 15  # ranking processes yield to the event loop (see Settings.ranking_niceness)
MAX_NICENESS = 19
# Connections one process keeps open (see Settings.database_pool_size), and how many more it may open at a peak.
DEFAULT_DATABASE_POOL_SIZE = 20
DEFAULT_DATABASE_MAX_OVERFLOW = 10


def default_ranking_processes() -> int:
    """One ranking process on a 2-core machine (the event loop keeps the other core), one fewer than the
    cores on a larger one, at most four."""
    return max(1, min(4, (os.cpu_count() or 2) - 1))


@dataclass(frozen=True, slots=True)
class Settings:
    """Everything the service needs to start. Build with ``from_env`` or directly in tests."""

    database_url: str
    data_dir: Path
    model_dir: Path
    secret: str = DEVELOPMENT_SECRET
    env: str = DEVELOPMENT
    # POST /api/startups is open to anyone: at most this many registrations per client address per minute.
    registration_rate_per_minute: int = 20
    # Requests made with a key: at most this many per key per minute (staff bulk work stays possible).
    key_rate_per_minute: int = 6_000
    # Addresses (or CIDR networks) of proxies whose X-Forwarded-For is believed; none by default.
    trusted_proxies: tuple[str, ...] = ()
    # Shared store for rate limits and the job queue across processes; None: in memory / SQLite.
    redis_url: str | None = None
    # Every Redis key of this deployment starts with this (several deployments may share one Redis).
    redis_prefix: str = "roadshow"
    # Seconds a client is told to wait when the database is unavailable (503 Retry-After).
    retry_after_seconds: int = 5
    max_body_bytes: int = 1_000_000
    # How often a process checks the model registry for a newer active version.
    model_refresh_seconds: float = 5.0
    # Events with more candidate pairs than this are scheduled as a background job.
    background_schedule_pairs: int = 2_000
    echo_sql: bool = False
    # Database connections one process keeps open. Above it, up to ``database_max_overflow`` more are opened
    # and closed again after each use: with SQLite each such connection starts and ends a thread of its own,
    # which the event loop waits on. 20 covers eight /health probes beside eight investors' lists in flight
    # (bench/lists.py); SQLAlchemy's default of 5 made most of those requests open a connection of their own.
    database_pool_size: int = DEFAULT_DATABASE_POOL_SIZE
    database_max_overflow: int = DEFAULT_DATABASE_MAX_OVERFLOW
    # Run the job worker inside ``serve`` (the embedded default); ``roadshow worker`` runs it apart.
    embedded_worker: bool = True
    # Worker threads of one job worker (solves are CPU-heavy: one or two per core).
    job_threads: int = 1
    # Worker processes of one API process for ranking (api.services.compute): one on 2 cores.
    ranking_processes: int = field(default_factory=default_ranking_processes)
    # The CPU priority of those processes, below the event loop's: on 2 cores the rankings otherwise take
    # the core the event loop needs and /health slows to a third of its idle rate (bench/lists.py); at 5
    # it kept under half, at 15 about four fifths, a lone list's p95 unchanged.
    ranking_niceness: int = DEFAULT_RANKING_NICENESS
    # A running job whose worker sent no heartbeat for this long is retried (or failed after two tries).
    job_lease_seconds: float = 30.0
    # A retrained ranker replaces the serving one unless its NDCG@10 on the newest outcomes (the newest
    # share of the interactions) is lower by more than this (matcher.ranking.champion explains the value).
    retrain_tolerance: float = 0.02
    retrain_holdout_share: float = 0.2
    # Recorded outcomes start one retrain this many seconds after the first of a burst; outcomes recorded
    # meanwhile are in it (one job per burst).
    retrain_debounce_seconds: float = 30.0
    # The CPU priority of a retrain's fit (a child process): nice 10 yields to the API about 9:1 on a busy
    # machine; 19 gives it only idle CPU (slow when other work keeps the cores busy), 0 competes evenly.
    retrain_niceness: int = DEFAULT_NICENESS
    # Whether recorded outcomes start that retrain at all (off: retrains only on request or `roadshow train`).
    retrain_on_outcomes: bool = True
    # Who the handouts' calendar entries name as ORGANIZER (None: the library's default, see
    # matcher.scheduling.Organiser), and the venue of events that name none.
    organiser_name: str | None = None
    organiser_email: str | None = None
    default_venue: str | None = DEFAULT_VENUE

    def __post_init__(self) -> None:
        if self.env not in ENVIRONMENTS:
            raise InvalidInputError(
                f"ROADSHOW_ENV must be one of {', '.join(ENVIRONMENTS)}, not {self.env!r}", field="ROADSHOW_ENV"
            )
        try:
            for proxy in self.trusted_proxies:
                ipaddress.ip_network(proxy, strict=False)
        except ValueError as exc:
            raise InvalidInputError(f"TRUSTED_PROXIES: {exc}", field="TRUSTED_PROXIES") from None
        check_database_url(self.database_url)
        if self.env != DEVELOPMENT and (self.secret == DEVELOPMENT_SECRET or len(self.secret) < MIN_SECRET_LENGTH):
            raise InvalidInputError(
                f"ROADSHOW_SECRET must be set to a random string of at least {MIN_SECRET_LENGTH} characters "
                f"outside development",
                field="ROADSHOW_SECRET",
            )

    @property
    def uses_development_secret(self) -> bool:
        return self.secret == DEVELOPMENT_SECRET

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if environ is None else environ
        data_dir = Path(env.get("ROADSHOW_DATA_DIR", "./var"))
        database_url = env.get("DATABASE_URL") or default_database_url(data_dir)
        model_dir = Path(env.get("ROADSHOW_MODEL_DIR") or data_dir / "models")
        return cls(
            database_url=database_url,
            data_dir=data_dir,
            model_dir=model_dir,
            secret=env.get("ROADSHOW_SECRET") or DEVELOPMENT_SECRET,
            env=env.get("ROADSHOW_ENV", DEVELOPMENT),
            trusted_proxies=tuple(p.strip() for p in env.get("TRUSTED_PROXIES", "").split(",") if p.strip()),
            redis_url=env.get("REDIS_URL") or None,
            redis_prefix=env.get("ROADSHOW_REDIS_PREFIX") or "roadshow",
            registration_rate_per_minute=_int(env, "ROADSHOW_REGISTRATIONS_PER_MINUTE", 20),
            key_rate_per_minute=_int(env, "ROADSHOW_KEY_REQUESTS_PER_MINUTE", 6_000),
            database_pool_size=_int(env, "ROADSHOW_DATABASE_POOL_SIZE", DEFAULT_DATABASE_POOL_SIZE),
            database_max_overflow=_int(env, "ROADSHOW_DATABASE_MAX_OVERFLOW", DEFAULT_DATABASE_MAX_OVERFLOW),
            job_lease_seconds=float(_int(env, "ROADSHOW_JOB_LEASE_SECONDS", 30)),
            retrain_tolerance=_fraction(env, "ROADSHOW_RETRAIN_TOLERANCE", 0.02),
            retrain_holdout_share=_fraction(env, "ROADSHOW_RETRAIN_HOLDOUT_SHARE", 0.2),
            retrain_debounce_seconds=float(_int(env, "ROADSHOW_RETRAIN_DEBOUNCE_SECONDS", 30)),
            retrain_niceness=_niceness(env, "ROADSHOW_RETRAIN_NICENESS", DEFAULT_NICENESS),
            retrain_on_outcomes=env.get("ROADSHOW_RETRAIN_ON_OUTCOMES", "1").strip().lower()
            not in ("0", "false", "no"),
            ranking_processes=_int(env, "ROADSHOW_RANKING_PROCESSES", default_ranking_processes()),
            ranking_niceness=_niceness(env, "ROADSHOW_RANKING_NICENESS", DEFAULT_RANKING_NICENESS),
            embedded_worker=env.get("ROADSHOW_EMBEDDED_WORKER", "1").strip().lower() not in ("0", "false", "no"),
            organiser_name=env.get("ROADSHOW_ORGANISER_NAME") or None,
            organiser_email=env.get("ROADSHOW_ORGANISER_EMAIL") or None,
            default_venue=env.get("ROADSHOW_VENUE", DEFAULT_VENUE) or None,
        )

    def organiser(self) -> Organiser:
        """The calendar ORGANIZER of this deployment."""
        from matcher.scheduling.handout import Organiser

        default = Organiser()
        return Organiser(self.organiser_name or default.name, self.organiser_email or default.email)


def check_database_url(url: str) -> None:
    """Refuse a URL SQLAlchemy cannot parse or whose driver is not asynchronous, naming DATABASE_URL."""
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError, NoSuchModuleError

    example = "sqlite+aiosqlite:///path/roadshow.db or postgresql+asyncpg://user@host/db"
    try:
        dialect = make_url(url).get_dialect()
    except (ArgumentError, NoSuchModuleError, ValueError) as exc:
        raise InvalidInputError(f"cannot be used ({exc}); e.g. {example}", field="DATABASE_URL") from None
    if not getattr(dialect, "is_async", False):
        raise InvalidInputError(
            f"names the synchronous driver {dialect.driver!r}; use an async one, e.g. {example}",
            field="DATABASE_URL",
        )


def _int(env: Mapping[str, str], name: str, default: int) -> int:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise InvalidInputError(f"{name} must be a whole number, not {raw!r}", field=name) from None
    if not 1 <= value <= 1_000_000:
        raise InvalidInputError(f"{name} must be between 1 and 1000000, not {value}", field=name)
    return value


def _niceness(env: Mapping[str, str], name: str, default: int) -> int:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    if not raw.isdigit() or not 0 <= int(raw) <= MAX_NICENESS:
        raise InvalidInputError(f"{name} must be a whole number from 0 to {MAX_NICENESS}, not {raw!r}", field=name)
    return int(raw)


def default_database_url(data_dir: Path) -> str:
    """The embedded default: one SQLite file under the data directory."""
    return f"sqlite+aiosqlite:///{(data_dir / 'roadshow.db').resolve()}"


def _fraction(env: Mapping[str, str], name: str, default: float) -> float:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        raise InvalidInputError(f"{name} must be a number, not {raw!r}", field=name) from None
    if not 0.0 <= value < 1.0:
        raise InvalidInputError(f"{name} must be at least 0 and below 1, not {value}", field=name)
    return value
