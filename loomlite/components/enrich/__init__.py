"""The enrich component's building blocks: geometry, steps, motion and places."""
