"""sync errors from DEAR's sync history, follow-up check-ins, digest runs

Revision ID: 0003
Revises: 0002
"""
import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

UTC = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "sync_errors",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("kind", sa.String(64), nullable=False),
        sa.Column("reference", sa.String(128), nullable=False),
        sa.Column("intent", sa.String(64), nullable=False),
        sa.Column("confidence", sa.Float, nullable=False, server_default="0"),
        sa.Column("message", sa.Text, nullable=False, server_default=""),
        sa.Column("entities", sa.JSON, nullable=True),
        sa.Column("status", sa.String(16), nullable=False, server_default="open"),
        sa.Column("occurrences", sa.Integer, nullable=False, server_default="1"),
        sa.Column("first_seen", UTC, nullable=False),
        sa.Column("last_seen", UTC, nullable=False),
        sa.Column("resolved_at", UTC, nullable=True),
        sa.Column("source", sa.String(16), nullable=False, server_default=""),
        sa.UniqueConstraint("kind", "reference", name="uq_sync_error_key"),
    )
    op.create_index("ix_sync_errors_status_intent", "sync_errors", ["status", "intent"])
    op.create_table(
        "followups",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("case_id", sa.String(36), sa.ForeignKey("cases.id", ondelete="CASCADE"), nullable=False),
        sa.Column("due_at", UTC, nullable=False),
        sa.Column("status", sa.String(16), nullable=False, server_default="pending"),
        sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
        sa.Column("claimed_at", UTC, nullable=True),
        sa.Column("sent_at", UTC, nullable=True),
        sa.Column("ref", sa.String(64), nullable=False, server_default=""),
    )
    op.create_index("ix_followups_due", "followups", ["status", "due_at"])
    op.create_index("ix_followups_case", "followups", ["case_id"])
    op.create_table(
        "digest_runs",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("day", sa.String(10), nullable=False),
        sa.Column("target", sa.String(128), nullable=False),
        sa.Column("status", sa.String(16), nullable=False, server_default="claimed"),
        sa.Column("claimed_at", UTC, nullable=False),
        sa.Column("posted_at", UTC, nullable=True),
        sa.UniqueConstraint("day", "target", name="uq_digest_once_a_day"),
    )
    with op.batch_alter_table("cases") as batch:
        batch.add_column(sa.Column("user_tz", sa.String(64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("cases") as batch:
        batch.drop_column("user_tz")
    for table in ("digest_runs", "followups", "sync_errors"):
        op.drop_table(table)
