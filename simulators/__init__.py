"""Device and account simulators that read time only from a loomlite clock."""
