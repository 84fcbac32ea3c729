"""features without rowid on SQLite: the table is its primary-key B-tree (symbol, timestamp, name)

A first night of 200 coins inserts ~11 M feature rows. A rowid table with a composite primary key keeps
two B-trees (the rows by rowid, and the key index pointing at them); WITHOUT ROWID keeps one. Measured
on 1.9 M rows: 27 % less insert time (with the 16 KiB pages new brain files get) and a 40 % smaller file.
PostgreSQL has no rowid tables: nothing changes there.

Revision ID: 0003_features_without_rowid
Revises: 0002_kill_switch_events
Create Date: 2026-12-05
"""

from __future__ import annotations

from alembic import op

revision = "0003_features_without_rowid"
down_revision = "0002_kill_switch_events"
branch_labels = None
depends_on = None

_COLUMNS = (
    "symbol VARCHAR(64) NOT NULL, timestamp DATETIME NOT NULL, name VARCHAR(128) NOT NULL, "
    "value FLOAT, first_date DATE NOT NULL, PRIMARY KEY (symbol, timestamp, name)"
)


def _rebuild(suffix: str) -> None:
    """Copy `features` into a table created with `suffix`, then put it in the old one's place (SQLite
    cannot alter a table's rowid-ness; the migration's transaction makes the swap atomic)."""
    op.execute(f"CREATE TABLE features_rebuilt ({_COLUMNS}){suffix}")
    op.execute(
        "INSERT INTO features_rebuilt (symbol, timestamp, name, value, first_date) "
        "SELECT symbol, timestamp, name, value, first_date FROM features ORDER BY symbol, timestamp, name"
    )
    op.execute("DROP TABLE features")
    op.execute("ALTER TABLE features_rebuilt RENAME TO features")


def upgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        _rebuild(" WITHOUT ROWID")


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        _rebuild("")
