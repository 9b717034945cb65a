"""Add the consumer_activity table, one row per consumer that reports to the
gateway's /system/consumer_activity/log.

Revision: 0003_consumer_activity
Previous: 0002_content_hash
Created: 2026-12-04
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from loomlite.sink.types import UtcDateTime

revision = "0003_consumer_activity"
down_revision = "0002_content_hash"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "consumer_activity",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("consumer_id", sa.Text(), nullable=False),
        sa.Column("last_consumed_topic", sa.Text(), nullable=True),
        sa.Column("last_consumed_message", sa.JSON(none_as_null=True), nullable=True),
        sa.Column("last_consumed_at", UtcDateTime(), nullable=True),
        sa.Column("last_produced_topic", sa.Text(), nullable=True),
        sa.Column("last_produced_message", sa.JSON(none_as_null=True), nullable=True),
        sa.Column("last_produced_at", UtcDateTime(), nullable=True),
        sa.Column("updated_at", UtcDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_consumer_activity")),
        sa.UniqueConstraint(
            "consumer_id", name=op.f("uq_consumer_activity_consumer_id")
        ),
    )


def downgrade() -> None:
    op.drop_table("consumer_activity")
