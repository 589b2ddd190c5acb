"""SQLAlchemy 2 models. Column names follow the interchange contract (DATA_FORMAT.md) so that the
frames bridge (``api.services.frames``) maps tables to the library's frames without renaming.

Rows that users edit carry a ``version`` column used for optimistic locking: an update names the
version it read and fails with 409 when someone else wrote first.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any, ClassVar

from sqlalchemy import (
    JSON,
    Boolean,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
    text,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

# Deterministic constraint names so Alembic migrations are the same on SQLite and PostgreSQL.
NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

ID = String(64)


def utcnow() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """Timestamps in UTC on every backend (SQLite drops the offset; give it back on the way out)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        return value.astimezone(UTC) if value is not None and value.tzinfo is not None else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map: ClassVar[dict[Any, Any]] = {dict[str, Any]: JSON, list[str]: JSON, list[Any]: JSON}


class Startup(Base):
    __tablename__ = "startups"

    startup_id: Mapped[str] = mapped_column(ID, primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    uscc: Mapped[str | None] = mapped_column(String(18), unique=True)
    sector: Mapped[str | None] = mapped_column(String(100), index=True)
    sub_sector: Mapped[str | None] = mapped_column(String(100))
    stage: Mapped[str | None] = mapped_column(String(16), index=True)
    founded_on: Mapped[date | None] = mapped_column(Date)
    city: Mapped[str | None] = mapped_column(String(100))
    region: Mapped[str | None] = mapped_column(String(100))
    employees: Mapped[int | None] = mapped_column(Integer)
    rd_staff: Mapped[int | None] = mapped_column(Integer)
    revenue_wan: Mapped[float | None] = mapped_column(Float)
    rd_expense_wan: Mapped[float | None] = mapped_column(Float)
    total_cost_wan: Mapped[float | None] = mapped_column(Float)
    total_assets_wan: Mapped[float | None] = mapped_column(Float)
    funding_ask_wan: Mapped[float | None] = mapped_column(Float)
    high_tech_enterprise: Mapped[bool | None] = mapped_column(Boolean)
    provincial_rd_center: Mapped[bool | None] = mapped_column(Boolean)
    national_award_5y: Mapped[bool | None] = mapped_column(Boolean)
    standards_led_5y: Mapped[int | None] = mapped_column(Integer)
    credit_flags: Mapped[int | None] = mapped_column(Integer)
    description: Mapped[str | None] = mapped_column(Text)
    # The tech-SME status of the latest stored assessment, kept here so organisers can filter on it.
    tech_sme_qualified: Mapped[bool | None] = mapped_column(Boolean, index=True)
    version: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    # Indexed: running servers poll it for profiles changed since their last look (api.services.matches).
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow, index=True)
    # Set instead of deleting a startup with history: gone from lists, matches and new events; history kept.
    archived_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    ip_assets: Mapped[list[IPAsset]] = relationship(
        back_populates="startup", cascade="all, delete-orphan", order_by="IPAsset.id", lazy="selectin"
    )

    __mapper_args__ = {"version_id_col": version}  # noqa: RUF012  # SQLAlchemy reads it as a class attribute


