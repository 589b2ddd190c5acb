"""Startup profiles: self-service registration, reads, optimistic-locked updates, consents, listings."""

from __future__ import annotations

import secrets
from typing import Any

import msgspec
from sqlalchemy import exists, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from stdnum.cn import uscc as uscc_checker
from stdnum.exceptions import ValidationError as StdnumValidationError

from api.db.models import Assessment, Consent, Investor, IPAsset, Startup, utcnow
from api.schemas.startups import (
    AssessmentSummary,
    ConsentsRead,
    IPAssetIn,
    IPAssetRead,
    StartupCreate,
    StartupPage,
    StartupRead,
    StartupRegistered,
    StartupUpdate,
)
from api.services import archive, consents, idempotency, tech_sme
from api.services.idempotency import IdempotentRequest, Replay
from api.services.keys import KEY_NAME_LENGTH, Principal, Role, new_key_row
from matcher.errors import ConflictError, InvalidInputError, NotFoundError, PermissionDeniedError
from matcher.io import TABLES
from matcher.plausibility import check_record, check_records

_PROFILE_FIELDS = tuple(f for f in StartupCreate.__struct_fields__ if f not in ("ip_assets", "consents"))


def check_uscc(value: str | None) -> str | None:
    """统一社会信用代码 with a valid check character, or an error naming the field."""
    if value is None:
        return None
    try:
        return str(uscc_checker.validate(value))
    except StdnumValidationError as exc:
        raise InvalidInputError(f"{value!r} is not a valid 统一社会信用代码: {exc}", field="uscc") from None


def to_read(row: Startup) -> StartupRead:
    return StartupRead(
        startup_id=row.startup_id,
        **{f: getattr(row, f) for f in _PROFILE_FIELDS},
        tech_sme_qualified=row.tech_sme_qualified,
        ip_assets=[
            IPAssetRead(
                kind=a.kind,
                status=a.status,
                granted_on=a.granted_on,
                expires_on=a.expires_on,
                title=a.title,
                appraised_value_wan=a.appraised_value_wan,
            )
            for a in row.ip_assets
        ],
        version=row.version,
        created_at=row.created_at,
        updated_at=row.updated_at,
        archived_at=row.archived_at,
    )


def _ip_rows(assets: list[IPAssetIn]) -> list[IPAsset]:
    values = [msgspec.structs.asdict(a) for a in assets]
    # The same plausibility rules as validate/import (matcher.plausibility), named by JSON field.
    check_records("ip_assets", values, TABLES["ip_assets"].schema, field_prefix="ip_assets")
    return [IPAsset(**v) for v in values]


def _check_profile(values: dict[str, Any]) -> None:
    profile = {k: (v.value if hasattr(v, "value") else v) for k, v in values.items()}
    check_record("startups", profile, TABLES["startups"].schema)


def _bank_may_see(principal: Principal) -> bool:
    return principal.role is Role.BANK and principal.bank_id is not None


async def _uscc_taken(session: AsyncSession, uscc: str, *, other_than: str | None = None) -> bool:
    query = select(Startup.startup_id).where(Startup.uscc == uscc)
    if other_than is not None:
        query = query.where(Startup.startup_id != other_than)
    return (await session.scalar(query)) is not None


SELF_REGISTRATION = "self-registration of "


def registration_key_name(name: str) -> str:
    """The name of a self-registered startup's key, shortened so it always fits its column."""
    room = KEY_NAME_LENGTH - len(SELF_REGISTRATION)
    return SELF_REGISTRATION + (name if len(name) <= room else name[: room - 1] + "…")


async def register(
    session: AsyncSession, *, body: StartupCreate, secret: str, idempotent: IdempotentRequest | None = None
) -> StartupRegistered | Replay:
    """Create the profile, its IP assets, its consents and its own key, all in one transaction.

    With ``idempotent``, a retry of the same request replays the first response (its key included)."""
    try:
        return await _register(session, body=body, secret=secret, idempotent=idempotent)
    except IntegrityError:
        if idempotent is None:
            raise
        # The same request raced itself: the first one committed, so replay it.
        async with session.begin():
            replay = await idempotency.recall(session, idempotent)
        if replay is None:
            raise
        return replay


