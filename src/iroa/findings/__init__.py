"""Health findings: rules evaluated over the inventory after every successful sync."""
