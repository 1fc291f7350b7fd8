"""User profiles and the feature spaces they are computed in.

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "feature_spaces",
        sa.Column("id", sa.Integer, sa.Identity(), nullable=False),
        sa.Column("fingerprint", sa.Text(collation="C"), nullable=False),
        sa.Column("schema_name", sa.Text, nullable=False),
        sa.Column("space", postgresql.JSONB, nullable=False),
        sa.Column("prior", postgresql.JSONB, nullable=False),
        sa.Column("config", postgresql.JSONB, nullable=False),
        sa.Column("created_at", TS, server_default=sa.func.now(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_feature_spaces"),
        sa.UniqueConstraint("fingerprint", name="uq_feature_spaces_fingerprint"),
    )
    op.create_table(
        "user_profiles",
        sa.Column("user_id", sa.BigInteger, nullable=False),
        sa.Column("space_id", sa.Integer, nullable=False),
        sa.Column("as_of", TS, nullable=False),
        sa.Column("event_count", sa.Integer, nullable=False),
        sa.Column("total_weight", sa.Float, nullable=False),
        sa.Column("vector", sa.LargeBinary, nullable=False),
        sa.Column("stats", sa.LargeBinary, nullable=False),
        sa.Column("summary", postgresql.JSONB, nullable=False),
        sa.Column("updated_at", TS, server_default=sa.func.now(), nullable=False),
        sa.PrimaryKeyConstraint("user_id", name="pk_user_profiles"),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name="fk_user_profiles_user_id_users", ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["space_id"], ["feature_spaces.id"], name="fk_user_profiles_space_id_feature_spaces"
        ),
    )
    op.create_index("ix_user_profiles_space_id", "user_profiles", ["space_id"])


def downgrade() -> None:
    op.drop_table("user_profiles")
    op.drop_table("feature_spaces")
