"""answered messages: one row per message the bot answered (for the admin's report)

Revision ID: 0008
Revises: 0007

Refused messages leave no case, so without this table nobody could say how many messages
were seen, diagnosed, asked to choose or refused, nor which unknown problems keep coming back.
`text` is kept for refused messages only, until RETENTION (Store.purge erases it). The index
on cases.created_at and feedback.created_at serve the report's period queries.
"""
import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

UTC = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "answered_messages",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("platform", sa.String(16), nullable=False),
        sa.Column("workspace", sa.String(64), nullable=False, server_default=""),
        sa.Column("channel", sa.String(64), nullable=False, server_default=""),
        sa.Column("message", sa.String(64), nullable=False, server_default=""),
        sa.Column("user", sa.String(64), nullable=False, server_default=""),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("intent", sa.String(64), nullable=False, server_default=""),
        sa.Column("confidence", sa.Float, nullable=False, server_default="0"),
        sa.Column("code", sa.String(16), nullable=False, server_default=""),
        sa.Column("case_id", sa.String(36), nullable=False, server_default=""),
        sa.Column("text", sa.Text, nullable=True),
        sa.Column("asked_at", UTC, nullable=False),
        sa.UniqueConstraint("platform", "workspace", "channel", "message", name="uq_answered_message"),
    )
    op.create_index("ix_answered_messages_asked_at", "answered_messages", ["asked_at"])
    op.create_index("ix_answered_messages_case", "answered_messages", ["case_id"])
    op.create_index("ix_cases_created_at", "cases", ["created_at"])
    op.create_index("ix_feedback_created_at", "feedback", ["created_at"])


def downgrade() -> None:
    op.drop_index("ix_feedback_created_at", "feedback")
    op.drop_index("ix_cases_created_at", "cases")
    op.drop_table("answered_messages")
