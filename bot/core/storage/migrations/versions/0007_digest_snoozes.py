"""digest snoozes: a digest group's "Snooze a day"

Revision ID: 0007
Revises: 0006

One row per cause (intent) someone snoozed in the digest: the group is left out of every
digest until `until`. A later snooze of the same cause replaces the row.
"""
import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

UTC = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "digest_snoozes",
        sa.Column("intent", sa.String(64), primary_key=True),
        sa.Column("until", UTC, nullable=False),
        sa.Column("user", sa.String(64), nullable=False, server_default=""),
        sa.Column("created_at", UTC, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("digest_snoozes")
