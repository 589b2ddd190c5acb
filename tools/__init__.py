"""Developer tooling: the pinned uv bootstrap and the notebook executor (not shipped in the wheel)."""
