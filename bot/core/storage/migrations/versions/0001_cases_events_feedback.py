"""cases, events, feedback, corrections

Revision ID: 0001
Revises:
"""
import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

UTC = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "cases",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("platform", sa.String(16), nullable=False),
        sa.Column("workspace", sa.String(64), nullable=False, server_default=""),
        sa.Column("channel", sa.String(64), nullable=False, server_default=""),
        sa.Column("thread", sa.String(64), nullable=False, server_default=""),
        sa.Column("message", sa.String(64), nullable=False, server_default=""),
        sa.Column("user", sa.String(64), nullable=False, server_default=""),
        sa.Column("intent", sa.String(64), nullable=False),
        sa.Column("confidence", sa.Float, nullable=False, server_default="0"),
        sa.Column("entities", sa.JSON, nullable=True),
        sa.Column("question", sa.Text, nullable=True),
        sa.Column("status", sa.String(16), nullable=False, server_default="open"),
        sa.Column("failing_count", sa.Integer, nullable=False, server_default="0"),
        sa.Column("reply_ref", sa.String(64), nullable=False, server_default=""),
        sa.Column("created_at", UTC, nullable=False),
        sa.Column("updated_at", UTC, nullable=False),
        sa.Column("resolved_at", UTC, nullable=True),
    )
    op.create_index("ix_cases_status", "cases", ["status"])
    op.create_index("ix_cases_thread", "cases", ["platform", "workspace", "channel", "thread"])
    op.create_index("ix_cases_user", "cases", ["platform", "workspace", "user", "status"])
    op.create_table(
        "events",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("platform", sa.String(16), nullable=False),
        sa.Column("workspace", sa.String(64), nullable=False, server_default=""),
        sa.Column("channel", sa.String(64), nullable=False, server_default=""),
        sa.Column("message", sa.String(64), nullable=False, server_default=""),
        sa.Column("event_id", sa.String(64), nullable=False, server_default=""),
        sa.Column("kind", sa.String(32), nullable=False, server_default=""),
        sa.Column("payload", sa.JSON, nullable=True),
        sa.Column("status", sa.String(16), nullable=False, server_default="received"),
        sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
        sa.Column("received_at", UTC, nullable=False),
        sa.Column("done_at", UTC, nullable=True),
        sa.UniqueConstraint("platform", "workspace", "channel", "message", name="uq_event_message"),
    )
    op.create_index("ix_events_status", "events", ["status"])
    op.create_table(
        "feedback",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("case_id", sa.String(36), sa.ForeignKey("cases.id", ondelete="CASCADE"), nullable=False),
        sa.Column("action", sa.String(32), nullable=False),
        sa.Column("source", sa.String(64), nullable=False, server_default=""),
        sa.Column("user", sa.String(64), nullable=False, server_default=""),
        sa.Column("intent_before", sa.String(64), nullable=False, server_default=""),
        sa.Column("intent_after", sa.String(64), nullable=False, server_default=""),
        sa.Column("created_at", UTC, nullable=False),
        sa.UniqueConstraint("case_id", "action", "source", name="uq_feedback_once"),
    )
    op.create_index("ix_feedback_case_id", "feedback", ["case_id"])
    op.create_table(
        "corrections",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("case_id", sa.String(36), nullable=False, server_default=""),
        sa.Column("text", sa.Text, nullable=False),
        sa.Column("intent", sa.String(64), nullable=False),
        sa.Column("created_at", UTC, nullable=False),
    )


def downgrade() -> None:
    for table in ("corrections", "feedback", "events", "cases"):
        op.drop_table(table)
