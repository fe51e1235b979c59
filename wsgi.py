"""Entry point for gunicorn and ``flask run``: ``gunicorn wsgi:app``."""

from hazard_reporter import create_app

app = create_app()
