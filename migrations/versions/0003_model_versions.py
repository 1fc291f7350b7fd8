"""Model registry: trained versions, their artefacts, metrics and status.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    status = postgresql.ENUM(
        "training", "ready", "active", "retired", "failed", name="model_status"
    )
    op.create_table(
        "model_versions",
        sa.Column("id", sa.Integer, sa.Identity(), nullable=False),
        sa.Column("status", status, server_default="training", nullable=False),
        sa.Column("space_id", sa.Integer, nullable=True),
        sa.Column("schema_name", sa.Text, nullable=False),
        sa.Column("schema_fingerprint", sa.Text, nullable=False),
        sa.Column("artefact", sa.Text, nullable=True),
        sa.Column("trained_from", TS, nullable=True),
        sa.Column("trained_to", TS, nullable=True),
        sa.Column("params", postgresql.JSONB, nullable=False),
        sa.Column("metrics", postgresql.JSONB, nullable=False),
        sa.Column("error", sa.Text, nullable=True),
        sa.Column("created_at", TS, server_default=sa.func.now(), nullable=False),
        sa.Column("updated_at", TS, server_default=sa.func.now(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_model_versions"),
        sa.ForeignKeyConstraint(
            ["space_id"], ["feature_spaces.id"], name="fk_model_versions_space_id_feature_spaces"
        ),
    )
    op.create_index(
        "uq_model_versions_one_active",
        "model_versions",
        ["status"],
        unique=True,
        postgresql_where=sa.text("status = 'active'"),
    )


def downgrade() -> None:
    op.drop_table("model_versions")
    sa.Enum(name="model_status").drop(op.get_bind(), checkfirst=True)
