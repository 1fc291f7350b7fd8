"""Forecourt back end: storage, ingestion, services and the HTTP API."""
