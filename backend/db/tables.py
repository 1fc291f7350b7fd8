"""Typed SQLAlchemy 2 tables. Named "tables" because ``models/`` is the ML package."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    DateTime,
    Enum,
    Float,
    ForeignKey,
    Identity,
    Index,
    LargeBinary,
    MetaData,
    Text,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

NAMING = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map = {  # noqa: RUF012 - SQLAlchemy reads this class attribute
        datetime: DateTime(timezone=True),
        dict[str, Any]: JSONB,
    }


class VehicleStatus(enum.StrEnum):
    available = "available"
    sold = "sold"
    removed = "removed"


class ModelStatus(enum.StrEnum):
    training = "training"
    ready = "ready"
    active = "active"
    retired = "retired"
    failed = "failed"
    rejected = "rejected"  # trained, but the retrain gate found it worse than the active one


class JobStatus(enum.StrEnum):
    queued = "queued"
    running = "running"
    succeeded = "succeeded"
    failed = "failed"


class EventType(enum.StrEnum):
    view = "view"
    bookmark = "bookmark"
    contact = "contact"


def _enum(cls: type[enum.Enum], name: str) -> Enum:
    return Enum(cls, name=name, values_callable=lambda e: [m.value for m in e])


class User(Base):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    external_id: Mapped[str] = mapped_column(Text(collation="C"), unique=True)
    # Optional user-side attributes (age band, gender, ...), validated against the schema.
    attributes: Mapped[dict[str, Any]] = mapped_column(server_default=text("'{}'::jsonb"))
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())
    updated_at: Mapped[datetime] = mapped_column(server_default=func.now())


class Vehicle(Base):
    """A listing as it is now; its history lives in ``vehicle_versions``."""

    __tablename__ = "vehicles"

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    external_id: Mapped[str] = mapped_column(Text(collation="C"), unique=True)
    source: Mapped[str] = mapped_column(Text)
    title: Mapped[str | None] = mapped_column(Text)
    status: Mapped[VehicleStatus] = mapped_column(
        _enum(VehicleStatus, "vehicle_status"), server_default=VehicleStatus.available.value
    )
    features: Mapped[dict[str, Any]]
    listed_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())
    updated_at: Mapped[datetime] = mapped_column(server_default=func.now())
    # When the row last changed here (a trigger keeps it); the index sync reads it.
    changed_at: Mapped[datetime] = mapped_column(server_default=func.now())

    __table_args__ = (Index(None, "status"), Index(None, "changed_at"))


class VehicleVersion(Base):
    """Features a vehicle had over [valid_from, valid_to). NULL bounds mean open-ended:
    valid_from NULL = as far back as we know, valid_to NULL = still current."""

    __tablename__ = "vehicle_versions"

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    vehicle_id: Mapped[int] = mapped_column(ForeignKey("vehicles.id", ondelete="CASCADE"))
    features: Mapped[dict[str, Any]]
    valid_from: Mapped[datetime | None]
    valid_to: Mapped[datetime | None]

    __table_args__ = (
        Index(None, "vehicle_id", "valid_from"),
        # At most one open (current) version per vehicle.
        Index(
            "uq_vehicle_versions_current",
            "vehicle_id",
            unique=True,
            postgresql_where=text("valid_to IS NULL"),
        ),
    )


class Event(Base):
    """An interaction. No foreign keys on purpose: this is the one table with millions of rows,
    FK triggers cost about a third of bulk-load time, and every writer resolves user and vehicle
    ids by joining those tables (vehicles are never deleted, only marked sold/removed)."""

    __tablename__ = "events"

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    user_id: Mapped[int] = mapped_column(BigInteger)
    vehicle_id: Mapped[int] = mapped_column(BigInteger)
    type: Mapped[EventType] = mapped_column(_enum(EventType, "event_type"))
    occurred_at: Mapped[datetime]
    # Optional strength of the signal (e.g. a MovieLens rating); NULL for plain events.
    value: Mapped[float | None] = mapped_column(Float)
    # Replaying a batch must add nothing: the source's event id, or one derived from content.
    # Byte-wise collation: these are identifiers, and "C" comparisons make the index cheaper.
    idempotency_key: Mapped[str] = mapped_column(Text(collation="C"), unique=True)
    received_at: Mapped[datetime] = mapped_column(server_default=func.now())

    __table_args__ = (
        Index(None, "user_id", "occurred_at"),
        # Events arrive roughly in time order, so a tiny BRIN index serves time-range scans.
        Index(None, "occurred_at", postgresql_using="brin"),
        # The profile refresh looks for events received since the profiles were written.
        Index(None, "received_at", postgresql_using="brin"),
    )


class FeatureSpaceRow(Base):
    """A fitted feature space with the profile prior and settings built on it; profiles and
    (later) models point at the one they were computed in."""

    __tablename__ = "feature_spaces"

    id: Mapped[int] = mapped_column(Identity(), primary_key=True)
    fingerprint: Mapped[str] = mapped_column(Text(collation="C"), unique=True)
    schema_name: Mapped[str] = mapped_column(Text)
    space: Mapped[dict[str, Any]]
    prior: Mapped[dict[str, Any]]
    config: Mapped[dict[str, Any]]
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())


class UserProfile(Base):
    """A user's profile as of a time: the posterior vector, the sufficient statistics the
    incremental path continues from, and a readable summary."""

    __tablename__ = "user_profiles"

    user_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    space_id: Mapped[int] = mapped_column(ForeignKey("feature_spaces.id"))
    as_of: Mapped[datetime]
    event_count: Mapped[int]
    total_weight: Mapped[float] = mapped_column(Float)
    # float32 posterior vector and float64 sufficient statistics (cat | w | x | xx), packed:
    # a million users' arrays load and store orders of magnitude faster than SQL arrays.
    vector: Mapped[bytes] = mapped_column(LargeBinary)
    stats: Mapped[bytes] = mapped_column(LargeBinary)
    summary: Mapped[dict[str, Any]]
    updated_at: Mapped[datetime] = mapped_column(server_default=func.now())

    __table_args__ = (Index(None, "space_id"),)


class ModelVersion(Base):
    """One trained model: where its artefact lies, what it was trained on, how it scored.
    At most one is active (the one serving); the partial unique index keeps it so."""

    __tablename__ = "model_versions"

    id: Mapped[int] = mapped_column(Identity(), primary_key=True)
    status: Mapped[ModelStatus] = mapped_column(
        _enum(ModelStatus, "model_status"), server_default=ModelStatus.training.value
    )
    space_id: Mapped[int | None] = mapped_column(ForeignKey("feature_spaces.id"))
    schema_name: Mapped[str] = mapped_column(Text)
    schema_fingerprint: Mapped[str] = mapped_column(Text)
    artefact: Mapped[str | None] = mapped_column(Text)
    trained_from: Mapped[datetime | None]
    trained_to: Mapped[datetime | None]
    params: Mapped[dict[str, Any]]
    metrics: Mapped[dict[str, Any]]
    error: Mapped[str | None] = mapped_column(Text)
    # Its published vehicle embeddings: the Milvus collection, how many, when.
    collection: Mapped[str | None] = mapped_column(Text)
    vectors: Mapped[int | None] = mapped_column(BigInteger)
    published_at: Mapped[datetime | None]
    # The collection holds every catalogue change made before this time.
    synced_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())
    updated_at: Mapped[datetime] = mapped_column(server_default=func.now())

    __table_args__ = (
        Index(
            "uq_model_versions_one_active",
            "status",
            unique=True,
            postgresql_where=text("status = 'active'"),
        ),
    )


class Job(Base):
    """One run of a named task (queued by the API or beat, run by a worker or in-process)."""

    __tablename__ = "jobs"

    id: Mapped[str] = mapped_column(Text, primary_key=True)
    name: Mapped[str] = mapped_column(Text)
    status: Mapped[JobStatus] = mapped_column(
        _enum(JobStatus, "job_status"), server_default=JobStatus.queued.value
    )
    args: Mapped[dict[str, Any]] = mapped_column(server_default=text("'{}'"))
    attempts: Mapped[int] = mapped_column(server_default=text("0"))
    queued_at: Mapped[datetime] = mapped_column(server_default=func.now())
    started_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]
    seconds: Mapped[float | None] = mapped_column(Float)
    summary: Mapped[dict[str, Any] | None]
    error: Mapped[str | None] = mapped_column(Text)

    __table_args__ = (Index(None, "name", "queued_at"),)
