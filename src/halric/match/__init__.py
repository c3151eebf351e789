"""Matchmaking: a plain-language research question → ranked techniques, instruments and contacts."""
