"""The sync engine: the only writer of inventory, history and changes."""
