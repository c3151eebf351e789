"""Cross-cutting foundations: settings, database, errors, audit log, time and ids."""
