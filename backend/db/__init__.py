"""PostgreSQL storage: typed tables, engine/session helpers, bulk loaders."""
