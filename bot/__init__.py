"""Reseller bot: the application shell (settings, database, app factory, CLI)."""
