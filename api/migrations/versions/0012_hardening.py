"""archive instead of delete, idempotency keys, jobs on a queue

Revision ID: 0012_hardening
Revises: 0010_bank_consents
Create Date: 2026-12-01 22:10:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0012_hardening"
down_revision = "0010_bank_consents"
branch_labels = None
depends_on = None

ACTIVE_JOB = "status IN ('queued', 'running')"


def upgrade() -> None:
    for table in ("startups", "investors"):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.add_column(sa.Column("archived_at", sa.DateTime(timezone=True), nullable=True))
    with op.batch_alter_table("schedule_jobs", schema=None) as batch_op:
        batch_op.alter_column("event_id", existing_type=sa.String(length=64), nullable=True)
        batch_op.add_column(sa.Column("lock_key", sa.String(length=100), nullable=True))
        batch_op.add_column(sa.Column("attempts", sa.Integer(), nullable=False, server_default="0"))
        batch_op.add_column(sa.Column("progress", sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column("started_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("heartbeat_at", sa.DateTime(timezone=True), nullable=True))
    # Jobs left queued or running by the in-process runner of older versions can never finish now.
    op.execute(
        "UPDATE schedule_jobs SET status = 'failed', error = '{\"title\": \"Interrupted\", \"status\": 503, "
        "\"detail\": \"the server was upgraded before the job finished\"}' WHERE " + ACTIVE_JOB
    )
    op.create_index(
        "uq_schedule_jobs_active_lock",
        "schedule_jobs",
        ["lock_key"],
        unique=True,
        sqlite_where=sa.text(ACTIVE_JOB),
        postgresql_where=sa.text(ACTIVE_JOB),
    )
    op.create_table(
        "idempotency_keys",
        sa.Column("caller", sa.String(length=100), nullable=False),
        sa.Column("key", sa.String(length=200), nullable=False),
        sa.Column("fingerprint", sa.String(length=64), nullable=False),
        sa.Column("status_code", sa.Integer(), nullable=False),
        sa.Column("sealed_response", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("caller", "key", name=op.f("pk_idempotency_keys")),
    )
    op.create_index(op.f("ix_idempotency_keys_created_at"), "idempotency_keys", ["created_at"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_idempotency_keys_created_at"), table_name="idempotency_keys")
    op.drop_table("idempotency_keys")
    op.drop_index("uq_schedule_jobs_active_lock", table_name="schedule_jobs")
    with op.batch_alter_table("schedule_jobs", schema=None) as batch_op:
        for column in ("heartbeat_at", "started_at", "progress", "attempts", "lock_key"):
            batch_op.drop_column(column)
    for table in ("investors", "startups"):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_column("archived_at")
