"""Core store: users, vehicles, vehicle versions, events.

Revision ID: 0001
Revises:
Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    vehicle_status = postgresql.ENUM("available", "sold", "removed", name="vehicle_status")
    event_type = postgresql.ENUM("view", "bookmark", "contact", name="event_type")

    op.create_table(
        "users",
        sa.Column("id", sa.BigInteger, sa.Identity(), nullable=False),
        sa.Column("external_id", sa.Text(collation="C"), nullable=False),
        sa.Column(
            "attributes", postgresql.JSONB, server_default=sa.text("'{}'::jsonb"), nullable=False
        ),
        sa.Column("created_at", TS, server_default=sa.func.now(), nullable=False),
        sa.Column("updated_at", TS, server_default=sa.func.now(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_users"),
        sa.UniqueConstraint("external_id", name="uq_users_external_id"),
    )
    op.create_table(
        "vehicles",
        sa.Column("id", sa.BigInteger, sa.Identity(), nullable=False),
        sa.Column("external_id", sa.Text(collation="C"), nullable=False),
        sa.Column("source", sa.Text, nullable=False),
        sa.Column("title", sa.Text, nullable=True),
        sa.Column("status", vehicle_status, server_default="available", nullable=False),
        sa.Column("features", postgresql.JSONB, nullable=False),
        sa.Column("listed_at", TS, nullable=True),
        sa.Column("created_at", TS, server_default=sa.func.now(), nullable=False),
        sa.Column("updated_at", TS, server_default=sa.func.now(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_vehicles"),
        sa.UniqueConstraint("external_id", name="uq_vehicles_external_id"),
    )
    op.create_index("ix_vehicles_status", "vehicles", ["status"])
    op.create_table(
        "vehicle_versions",
        sa.Column("id", sa.BigInteger, sa.Identity(), nullable=False),
        sa.Column("vehicle_id", sa.BigInteger, nullable=False),
        sa.Column("features", postgresql.JSONB, nullable=False),
        sa.Column("valid_from", TS, nullable=True),
        sa.Column("valid_to", TS, nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_vehicle_versions"),
        sa.ForeignKeyConstraint(
            ["vehicle_id"],
            ["vehicles.id"],
            name="fk_vehicle_versions_vehicle_id_vehicles",
            ondelete="CASCADE",
        ),
    )
    op.create_index(
        "ix_vehicle_versions_vehicle_id_valid_from",
        "vehicle_versions",
        ["vehicle_id", "valid_from"],
    )
    op.create_index(
        "uq_vehicle_versions_current",
        "vehicle_versions",
        ["vehicle_id"],
        unique=True,
        postgresql_where=sa.text("valid_to IS NULL"),
    )
    op.create_table(
        "events",
        sa.Column("id", sa.BigInteger, sa.Identity(), nullable=False),
        sa.Column("user_id", sa.BigInteger, nullable=False),
        sa.Column("vehicle_id", sa.BigInteger, nullable=False),
        sa.Column("type", event_type, nullable=False),
        sa.Column("occurred_at", TS, nullable=False),
        sa.Column("value", sa.Float, nullable=True),
        sa.Column("idempotency_key", sa.Text(collation="C"), nullable=False),
        sa.Column("received_at", TS, server_default=sa.func.now(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_events"),
        sa.UniqueConstraint("idempotency_key", name="uq_events_idempotency_key"),
    )
    op.create_index("ix_events_user_id_occurred_at", "events", ["user_id", "occurred_at"])
    op.create_index("ix_events_occurred_at", "events", ["occurred_at"], postgresql_using="brin")


def downgrade() -> None:
    op.drop_table("events")
    op.drop_table("vehicle_versions")
    op.drop_table("vehicles")
    op.drop_table("users")
    sa.Enum(name="event_type").drop(op.get_bind(), checkfirst=True)
    sa.Enum(name="vehicle_status").drop(op.get_bind(), checkfirst=True)
