"""model registry: each version's evaluation, decision, activation history and pin

Revision ID: 0014_model_registry
Revises: 0013_participants
Create Date: 2026-12-02 07:40:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0014_model_registry"
down_revision = "0013_participants"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("model_versions", schema=None) as batch_op:
        batch_op.add_column(sa.Column("decision", sa.String(length=16), nullable=True))
        batch_op.add_column(sa.Column("evaluation", sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column("training", sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column("activated_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("replaced_version", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("pinned", sa.Boolean(), nullable=False, server_default=sa.false()))
    # Before, every version was active and the newest served: keep that one active, the rest stay as history.
    op.execute("UPDATE model_versions SET activated_at = created_at, decision = 'activated'")
    op.execute(
        "UPDATE model_versions SET active = false WHERE version < (SELECT max(version) FROM model_versions "
        "WHERE active = true)"
    )


def downgrade() -> None:
    op.execute("UPDATE model_versions SET active = true")
    with op.batch_alter_table("model_versions", schema=None) as batch_op:
        for column in ("pinned", "replaced_version", "activated_at", "training", "evaluation", "decision"):
            batch_op.drop_column(column)
