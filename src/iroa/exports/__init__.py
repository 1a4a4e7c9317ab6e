"""Exports of the inventory: an RVTools-like XLSX workbook and CSV files (no HTTP, no CLI)."""
