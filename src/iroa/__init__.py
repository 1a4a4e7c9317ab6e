"""IROA: one trustworthy, always-current inventory of vCenter and Hyper-V estates."""

__version__ = "0.1.0"
