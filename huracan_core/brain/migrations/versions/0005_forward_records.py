"""forward_records: each champion's forward record after its hand-out (huracan_core/forward.py)

Revision ID: 0005_forward_records
Revises: 0004_decisions
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005_forward_records"
down_revision = "0004_decisions"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "forward_records",
        sa.Column("date", sa.Date(), nullable=False),
        sa.Column("symbol", sa.String(length=64), nullable=False),
        sa.Column("model_id", sa.String(length=128), nullable=False),
        sa.Column("handed_out_on", sa.Date(), nullable=False),
        sa.Column("scored_through", sa.DateTime(), nullable=False),
        sa.Column("days_live", sa.Integer(), nullable=False),
        sa.Column("bars", sa.Integer(), nullable=False),
        sa.Column("trades", sa.Integer(), nullable=False),
        sa.Column("net_bps", sa.Float(), nullable=False),
        sa.Column("gross_bps", sa.Float(), nullable=False),
        sa.Column("max_drawdown_pct", sa.Float(), nullable=False),
        sa.Column("hit_rate", sa.Float(), nullable=True),
        sa.Column("demoted", sa.Boolean(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("date", "symbol", "model_id"),
    )
    with op.batch_alter_table("forward_records", schema=None) as batch_op:
        batch_op.create_index("ix_forward_records_model", ["model_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("forward_records", schema=None) as batch_op:
        batch_op.drop_index("ix_forward_records_model")

    op.drop_table("forward_records")
