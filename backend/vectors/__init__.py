"""Vector stores: ItemNet embeddings of vehicles, searched by inner product."""
