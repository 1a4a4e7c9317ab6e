"""People and programs that use IROA: users, roles, API tokens and login throttling."""
