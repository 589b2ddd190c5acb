"""participants' side: investor keys, wishes and requests, outcome reports behind interactions

Revision ID: 0013_participants
Revises: 0012_hardening
Create Date: 2026-12-02 07:30:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0013_participants"
down_revision = "0012_hardening"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("api_keys", schema=None) as batch_op:
        batch_op.add_column(sa.Column("investor_id", sa.String(length=64), nullable=True))
        batch_op.create_foreign_key(
            op.f("fk_api_keys_investor_id_investors"), "investors", ["investor_id"], ["investor_id"],
            ondelete="CASCADE",
        )
    with op.batch_alter_table("events", schema=None) as batch_op:
        batch_op.add_column(sa.Column("wish_limits", sa.JSON(), nullable=True))
    op.create_table(
        "event_wishes",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("event_id", sa.String(length=64), nullable=False),
        sa.Column("startup_id", sa.String(length=64), nullable=False),
        sa.Column("investor_id", sa.String(length=64), nullable=False),
        sa.Column("by_side", sa.String(length=16), nullable=False),
        sa.Column("kind", sa.String(length=8), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=True),
        sa.Column("stated_by", sa.String(length=64), nullable=False),
        sa.Column("stated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("answered_by", sa.String(length=64), nullable=True),
        sa.Column("answered_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["event_id"], ["events.event_id"], name=op.f("fk_event_wishes_event_id_events"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_event_wishes")),
        sa.UniqueConstraint("event_id", "by_side", "startup_id", "investor_id", name=op.f("uq_event_wishes_event_id")),
    )
    op.create_index(op.f("ix_event_wishes_event_id"), "event_wishes", ["event_id"], unique=False)
    op.create_table(
        "outcome_records",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("event_id", sa.String(length=64), nullable=False),
        sa.Column("startup_id", sa.String(length=64), nullable=False),
        sa.Column("investor_id", sa.String(length=64), nullable=False),
        sa.Column("outcome", sa.String(length=16), nullable=False),
        sa.Column("no_show", sa.String(length=16), nullable=True),
        sa.Column("amount_wan", sa.Float(), nullable=True),
        sa.Column("occurred_on", sa.Date(), nullable=True),
        sa.Column("scheduled", sa.Boolean(), nullable=False),
        sa.Column("recorded_by", sa.String(length=64), nullable=False),
        sa.Column("recorded_role", sa.String(length=16), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["event_id"], ["events.event_id"], name=op.f("fk_outcome_records_event_id_events"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_outcome_records")),
    )
    op.create_index(
        "ix_outcome_records_event_pair", "outcome_records", ["event_id", "startup_id", "investor_id"], unique=False
    )
    with op.batch_alter_table("interactions", schema=None) as batch_op:
        batch_op.add_column(sa.Column("outcome_record_id", sa.Integer(), nullable=True))
        batch_op.create_index(op.f("ix_interactions_outcome_record_id"), ["outcome_record_id"], unique=False)
        batch_op.create_foreign_key(
            op.f("fk_interactions_outcome_record_id_outcome_records"), "outcome_records", ["outcome_record_id"],
            ["id"], ondelete="SET NULL",
        )


def downgrade() -> None:
    with op.batch_alter_table("interactions", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("fk_interactions_outcome_record_id_outcome_records"), type_="foreignkey")
        batch_op.drop_index(op.f("ix_interactions_outcome_record_id"))
        batch_op.drop_column("outcome_record_id")
    op.drop_index("ix_outcome_records_event_pair", table_name="outcome_records")
    op.drop_table("outcome_records")
    op.drop_index(op.f("ix_event_wishes_event_id"), table_name="event_wishes")
    op.drop_table("event_wishes")
    with op.batch_alter_table("events", schema=None) as batch_op:
        batch_op.drop_column("wish_limits")
    with op.batch_alter_table("api_keys", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("fk_api_keys_investor_id_investors"), type_="foreignkey")
        batch_op.drop_column("investor_id")
