"""What the API (and the workers) do with the store, the index and the active model:
loading the serving model, keeping Milvus in step with the catalogue, recommending."""
