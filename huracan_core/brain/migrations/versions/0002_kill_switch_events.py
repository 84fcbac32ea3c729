"""kill switch events: every on/off of the operator's kill switch, with when, why and who

Revision ID: 0002_kill_switch_events
Revises: 0001_initial
Create Date: 2026-12-05
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002_kill_switch_events"
down_revision = "0001_initial"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "kill_switch_events",
        sa.Column(
            "id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False
        ),
        sa.Column("at", sa.DateTime(), nullable=False),
        sa.Column("state", sa.String(length=3), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("who", sa.String(length=128), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("kill_switch_events", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_kill_switch_events_at"), ["at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("kill_switch_events", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_kill_switch_events_at"))

    op.drop_table("kill_switch_events")
