"""The `ingot` CLI driven as people and scripts use it: a separate process against a real server."""
