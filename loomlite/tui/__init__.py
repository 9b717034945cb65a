"""The Textual TUI that inspects a pipeline: ``loomlite tui``."""