async def _register(
    session: AsyncSession, *, body: StartupCreate, secret: str, idempotent: IdempotentRequest | None
) -> StartupRegistered | Replay:
    uscc = check_uscc(body.uscc)
    values: dict[str, Any] = {f: getattr(body, f) for f in _PROFILE_FIELDS}
    values["uscc"] = uscc
    _check_profile(values)
    ip_rows = _ip_rows(body.ip_assets)
    async with session.begin():
        if idempotent is not None:
            replay = await idempotency.recall(session, idempotent)
            if replay is not None:
                return replay
        if uscc is not None and await _uscc_taken(session, uscc):
            raise ConflictError(f"a startup with 统一社会信用代码 {uscc} is already registered", field="uscc")
        bank_ids = await consents.check_banks(session, body.consents, "consents")
        startup_id = "st_" + secrets.token_hex(6)
        row = Startup(startup_id=startup_id, **values, ip_assets=ip_rows)
        session.add(row)
        # The unit of work orders inserts by relationships, not foreign keys: write the startup first.
        await session.flush()
        consents.grant(session, startup_id, bank_ids)
        key_row, api_key = new_key_row(
            role=Role.STARTUP, name=registration_key_name(body.name), secret=secret, startup_id=startup_id
        )
        session.add(key_row)
        await tech_sme.refresh(session, [startup_id])
        await session.refresh(row)
        registered = StartupRegistered(startup=to_read(row), key_id=key_row.key_id, api_key=api_key)
        if idempotent is not None:
            await idempotency.remember(session, idempotent, 201, registered)
    return registered


async def _load(session: AsyncSession, startup_id: str) -> Startup:
    row = await session.get(Startup, startup_id)
    if row is None:
        raise NotFoundError(f"no startup with id {startup_id}")
    return row


async def get(session: AsyncSession, *, principal: Principal, startup_id: str) -> StartupRead:
    """The startup itself and organisers; a bank only while the startup's consent to it holds."""
    if _bank_may_see(principal):
        async with session.begin():
            row = await _load(session, startup_id)
            if not await consents.consenting(session, principal.bank_id or "", [startup_id]):
                raise PermissionDeniedError(
                    f"startup {startup_id} has not consented to assessment by bank {principal.bank_id}")
            return to_read(row)
    principal.require_startup_access(startup_id)
    async with session.begin():
        return to_read(await _load(session, startup_id))


async def update(session: AsyncSession, *, principal: Principal, startup_id: str, body: StartupUpdate) -> StartupRead:
    principal.require_startup_access(startup_id)
    changes = {f: v for f, v in msgspec.structs.asdict(body).items() if v is not msgspec.UNSET and f != "version"}
    if "uscc" in changes:
        changes["uscc"] = check_uscc(changes["uscc"])
    ip_assets = changes.pop("ip_assets", None)
    ip_rows = _ip_rows(ip_assets) if ip_assets is not None else None
    async with session.begin():
        row = await _load(session, startup_id)
        archive.refuse_archived(row, "startup", startup_id)
        if row.version != body.version:
            raise ConflictError(
                f"startup {startup_id} is at version {row.version}, not {body.version}; reload and retry",
                field="version",
            )
        if changes.get("uscc") and await _uscc_taken(session, changes["uscc"], other_than=startup_id):
            raise ConflictError(f"another startup has 统一社会信用代码 {changes['uscc']}", field="uscc")
        for name, value in changes.items():
            setattr(row, name, value)
        _check_profile({f: getattr(row, f) for f in _PROFILE_FIELDS})
        if ip_rows is not None:
            row.ip_assets = ip_rows
            # The IP list lives in another table; touching the row makes a list-only change bump the version.
            row.updated_at = utcnow()
        await session.flush()
        await tech_sme.refresh(session, [startup_id])
        await session.refresh(row)
    return to_read(row)


async def remove(session: AsyncSession, *, principal: Principal, startup_id: str) -> bool:
    """Archive the profile when it has history, delete it otherwise; True when archived."""
    principal.require_startup_access(startup_id)
    async with session.begin():
        return await archive.remove(session, await _load(session, startup_id))


