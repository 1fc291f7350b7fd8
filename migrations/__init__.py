"""Alembic migrations for Forecourt's PostgreSQL schema (run with ``forecourt db upgrade``)."""
