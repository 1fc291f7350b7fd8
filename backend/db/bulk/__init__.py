"""Bulk writes through PostgreSQL COPY into temp staging tables, then set-based merges.

Each ``write_*`` call handles one batch in one transaction, so an interrupted import keeps
every finished batch and a re-run skips what is already there.
"""

from backend.db.bulk.events import EventWriter
from backend.db.bulk.result import BatchResult
from backend.db.bulk.users import write_users
from backend.db.bulk.vehicles import write_vehicles

__all__ = ["BatchResult", "EventWriter", "write_users", "write_vehicles"]
