"""Connectors: each reads one kind of external system into plain records."""
