"""The web layer: FastAPI app factory, access rules, pages and JSON API over the domain services."""
