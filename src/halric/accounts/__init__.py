"""Users, roles, groups, sessions, API tokens and sign-in throttling."""