class IPAsset(Base):
    __tablename__ = "ip_assets"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    startup_id: Mapped[str] = mapped_column(ForeignKey("startups.startup_id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(32))
    status: Mapped[str] = mapped_column(String(16), default="granted")
    granted_on: Mapped[date | None] = mapped_column(Date)
    expires_on: Mapped[date | None] = mapped_column(Date)
    title: Mapped[str | None] = mapped_column(String(300))
    appraised_value_wan: Mapped[float | None] = mapped_column(Float)

    startup: Mapped[Startup] = relationship(back_populates="ip_assets")


class Investor(Base):
    """Investors and banks (kind ``bank``), as in investors.csv."""

    __tablename__ = "investors"

    investor_id: Mapped[str] = mapped_column(ID, primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(16), default="other", index=True)
    sectors: Mapped[list[str]] = mapped_column(default=list)
    stages: Mapped[list[str]] = mapped_column(default=list)
    regions: Mapped[list[str]] = mapped_column(default=list)
    ticket_min_wan: Mapped[float | None] = mapped_column(Float)
    ticket_max_wan: Mapped[float | None] = mapped_column(Float)
    description: Mapped[str | None] = mapped_column(Text)
    version: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    # Set instead of deleting an investor or bank with history (interactions, decisions, consents, meetings).
    archived_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    __mapper_args__ = {"version_id_col": version}  # noqa: RUF012  # SQLAlchemy reads it as a class attribute


class LoanProduct(Base):
    __tablename__ = "loan_products"

    product_id: Mapped[str] = mapped_column(ID, primary_key=True)
    bank_id: Mapped[str] = mapped_column(ForeignKey("investors.investor_id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(32))
    name: Mapped[str | None] = mapped_column(String(200))
    max_amount_wan: Mapped[float | None] = mapped_column(Float)
    max_term_months: Mapped[int | None] = mapped_column(Integer)
    min_grade: Mapped[str | None] = mapped_column(String(4))
    sectors: Mapped[list[str]] = mapped_column(default=list)
    version: Mapped[int] = mapped_column(Integer, default=1)

    __mapper_args__ = {"version_id_col": version}  # noqa: RUF012  # SQLAlchemy reads it as a class attribute


class Interaction(Base):
    __tablename__ = "interactions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    startup_id: Mapped[str] = mapped_column(ForeignKey("startups.startup_id", ondelete="CASCADE"), index=True)
    investor_id: Mapped[str] = mapped_column(ForeignKey("investors.investor_id", ondelete="CASCADE"), index=True)
    occurred_on: Mapped[date] = mapped_column(Date)
    outcome: Mapped[str] = mapped_column(String(16))
    stage: Mapped[str | None] = mapped_column(String(16))
    amount_wan: Mapped[float | None] = mapped_column(Float)
    event_id: Mapped[str | None] = mapped_column(String(64))
    # Set on the rows that stand for a reported meeting outcome (``OutcomeRecord``): the latest report of
    # the pair at that event. Rows imported from interactions.csv have none.
    outcome_record_id: Mapped[int | None] = mapped_column(
        ForeignKey("outcome_records.id", ondelete="SET NULL"), index=True
    )


class Loan(Base):
    __tablename__ = "loans"

    loan_id: Mapped[str] = mapped_column(ID, primary_key=True)
    startup_id: Mapped[str] = mapped_column(ForeignKey("startups.startup_id", ondelete="CASCADE"), index=True)
    bank_id: Mapped[str | None] = mapped_column(String(64))
    product_kind: Mapped[str | None] = mapped_column(String(32))
    amount_wan: Mapped[float | None] = mapped_column(Float)
    term_months: Mapped[int | None] = mapped_column(Integer)
    issued_on: Mapped[date] = mapped_column(Date)
    defaulted: Mapped[bool | None] = mapped_column(Boolean)


class Consent(Base):
    """A startup allows one bank to assess it, from ``granted_on`` until ``revoked_on`` (exclusive).

    History is kept: a revocation fills ``revoked_on``/``revoked_at`` on the row, a later grant is a new
    row. A consent holds on a day when ``granted_on <= day < revoked_on`` (``api.services.consents``).
    """

    __tablename__ = "consent_grants"
    __table_args__ = (Index("ix_consent_grants_bank_startup", "bank_id", "startup_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    startup_id: Mapped[str] = mapped_column(ForeignKey("startups.startup_id", ondelete="CASCADE"), index=True)
    bank_id: Mapped[str] = mapped_column(ForeignKey("investors.investor_id", ondelete="CASCADE"))
    granted_on: Mapped[date] = mapped_column(Date)
    revoked_on: Mapped[date | None] = mapped_column(Date)
    granted_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # The key that revoked it (the startup's own, an organiser's), for the record.
    revoked_by: Mapped[str | None] = mapped_column(String(64))


class ApiKey(Base):
    """A key is stored only as a keyed SHA-256 hash; the plain key is shown once when created."""

    __tablename__ = "api_keys"

    key_id: Mapped[str] = mapped_column(ID, primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    role: Mapped[str] = mapped_column(String(16))
    bank_id: Mapped[str | None] = mapped_column(ForeignKey("investors.investor_id", ondelete="CASCADE"))
    startup_id: Mapped[str | None] = mapped_column(ForeignKey("startups.startup_id", ondelete="CASCADE"))
    # An investor key's institution (an investor or a bank taking part in roadshows).
    investor_id: Mapped[str | None] = mapped_column(ForeignKey("investors.investor_id", ondelete="CASCADE"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class Assessment(Base):
    """Every eligibility decision, with the versions and input hash that reproduce it."""

    __tablename__ = "assessments"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    startup_id: Mapped[str] = mapped_column(ForeignKey("startups.startup_id", ondelete="CASCADE"), index=True)
    bank_id: Mapped[str] = mapped_column(ForeignKey("investors.investor_id", ondelete="CASCADE"), index=True)
    product_id: Mapped[str] = mapped_column(ForeignKey("loan_products.product_id", ondelete="CASCADE"))
    requested_by: Mapped[str | None] = mapped_column(String(64))
    eligible: Mapped[bool] = mapped_column(Boolean)
    policy_version: Mapped[str] = mapped_column(String(64))
    model_version: Mapped[str] = mapped_column(String(64))
    input_hash: Mapped[str] = mapped_column(String(128))
    decision: Mapped[dict[str, Any]] = mapped_column()
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class Event(Base):
    """A roadshow: past ones come from events.csv (held_on, city); new ones are posted with their grid."""

    __tablename__ = "events"

    event_id: Mapped[str] = mapped_column(ID, primary_key=True)
    name: Mapped[str | None] = mapped_column(String(200))
    held_on: Mapped[date | None] = mapped_column(Date)
    city: Mapped[str | None] = mapped_column(String(100))
    tables: Mapped[int] = mapped_column(Integer, default=0)
    slots: Mapped[list[Any]] = mapped_column(default=list)
    # Scores, requests and conflicts exactly as posted (the event.json shape).
    scores: Mapped[list[Any]] = mapped_column(default=list)
    requests: Mapped[list[Any]] = mapped_column(default=list)
    conflicts: Mapped[list[Any]] = mapped_column(default=list)
    # Before migration 0011: the summary of the latest solve (no longer written).
    summary: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    # The event as one document: event.json as matcher.scheduling resolved it (names and scores included).
    problem: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    # The latest schedule (matcher.scheduling.Schedule.to_document without its meetings, which are rows).
    schedule: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    # The organiser's limits on participants' wishes (api.schemas.participants.WishLimits); None = defaults.
    wish_limits: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    version: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    participants: Mapped[list[EventParticipant]] = relationship(
        cascade="all, delete-orphan", order_by="EventParticipant.id", lazy="selectin"
    )

    __mapper_args__ = {"version_id_col": version}  # noqa: RUF012  # SQLAlchemy reads it as a class attribute


class EventParticipant(Base):
    """Who takes part in which event: an index of ``Event.problem`` (availability and limits live there)."""

    __tablename__ = "event_participants"
    __table_args__ = (UniqueConstraint("event_id", "side", "participant_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    event_id: Mapped[str] = mapped_column(ForeignKey("events.event_id", ondelete="CASCADE"), index=True)
    side: Mapped[str] = mapped_column(String(16))  # "startup" or "investor"
    participant_id: Mapped[str] = mapped_column(String(64))
    available: Mapped[list[str] | None] = mapped_column(JSON)
    min_meetings: Mapped[int] = mapped_column(Integer, default=0)
    max_meetings: Mapped[int | None] = mapped_column(Integer)


class Meeting(Base):
    __tablename__ = "meetings"
    __table_args__ = (Index("ix_meetings_event_slot", "event_id", "slot_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    event_id: Mapped[str] = mapped_column(ForeignKey("events.event_id", ondelete="CASCADE"))
    slot_id: Mapped[str] = mapped_column(String(64))
    table: Mapped[int] = mapped_column(Integer)
    startup_id: Mapped[str] = mapped_column(String(64))
    investor_id: Mapped[str] = mapped_column(String(64))
    score: Mapped[float] = mapped_column(Float)


class EventWish(Base):
    """A participant's wish about a counterpart at one event: ``must`` (a meeting request the other side
    accepts or declines), ``wish`` (a preference) or ``no`` (a no-thanks: the pair must not meet).

    One row per (event, side that stated it, pair); restating replaces the kind and resets the answer."""

    __tablename__ = "event_wishes"
    __table_args__ = (UniqueConstraint("event_id", "by_side", "startup_id", "investor_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    event_id: Mapped[str] = mapped_column(ForeignKey("events.event_id", ondelete="CASCADE"), index=True)
    startup_id: Mapped[str] = mapped_column(String(64))
    investor_id: Mapped[str] = mapped_column(String(64))
    by_side: Mapped[str] = mapped_column(String(16))  # "startup" or "investor"
    kind: Mapped[str] = mapped_column(String(8))  # must, wish, no
    # Requests only (kind must): pending, accepted or declined by the other side.
    status: Mapped[str | None] = mapped_column(String(16))
    stated_by: Mapped[str] = mapped_column(String(64))  # key id
    stated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    answered_by: Mapped[str | None] = mapped_column(String(64))
    answered_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class OutcomeRecord(Base):
    """One report of a meeting's outcome (``matcher.outcomes``), never changed: a correction is a new
    row and the pair's current outcome is its latest row. It stands in ``interactions`` as rows that
    carry its id."""

    __tablename__ = "outcome_records"
    __table_args__ = (Index("ix_outcome_records_event_pair", "event_id", "startup_id", "investor_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    event_id: Mapped[str] = mapped_column(ForeignKey("events.event_id", ondelete="CASCADE"))
    startup_id: Mapped[str] = mapped_column(String(64))
    investor_id: Mapped[str] = mapped_column(String(64))
    outcome: Mapped[str] = mapped_column(String(16))
    no_show: Mapped[str | None] = mapped_column(String(16))
    amount_wan: Mapped[float | None] = mapped_column(Float)
    occurred_on: Mapped[date | None] = mapped_column(Date)
    # False for an intent an organiser records outside the schedule's meetings.
    scheduled: Mapped[bool] = mapped_column(Boolean, default=True)
    recorded_by: Mapped[str] = mapped_column(String(64))  # key id
    recorded_role: Mapped[str] = mapped_column(String(16))
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


ACTIVE_JOB = "status IN ('queued', 'running')"


class ScheduleJob(Base):
    """A job on the queue (``api.services.jobs``): its status, progress and outcome, readable by any process.

    ``lock_key`` names what the job must have to itself (``event:<id>``): a partial unique index allows
    one queued or running job per key, so a second solve of the same event is refused by construction."""

    __tablename__ = "schedule_jobs"
    __table_args__ = (
        Index(
            "uq_schedule_jobs_active_lock",
            "lock_key",
            unique=True,
            sqlite_where=text(ACTIVE_JOB),
            postgresql_where=text(ACTIVE_JOB),
        ),
    )

    job_id: Mapped[str] = mapped_column(ID, primary_key=True)
    event_id: Mapped[str | None] = mapped_column(ForeignKey("events.event_id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(16))  # "schedule", "reschedule", or another job kind
    status: Mapped[str] = mapped_column(String(16))  # queued, running, done, failed
    params: Mapped[dict[str, Any]] = mapped_column()
    result: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    error: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    lock_key: Mapped[str | None] = mapped_column(String(100))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    # What the worker is doing now ({"stage": "solving", ...}); refreshed with the heartbeat.
    progress: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # A running job whose heartbeat stops (its worker was killed) is retried or failed by the sweeper.
    heartbeat_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class IdempotencyRecord(Base):
    """The response to a request sent with an ``Idempotency-Key``, replayed to the same caller's retry.

    The response is sealed with a key derived from the deployment secret and the caller's idempotency key
    (``api.services.idempotency``): a registration's API key is never readable from this table alone."""

    __tablename__ = "idempotency_keys"

    caller: Mapped[str] = mapped_column(String(100), primary_key=True)
    key: Mapped[str] = mapped_column(String(200), primary_key=True)
    fingerprint: Mapped[str] = mapped_column(String(64))
    status_code: Mapped[int] = mapped_column(Integer)
    sealed_response: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, index=True)


class ModelVersion(Base):
    """The model registry (``api.services.registry``): one row is ``active`` (the champion the API serves);
    every version keeps its evaluation against the champion it challenged."""

    __tablename__ = "model_versions"

    version: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    ranking_model: Mapped[str] = mapped_column(String(64))
    ranking_path: Mapped[str] = mapped_column(String(500))
    eligibility_path: Mapped[str | None] = mapped_column(String(500))
    trained_as_of: Mapped[date] = mapped_column(Date)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    # first, activated, rejected, forced or pinned (matcher.ranking.champion.Verdict), with its numbers.
    decision: Mapped[str | None] = mapped_column(String(16))
    evaluation: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    # What it learned from: interactions, the latest outcome's date, the loan book's hash.
    training: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    activated_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # The version it replaced when it was activated: what a rollback goes back to.
    replaced_version: Mapped[int | None] = mapped_column(Integer)
    # Pinned by an organiser: retrains are evaluated and kept, but do not replace it.
    pinned: Mapped[bool] = mapped_column(Boolean, default=False)
