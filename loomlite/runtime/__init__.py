"""loomlite runtime."""
