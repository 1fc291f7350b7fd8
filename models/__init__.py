"""Pure ML for Forecourt (numpy/torch only): feature schema, profiles, networks, training."""
