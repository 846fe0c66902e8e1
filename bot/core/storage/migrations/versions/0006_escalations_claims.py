"""escalations and who claimed them; who clicked, by name; the sandbox's clock

Revision ID: 0006
Revises: 0005

- `escalations`: one row per request for a person (a case's, or a message's without one):
  who asked and where (to tell them who picked it up), and who claimed it, when.
- `feedback.user_name`: the clicker's display name as the platform sent it, so a note can say
  "already marked fixed by Ana Ruiz" on Teams, where a user id is not something to show;
  `feedback.action` widened to 80 ("chose:<intent>" did not fit 32 for the longer intents).
- `clock_offsets`: how far the browser sandbox's clock was moved forward, so a restart keeps
  the time the database's rows were stamped with.
"""
import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

UTC = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "escalations",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("platform", sa.String(16), nullable=False),
        sa.Column("workspace", sa.String(64), nullable=False, server_default=""),
        sa.Column("case_id", sa.String(36), sa.ForeignKey("cases.id", ondelete="SET NULL"), nullable=True),
        sa.Column("asker", sa.String(64), nullable=False, server_default=""),
        sa.Column("asker_name", sa.String(200), nullable=False, server_default=""),
        sa.Column("channel", sa.String(64), nullable=False, server_default=""),
        sa.Column("thread", sa.String(64), nullable=False, server_default=""),
        sa.Column("source", sa.String(64), nullable=False, server_default=""),
        sa.Column("private", sa.Boolean, nullable=False, server_default=sa.false()),
        sa.Column("created_at", UTC, nullable=False),
        sa.Column("claimed_by", sa.String(64), nullable=True),
        sa.Column("claimed_by_name", sa.String(200), nullable=True),
        sa.Column("claimed_at", UTC, nullable=True),
    )
    op.create_index("ix_escalations_case_id", "escalations", ["case_id"])
    with op.batch_alter_table("feedback") as batch:
        batch.add_column(sa.Column("user_name", sa.String(200), nullable=True))
        # "chose:<intent>" is up to 70 characters; 32 refused the longer intents on PostgreSQL.
        batch.alter_column("action", type_=sa.String(80), existing_type=sa.String(32), existing_nullable=False)
    op.create_table(
        "clock_offsets",
        sa.Column("name", sa.String(32), primary_key=True),
        sa.Column("offset_seconds", sa.Float, nullable=False, server_default="0"),
        sa.Column("updated_at", UTC, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("clock_offsets")
    with op.batch_alter_table("feedback") as batch:
        batch.alter_column("action", type_=sa.String(32), existing_type=sa.String(80), existing_nullable=False)
        batch.drop_column("user_name")
    op.drop_index("ix_escalations_case_id", "escalations")
    op.drop_table("escalations")
