"""teams conversation references (for proactive check-ins and the digest)

Revision ID: 0004
Revises: 0003

One row per Teams conversation the bot has been in: a personal chat, a group chat, or a
channel (its threads share the channel's row). `key` is a short stable hash of the
conversation id, because Teams ids are longer than the 64 characters cases.channel holds.
"""
import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

UTC = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "teams_conversations",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("key", sa.String(64), nullable=False),
        sa.Column("conversation_id", sa.Text, nullable=False),
        sa.Column("service_url", sa.Text, nullable=False),
        sa.Column("tenant", sa.String(64), nullable=False, server_default=""),
        sa.Column("channel_id", sa.String(32), nullable=False, server_default="msteams"),
        sa.Column("kind", sa.String(16), nullable=False, server_default="personal"),
        sa.Column("bot", sa.JSON, nullable=True),
        sa.Column("channel_data", sa.JSON, nullable=True),
        sa.Column("is_digest_target", sa.Boolean, nullable=False, server_default=sa.false()),
        sa.Column("is_escalation_target", sa.Boolean, nullable=False, server_default=sa.false()),
        sa.Column("gone_at", UTC, nullable=True),
        sa.Column("updated_at", UTC, nullable=False),
        sa.UniqueConstraint("key", name="uq_teams_conversation_key"),
    )


def downgrade() -> None:
    op.drop_table("teams_conversations")
