"""Routers per domain. Each module exposes ``register(app)``."""
