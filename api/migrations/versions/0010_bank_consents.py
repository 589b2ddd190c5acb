"""bank consents with history: consents.csv's granted_on / revoked_on, revocations recorded

Revision ID: 0010_bank_consents
Revises: 0011_event_documents
Create Date: 2026-12-01 22:30:00

The old ``consents`` table (one row per current consent) becomes ``consent_grants`` (one row per
grant, revoked ones kept). Existing consents are copied over as granted on the day they were given.
"""

from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

revision = "0010_bank_consents"
down_revision = "0011_event_documents"
branch_labels = None
depends_on = None


def upgrade() -> None:
    grants = op.create_table(
        "consent_grants",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("startup_id", sa.String(length=64), nullable=False),
        sa.Column("bank_id", sa.String(length=64), nullable=False),
        sa.Column("granted_on", sa.Date(), nullable=False),
        sa.Column("revoked_on", sa.Date(), nullable=True),
        sa.Column("granted_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("revoked_by", sa.String(length=64), nullable=True),
        sa.ForeignKeyConstraint(
            ["bank_id"], ["investors.investor_id"], name=op.f("fk_consent_grants_bank_id_investors"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["startup_id"], ["startups.startup_id"], name=op.f("fk_consent_grants_startup_id_startups"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_consent_grants")),
    )
    with op.batch_alter_table("consent_grants", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_consent_grants_startup_id"), ["startup_id"], unique=False)
        batch_op.create_index("ix_consent_grants_bank_startup", ["bank_id", "startup_id"], unique=False)
    old = sa.table("consents", sa.column("startup_id", sa.String), sa.column("bank_id", sa.String),
                   sa.column("granted_at", sa.DateTime(timezone=True)))
    rows = op.get_bind().execute(sa.select(old.c.startup_id, old.c.bank_id, old.c.granted_at)).all()
    now = datetime.now(UTC)
    op.bulk_insert(grants, [
        {"startup_id": s, "bank_id": b, "granted_at": at or now, "granted_on": (at or now).date()}
        for s, b, at in rows
    ])
    op.drop_table("consents")


def downgrade() -> None:
    op.create_table(
        "consents",
        sa.Column("startup_id", sa.String(length=64), nullable=False),
        sa.Column("bank_id", sa.String(length=64), nullable=False),
        sa.Column("granted_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["bank_id"], ["investors.investor_id"], name=op.f("fk_consents_bank_id_investors"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["startup_id"], ["startups.startup_id"], name=op.f("fk_consents_startup_id_startups"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("startup_id", "bank_id", name=op.f("pk_consents")),
    )
    op.execute(
        "INSERT INTO consents (startup_id, bank_id, granted_at) SELECT startup_id, bank_id, MIN(granted_at) "
        "FROM consent_grants WHERE revoked_on IS NULL GROUP BY startup_id, bank_id"
    )
    with op.batch_alter_table("consent_grants", schema=None) as batch_op:
        batch_op.drop_index("ix_consent_grants_bank_startup")
        batch_op.drop_index(batch_op.f("ix_consent_grants_startup_id"))
    op.drop_table("consent_grants")
