"""slack installations, bots and OAuth states (multi-workspace installs)

Revision ID: 0002
Revises: 0001

The tables are slack_sdk's own schema for its SQLAlchemy stores, created here so they are
versioned with the rest of the database.
"""
import sqlalchemy as sa
from alembic import op
from slack_sdk.oauth.installation_store.sqlalchemy import SQLAlchemyInstallationStore
from slack_sdk.oauth.state_store.sqlalchemy import SQLAlchemyOAuthStateStore

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

NAMES = ("slack_installations", "slack_bots", "slack_oauth_states")


def _tables(metadata: sa.MetaData) -> list[sa.Table]:
    return [
        SQLAlchemyInstallationStore.build_installations_table(metadata, NAMES[0]),
        SQLAlchemyInstallationStore.build_bots_table(metadata, NAMES[1]),
        SQLAlchemyOAuthStateStore.build_oauth_states_table(metadata, NAMES[2]),
    ]


def upgrade() -> None:
    metadata = sa.MetaData()
    metadata.create_all(bind=op.get_bind(), tables=_tables(metadata))


def downgrade() -> None:
    for name in reversed(NAMES):
        op.drop_table(name)
