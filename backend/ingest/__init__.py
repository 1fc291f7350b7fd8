"""Ingestion: read real-world files, map them onto the feature schema, load them in bulk."""
