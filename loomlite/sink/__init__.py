"""loomlite sink."""
