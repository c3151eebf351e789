"""HALRIC Hub: from a research question to published data across the HALRIC region."""

__version__ = "0.1.0"
