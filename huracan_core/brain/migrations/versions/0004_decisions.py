"""decisions: every decision handed to a trading bot (huracan decide), with its champion, rules and reasons

Revision ID: 0004_decisions
Revises: 0003_features_without_rowid
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004_decisions"
down_revision = "0003_features_without_rowid"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "decisions",
        sa.Column(
            "id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False
        ),
        sa.Column("decided_at", sa.DateTime(), nullable=False),
        sa.Column("as_of", sa.DateTime(), nullable=False),
        sa.Column("bar_time", sa.DateTime(), nullable=False),
        sa.Column("symbol", sa.String(length=64), nullable=False),
        sa.Column("model_id", sa.String(length=128), nullable=False),
        sa.Column("direction", sa.String(length=5), nullable=False),
        sa.Column("signal", sa.String(length=5), nullable=False),
        sa.Column("action", sa.String(length=8), nullable=False),
        sa.Column("confidence", sa.Float(), nullable=False),
        sa.Column("score", sa.Float(), nullable=False),
        sa.Column("score_threshold", sa.Float(), nullable=True),
        sa.Column("expected_edge_bps", sa.Float(), nullable=False),
        sa.Column("round_trip_bps", sa.Float(), nullable=False),
        sa.Column("safety_margin_bps", sa.Float(), nullable=False),
        sa.Column("edge_margin_bps", sa.Float(), nullable=False),
        sa.Column("notional", sa.Float(), nullable=False),
        sa.Column("risk", sa.Float(), nullable=False),
        sa.Column("bound_by", sa.Text(), nullable=False),
        sa.Column("equity", sa.Float(), nullable=False),
        sa.Column("kill_switch", sa.Boolean(), nullable=False),
        sa.Column("reasons", sa.JSON(), nullable=False),
        sa.Column("detail", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("decisions", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_decisions_decided_at"), ["decided_at"], unique=False)
        batch_op.create_index("ix_decisions_symbol_bar_time", ["symbol", "bar_time"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("decisions", schema=None) as batch_op:
        batch_op.drop_index("ix_decisions_symbol_bar_time")
        batch_op.drop_index(batch_op.f("ix_decisions_decided_at"))

    op.drop_table("decisions")
