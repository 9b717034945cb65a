"""loomlite testing."""
