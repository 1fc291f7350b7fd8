"""Publication: which Milvus collection holds a model version's vehicle embeddings.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-04
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("model_versions", sa.Column("collection", sa.Text, nullable=True))
    op.add_column("model_versions", sa.Column("vectors", sa.BigInteger, nullable=True))
    op.add_column(
        "model_versions", sa.Column("published_at", sa.DateTime(timezone=True), nullable=True)
    )


def downgrade() -> None:
    for column in ("published_at", "vectors", "collection"):
        op.drop_column("model_versions", column)
