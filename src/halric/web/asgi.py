"""ASGI entry for uvicorn/gunicorn: ``halric.web.asgi:app`` built from HALRIC_* settings."""

from halric.web.app import create_app

app = create_app()
