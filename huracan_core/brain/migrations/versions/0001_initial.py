"""initial brain library schema

Revision ID: 0001_initial
Revises:
Create Date: 2026-12-04
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001_initial"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "daily_metrics",
        sa.Column("date", sa.Date(), nullable=False),
        sa.Column("symbol", sa.String(length=64), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("model_id", sa.String(length=128), nullable=True),
        sa.Column("trades", sa.Integer(), nullable=False),
        sa.Column("winners", sa.Integer(), nullable=False),
        sa.Column("net_pnl_bps", sa.Float(), nullable=True),
        sa.Column("net_pnl", sa.Float(), nullable=True),
        sa.Column("sharpe", sa.Float(), nullable=True),
        sa.Column("gates_passed", sa.Boolean(), nullable=True),
        sa.Column("is_champion", sa.Boolean(), nullable=False),
        sa.Column("wall_minutes", sa.Float(), nullable=True),
        sa.PrimaryKeyConstraint("date", "symbol"),
    )
    op.create_table(
        "features",
        sa.Column("symbol", sa.String(length=64), nullable=False),
        sa.Column("timestamp", sa.DateTime(), nullable=False),
        sa.Column("name", sa.String(length=128), nullable=False),
        sa.Column("value", sa.Float(), nullable=True),
        sa.Column("first_date", sa.Date(), nullable=False),
        sa.PrimaryKeyConstraint("symbol", "timestamp", "name"),
    )
    op.create_table(
        "loss_analysis",
        sa.Column("trade_id", sa.String(length=160), nullable=False),
        sa.Column("date", sa.Date(), nullable=False),
        sa.Column("symbol", sa.String(length=64), nullable=False),
        sa.Column("model_id", sa.String(length=128), nullable=False),
        sa.Column("cause", sa.String(length=16), nullable=False),
        sa.Column("gross_bps", sa.Float(), nullable=False),
        sa.Column("cost_bps", sa.Float(), nullable=False),
        sa.Column("net_bps", sa.Float(), nullable=False),
        sa.Column("regime", sa.String(length=16), nullable=True),
        sa.Column("bars_held", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("trade_id"),
    )
    with op.batch_alter_table("loss_analysis", schema=None) as batch_op:
        batch_op.create_index("ix_loss_analysis_key", ["date", "symbol"], unique=False)

    op.create_table(
        "model_evolution",
        sa.Column("date", sa.Date(), nullable=False),
        sa.Column("symbol", sa.String(length=64), nullable=False),
        sa.Column("model_id", sa.String(length=128), nullable=False),
        sa.Column("previous_model_id", sa.String(length=128), nullable=True),
        sa.Column("previous_date", sa.Date(), nullable=True),
        sa.Column("sharpe", sa.Float(), nullable=True),
        sa.Column("previous_sharpe", sa.Float(), nullable=True),
        sa.Column("net_pnl_bps", sa.Float(), nullable=True),
        sa.Column("previous_net_pnl_bps", sa.Float(), nullable=True),
        sa.Column("trades", sa.Integer(), nullable=False),
        sa.Column("previous_trades", sa.Integer(), nullable=True),
        sa.Column("params_changed", sa.Boolean(), nullable=True),
        sa.Column("top_risers", sa.JSON(), nullable=False),
        sa.Column("top_fallers", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("date", "symbol"),
    )
    op.create_table(
        "model_performance",
        sa.Column(
            "id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False
        ),
        sa.Column("date", sa.Date(), nullable=False),
        sa.Column("symbol", sa.String(length=64), nullable=False),
        sa.Column("model_id", sa.String(length=128), nullable=False),
        sa.Column("scope", sa.String(length=16), nullable=False),
        sa.Column("sharpe", sa.Float(), nullable=True),
        sa.Column("hit_rate", sa.Float(), nullable=True),
        sa.Column("net_pnl_bps", sa.Float(), nullable=True),
        sa.Column("gross_pnl_bps", sa.Float(), nullable=True),
        sa.Column("cost_bps", sa.Float(), nullable=True),
        sa.Column("max_drawdown_pct", sa.Float(), nullable=True),
        sa.Column("trades", sa.Integer(), nullable=False),
        sa.Column("deflated_sharpe", sa.Float(), nullable=True),
        sa.Column("buy_hold_return_pct", sa.Float(), nullable=True),
        sa.Column("oos_start", sa.String(length=40), nullable=True),
        sa.Column("oos_end", sa.String(length=40), nullable=True),
        sa.Column("metrics", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("model_performance", schema=None) as batch_op:
        batch_op.create_index("ix_model_performance_key", ["date", "symbol"], unique=False)

    op.create_table(
        "models",
        sa.Column("model_id", sa.String(length=128), nullable=False),
        sa.Column("date", sa.Date(), nullable=False),
        sa.Column("symbol", sa.String(length=64), nullable=False),
        sa.Column("version", sa.String(length=32), nullable=False),
        sa.Column("path", sa.Text(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("model_type", sa.String(length=32), nullable=False),
        sa.Column("params", sa.JSON(), nullable=False),
        sa.Column("gates_passed", sa.Boolean(), nullable=False),
        sa.Column("is_champion", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=True),
        sa.PrimaryKeyConstraint("model_id"),
    )
    with op.batch_alter_table("models", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_models_date"), ["date"], unique=False)
        batch_op.create_index(batch_op.f("ix_models_symbol"), ["symbol"], unique=False)

    op.create_table(
        "pattern_library",
        sa.Column(
            "id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False
        ),
        sa.Column("date", sa.Date(), nullable=False),
        sa.Column("symbol", sa.String(length=64), nullable=False),
        sa.Column("pattern", sa.String(length=200), nullable=False),
        sa.Column("feature", sa.String(length=128), nullable=False),
        sa.Column("bin", sa.Integer(), nullable=False),
        sa.Column("lower", sa.Float(), nullable=True),
        sa.Column("upper", sa.Float(), nullable=True),
        sa.Column("support", sa.Integer(), nullable=False),
        sa.Column("wins", sa.Integer(), nullable=False),
        sa.Column("win_rate", sa.Float(), nullable=False),
        sa.Column("base_win_rate", sa.Float(), nullable=False),
        sa.Column("avg_net_bps", sa.Float(), nullable=False),
        sa.Column("p_value", sa.Float(), nullable=False),
        sa.Column("q_value", sa.Float(), nullable=False),
        sa.Column("survived", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("pattern_library", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_pattern_library_date"), ["date"], unique=False)

    op.create_table(
        "post_exit_tracking",
        sa.Column("trade_id", sa.String(length=160), nullable=False),
        sa.Column("date", sa.Date(), nullable=False),
        sa.Column("symbol", sa.String(length=64), nullable=False),
        sa.Column("model_id", sa.String(length=128), nullable=False),
        sa.Column("side", sa.String(length=8), nullable=False),
        sa.Column("exit_price", sa.Float(), nullable=False),
        sa.Column("bars_tracked", sa.Integer(), nullable=False),
        sa.Column("path_bps", sa.JSON(), nullable=False),
        sa.Column("max_favourable_bps", sa.Float(), nullable=True),
        sa.Column("max_adverse_bps", sa.Float(), nullable=True),
        sa.Column("final_bps", sa.Float(), nullable=True),
        sa.Column("giveback_bps", sa.Float(), nullable=False),
        sa.Column("verdict", sa.String(length=16), nullable=False),
        sa.PrimaryKeyConstraint("trade_id"),
    )
    with op.batch_alter_table("post_exit_tracking", schema=None) as batch_op:
        batch_op.create_index("ix_post_exit_key", ["date", "symbol"], unique=False)

    op.create_table(
        "regimes",
        sa.Column("date", sa.Date(), nullable=False),
        sa.Column("symbol", sa.String(length=64), nullable=False),
        sa.Column("regime", sa.String(length=16), nullable=False),
        sa.Column("model_id", sa.String(length=128), nullable=False),
        sa.Column("bar_share", sa.Float(), nullable=False),
        sa.Column("trades", sa.Integer(), nullable=False),
        sa.Column("win_rate", sa.Float(), nullable=True),
        sa.Column("avg_net_bps", sa.Float(), nullable=True),
        sa.Column("net_pnl", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("date", "symbol", "regime"),
    )
    op.create_table(
        "trade_memory",
        sa.Column("trade_id", sa.String(length=160), nullable=False),
        sa.Column("date", sa.Date(), nullable=False),
        sa.Column("symbol", sa.String(length=64), nullable=False),
        sa.Column("model_id", sa.String(length=128), nullable=False),
        sa.Column("model_version", sa.String(length=32), nullable=False),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("side", sa.String(length=8), nullable=False),
        sa.Column("entry_time", sa.DateTime(), nullable=False),
        sa.Column("exit_time", sa.DateTime(), nullable=False),
        sa.Column("entry_price", sa.Float(), nullable=False),
        sa.Column("exit_price", sa.Float(), nullable=False),
        sa.Column("bars_held", sa.Integer(), nullable=False),
        sa.Column("size", sa.Float(), nullable=False),
        sa.Column("quantity", sa.Float(), nullable=False),
        sa.Column("gross_bps", sa.Float(), nullable=False),
        sa.Column("fees_bps", sa.Float(), nullable=False),
        sa.Column("spread_bps", sa.Float(), nullable=False),
        sa.Column("slippage_bps", sa.Float(), nullable=False),
        sa.Column("funding_bps", sa.Float(), nullable=False),
        sa.Column("net_bps", sa.Float(), nullable=False),
        sa.Column("net_pnl", sa.Float(), nullable=False),
        sa.Column("currency", sa.String(length=16), nullable=False),
        sa.Column("regime", sa.String(length=16), nullable=True),
        sa.Column("volatility", sa.Float(), nullable=True),
        sa.Column("is_winner", sa.Boolean(), nullable=False),
        sa.Column("fold", sa.Integer(), nullable=True),
        sa.Column("features", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("trade_id"),
    )
    with op.batch_alter_table("trade_memory", schema=None) as batch_op:
        batch_op.create_index("ix_trade_memory_key", ["date", "symbol"], unique=False)
        batch_op.create_index(batch_op.f("ix_trade_memory_model_id"), ["model_id"], unique=False)

    op.create_table(
        "universe_selections",
        sa.Column("date", sa.Date(), nullable=False),
        sa.Column("symbol", sa.String(length=64), nullable=False),
        sa.Column("selected", sa.Boolean(), nullable=False),
        sa.Column("rank", sa.Integer(), nullable=True),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("quote_volume_usd", sa.Float(), nullable=True),
        sa.Column("spread_bps", sa.Float(), nullable=True),
        sa.Column("age_days", sa.Float(), nullable=True),
        sa.Column("market_type", sa.String(length=16), nullable=False),
        sa.PrimaryKeyConstraint("date", "symbol"),
    )
    op.create_table(
        "win_analysis",
        sa.Column(
            "id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False
        ),
        sa.Column("date", sa.Date(), nullable=False),
        sa.Column("symbol", sa.String(length=64), nullable=False),
        sa.Column("model_id", sa.String(length=128), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("name", sa.String(length=128), nullable=False),
        sa.Column("winners", sa.Integer(), nullable=False),
        sa.Column("losers", sa.Integer(), nullable=False),
        sa.Column("winner_value", sa.Float(), nullable=True),
        sa.Column("loser_value", sa.Float(), nullable=True),
        sa.Column("effect", sa.Float(), nullable=True),
        sa.Column("p_value", sa.Float(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("win_analysis", schema=None) as batch_op:
        batch_op.create_index("ix_win_analysis_key", ["date", "symbol"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("win_analysis", schema=None) as batch_op:
        batch_op.drop_index("ix_win_analysis_key")

    op.drop_table("win_analysis")
    op.drop_table("universe_selections")
    with op.batch_alter_table("trade_memory", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_trade_memory_model_id"))
        batch_op.drop_index("ix_trade_memory_key")

    op.drop_table("trade_memory")
    op.drop_table("regimes")
    with op.batch_alter_table("post_exit_tracking", schema=None) as batch_op:
        batch_op.drop_index("ix_post_exit_key")

    op.drop_table("post_exit_tracking")
    with op.batch_alter_table("pattern_library", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_pattern_library_date"))

    op.drop_table("pattern_library")
    with op.batch_alter_table("models", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_models_symbol"))
        batch_op.drop_index(batch_op.f("ix_models_date"))

    op.drop_table("models")
    with op.batch_alter_table("model_performance", schema=None) as batch_op:
        batch_op.drop_index("ix_model_performance_key")

    op.drop_table("model_performance")
    op.drop_table("model_evolution")
    with op.batch_alter_table("loss_analysis", schema=None) as batch_op:
        batch_op.drop_index("ix_loss_analysis_key")

    op.drop_table("loss_analysis")
    op.drop_table("features")
    op.drop_table("daily_metrics")
