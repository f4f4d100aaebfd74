"""Judgements get an optional strength (slight / clear / strong) and a comment.

Revision ID: 0002
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("judgements") as batch:
        batch.add_column(sa.Column("strength", sa.String(16), nullable=True))
        batch.add_column(sa.Column("comment", sa.Text, nullable=True))
