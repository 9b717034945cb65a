"""Run the ``loomlite`` command line as ``python -m loomlite``."""

from loomlite.cli import main

main(prog_name="loomlite")
