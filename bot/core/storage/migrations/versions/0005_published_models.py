"""the published models: the one every process serves, with its bytes

Revision ID: 0005
Revises: 0004

The model is kept in the database because the database is the one thing every process on
every machine shares: `python -m bot train` and the App Home's retrain button publish here,
and each process serves the newest model it can load (bot/core/model/inuse.py). `compat`
says which processes can: a hash of the model format, the knowledge base and training
examples it was built from (without the users' corrections, which travel inside it) and the
library versions.
"""
import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

UTC = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "models",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("fingerprint", sa.String(64), nullable=False),
        sa.Column("compat", sa.String(64), nullable=False),
        sa.Column("built_at", sa.String(32), nullable=False, server_default=""),
        sa.Column("published_at", UTC, nullable=False),
        sa.Column("meta", sa.JSON, nullable=False),
        sa.Column("data", sa.LargeBinary, nullable=False),
        sa.UniqueConstraint("fingerprint", name="uq_model_fingerprint"),
    )
    op.create_index("ix_models_compat", "models", ["compat", "id"])


def downgrade() -> None:
    op.drop_index("ix_models_compat", table_name="models")
    op.drop_table("models")
