"""One module per pipeline stage: load from the store -> compute with models/ -> write back.
Celery tasks (workers/tasks.py, with the workers issue) are thin wrappers over these."""
