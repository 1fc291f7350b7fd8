"""Jobs and index freshness: the ``jobs`` table (every task run, for the admin API), when
each vehicle last changed (wall clock, kept by a trigger) and up to when a published
collection has been synchronised with the catalogue.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-04
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)
JOB_STATUS = ("queued", "running", "succeeded", "failed")

# ``updated_at`` is the observation time a feed reports (it may lie years back); the index
# sync needs the time the row changed here, whatever the feed says.
TOUCH = """
CREATE FUNCTION vehicles_touch_changed_at() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF NEW.features IS DISTINCT FROM OLD.features OR NEW.status IS DISTINCT FROM OLD.status THEN
    NEW.changed_at := clock_timestamp();
  END IF;
  RETURN NEW;
END $$;
CREATE TRIGGER vehicles_changed_at BEFORE UPDATE ON vehicles
  FOR EACH ROW EXECUTE FUNCTION vehicles_touch_changed_at();
"""


def upgrade() -> None:
    status = postgresql.ENUM(*JOB_STATUS, name="job_status")
    op.create_table(
        "jobs",
        sa.Column("id", sa.Text, nullable=False),
        sa.Column("name", sa.Text, nullable=False),
        sa.Column("status", status, server_default="queued", nullable=False),
        sa.Column("args", postgresql.JSONB, server_default="{}", nullable=False),
        sa.Column("attempts", sa.Integer, server_default="0", nullable=False),
        sa.Column("queued_at", TS, server_default=sa.func.now(), nullable=False),
        sa.Column("started_at", TS, nullable=True),
        sa.Column("finished_at", TS, nullable=True),
        sa.Column("seconds", sa.Float, nullable=True),
        sa.Column("summary", postgresql.JSONB, nullable=True),
        sa.Column("error", sa.Text, nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_jobs"),
    )
    op.create_index("ix_jobs_name_queued_at", "jobs", ["name", "queued_at"])
    op.add_column(
        "vehicles",
        sa.Column("changed_at", TS, server_default=sa.func.now(), nullable=False),
    )
    op.create_index("ix_vehicles_changed_at", "vehicles", ["changed_at"])
    op.execute(TOUCH)
    op.add_column("model_versions", sa.Column("synced_at", TS, nullable=True))
    op.create_index("ix_events_received_at", "events", ["received_at"], postgresql_using="brin")
    # A trained version the retrain pipeline's gate refused: never published or activated.
    op.execute("ALTER TYPE model_status ADD VALUE IF NOT EXISTS 'rejected'")


def downgrade() -> None:
    # PostgreSQL cannot drop one value of an enum: rebuild the type without 'rejected'.
    op.execute("UPDATE model_versions SET status = 'failed' WHERE status = 'rejected'")
    op.execute("DROP INDEX uq_model_versions_one_active")
    op.execute("ALTER TYPE model_status RENAME TO model_status_old")
    op.execute(
        "CREATE TYPE model_status AS ENUM ('training', 'ready', 'active', 'retired', 'failed')"
    )
    op.execute("ALTER TABLE model_versions ALTER COLUMN status DROP DEFAULT")
    op.execute(
        "ALTER TABLE model_versions ALTER COLUMN status TYPE model_status"
        " USING status::text::model_status"
    )
    op.execute("ALTER TABLE model_versions ALTER COLUMN status SET DEFAULT 'training'")
    op.execute("DROP TYPE model_status_old")
    op.execute(
        "CREATE UNIQUE INDEX uq_model_versions_one_active ON model_versions (status)"
        " WHERE status = 'active'"
    )
    op.drop_index("ix_events_received_at", table_name="events")
    op.drop_column("model_versions", "synced_at")
    op.execute("DROP TRIGGER vehicles_changed_at ON vehicles")
    op.execute("DROP FUNCTION vehicles_touch_changed_at()")
    op.drop_index("ix_vehicles_changed_at", table_name="vehicles")
    op.drop_column("vehicles", "changed_at")
    op.drop_index("ix_jobs_name_queued_at", table_name="jobs")
    op.drop_table("jobs")
    postgresql.ENUM(name="job_status").drop(op.get_bind())
