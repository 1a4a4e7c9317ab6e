"""Database access: engine and sessions, declarative base, migrations."""
