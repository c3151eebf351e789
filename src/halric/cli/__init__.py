"""The ``halric`` command line."""
