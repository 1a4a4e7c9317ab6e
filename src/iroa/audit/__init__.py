"""The audit log: who changed what, when, with secrets masked."""
