"""Celery worker and beat (arrive with the workers issue); tasks will be thin wrappers over jobs."""
