"""Inventory history: the change rows every sync writes, KPI summaries, and their retention."""
