"""Typed settings, read from the environment only when ``Settings.from_env()`` is called."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
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


@dataclass(frozen=True, slots=True)
class Settings:
    """Everything the service needs to start. Build with ``from_env`` or directly in tests."""

    database_url: str
    data_dir: Path
    model_dir: Path
    secret: str = DEVELOPMENT_SECRET
    env: str = DEVELOPMENT
    # POST /api/startups is open to anyone: at most this many registrations per client per minute.
    registration_rate_per_minute: int = 20
    max_body_bytes: int = 1_000_000
    # How often a process checks the model registry for a newer active version.
    model_refresh_seconds: float = 5.0
    # Events with more candidate pairs than this are scheduled as a background job.
    background_schedule_pairs: int = 2_000
    echo_sql: bool = False
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
        if self.env != DEVELOPMENT and (self.secret == DEVELOPMENT_SECRET or len(self.secret) < MIN_SECRET_LENGTH):
            raise InvalidInputError(
                f"ROADSHOW_SECRET must be set to a random string of at least {MIN_SECRET_LENGTH} characters "
                f"outside development",
                field="ROADSHOW_SECRET",
            )

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
            organiser_name=env.get("ROADSHOW_ORGANISER_NAME") or None,
            organiser_email=env.get("ROADSHOW_ORGANISER_EMAIL") or None,
            default_venue=env.get("ROADSHOW_VENUE", DEFAULT_VENUE) or None,
        )

    def organiser(self) -> Organiser:
        """The calendar ORGANIZER of this deployment."""
        from matcher.scheduling.handout import Organiser

        default = Organiser()
        return Organiser(self.organiser_name or default.name, self.organiser_email or default.email)


def default_database_url(data_dir: Path) -> str:
    """The embedded default: one SQLite file under the data directory."""
    return f"sqlite+aiosqlite:///{(data_dir / 'roadshow.db').resolve()}"
