"""Environments used by the algorithms (reusable parts: they never import an algorithm)."""
