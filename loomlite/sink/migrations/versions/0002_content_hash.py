"""Add content_hash, a unique dedupe key, to the email and calendar tables.

The column is nullable, so rows stored before this revision keep NULL, and
NULLs never collide in a unique constraint. SQLite cannot add a constraint
to an existing table, so batch mode copies each table into a new one there.
Postgres runs plain ALTER TABLE statements.

Revision: 0002_content_hash
Previous: 0001_initial
Created: 2026-12-04
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002_content_hash"
down_revision = "0001_initial"
branch_labels = None
depends_on = None

TABLES = ("external_calendar_events_raw", "external_email_events_raw")


def upgrade() -> None:
    for table in TABLES:
        with op.batch_alter_table(table) as batch_op:
            batch_op.add_column(sa.Column("content_hash", sa.Text(), nullable=True))
            batch_op.create_unique_constraint(
                batch_op.f(f"uq_{table}_content_hash"), ["content_hash"]
            )


def downgrade() -> None:
    for table in TABLES:
        with op.batch_alter_table(table) as batch_op:
            batch_op.drop_constraint(
                batch_op.f(f"uq_{table}_content_hash"), type_="unique"
            )
            batch_op.drop_column("content_hash")