async def list_startups(
    session: AsyncSession,
    *,
    principal: Principal | None = None,
    q: str | None = None,
    sector: str | None = None,
    stage: str | None = None,
    tech_sme: bool | None = None,
    consented_to: str | None = None,
    limit: int = 50,
    offset: int = 0,
) -> StartupPage:
    """Startups matching every filter given: ``q`` is any part of the name (Chinese included) or the id;
    ``consented_to`` keeps those whose consent to that bank holds today. For an API caller
    (``principal``): organisers see every startup, a bank exactly those consenting to it today."""
    if principal is not None and principal.role is Role.BANK:
        consented_to = principal.bank_id or ""
    elif principal is not None and not principal.is_staff:
        raise PermissionDeniedError("listing startups needs an organiser's or a bank's key")
    query = select(Startup).where(Startup.archived_at.is_(None))
    if q:
        pattern = "%" + q.strip().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        query = query.where(Startup.name.ilike(pattern, escape="\\") | Startup.startup_id.ilike(pattern, escape="\\"))
    if consented_to is not None:
        query = query.where(exists().where(Consent.startup_id == Startup.startup_id, Consent.bank_id == consented_to,
                                           consents.holds()))
    if sector is not None:
        query = query.where(Startup.sector == sector)
    if stage is not None:
        query = query.where(Startup.stage == stage)
    if tech_sme is not None:
        query = query.where(Startup.tech_sme_qualified.is_(tech_sme))
    async with session.begin():
        total = await session.scalar(select(func.count()).select_from(query.subquery())) or 0
        rows = (await session.scalars(query.order_by(Startup.startup_id).limit(limit).offset(offset))).all()
        return StartupPage(items=[to_read(r) for r in rows], total=total, limit=limit, offset=offset)


async def put_consents(
    session: AsyncSession, *, principal: Principal, startup_id: str, bank_ids: list[str]
) -> ConsentsRead:
    """Make ``bank_ids`` the banks allowed to assess the startup: new ones are granted today, dropped
    ones revoked today (effective at once, recorded in the history)."""
    principal.require_startup_access(startup_id)
    async with session.begin():
        archive.refuse_archived(await _load(session, startup_id), "startup", startup_id)
        await consents.set_banks(session, startup_id, bank_ids, by=principal.key_id)
    return await get_consents(session, principal=principal, startup_id=startup_id)


async def revoke_consent(session: AsyncSession, *, principal: Principal, startup_id: str, bank_id: str) -> ConsentsRead:
    """Revoke one bank's consent now; the grant stays in the history with today's revocation date."""
    principal.require_startup_access(startup_id)
    async with session.begin():
        await _load(session, startup_id)
        if bank_id not in await consents.current_banks(session, startup_id):
            raise NotFoundError(f"startup {startup_id} has no consent in force for bank {bank_id}")
        await consents.revoke(session, startup_id, [bank_id], by=principal.key_id)
    return await get_consents(session, principal=principal, startup_id=startup_id)


async def get_consents(session: AsyncSession, *, principal: Principal, startup_id: str) -> ConsentsRead:
    principal.require_startup_access(startup_id)
    async with session.begin():
        await _load(session, startup_id)
        banks = await consents.current_banks(session, startup_id)
        record = await consents.history(session, startup_id)
    return ConsentsRead(startup_id=startup_id, bank_ids=banks, history=record)


async def assessments_of(session: AsyncSession, *, principal: Principal, startup_id: str) -> list[AssessmentSummary]:
    """Which banks assessed the startup, for which product and when (newest first)."""
    principal.require_startup_access(startup_id)
    async with session.begin():
        await _load(session, startup_id)
        rows = (
            await session.execute(
                select(Assessment, Investor.name)
                .join(Investor, Investor.investor_id == Assessment.bank_id)
                .where(Assessment.startup_id == startup_id)
                .order_by(Assessment.created_at.desc(), Assessment.id.desc())
            )
        ).all()
    return [
        AssessmentSummary(
            assessment_id=a.id,
            bank_id=a.bank_id,
            bank_name=name,
            product_id=a.product_id,
            eligible=a.eligible,
            created_at=a.created_at,
        )
        for a, name in rows
    ]
