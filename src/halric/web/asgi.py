"""ASGI entry for uvicorn/gunicorn: ``halric.web.asgi:app`` built from HALRIC_* settings.

With no ``HALRIC_BROKER_URL`` this process also runs the background jobs and their schedules
(in-process fallback for a single machine; ``HALRIC_WORKER_INPROCESS=false`` turns it off).
"""

from halric.web.app import create_app

app = create_app()
app.state.jobs_inprocess = True
