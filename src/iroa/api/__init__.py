"""The HTTP API: thin handlers over the core's services."""
