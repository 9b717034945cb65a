"""loomlite cli."""
