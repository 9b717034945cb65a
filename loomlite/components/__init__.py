"""loomlite components."""
