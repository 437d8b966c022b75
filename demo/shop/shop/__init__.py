"""A small coffee-gear shop, instrumented with bugstack's Python SDK (``BUGSTACK_DSN`` turns it on)."""

from __future__ import annotations

from pathlib import Path

from bugstack_sdk.flask import Bugstack
from flask import Flask

# The repository's top: frames under it are the shop's own code, named like ``shop/catalog.py``.
PROJECT_ROOT = Path(__file__).resolve().parent.parent


def create_app() -> Flask:
    app = Flask(__name__)
    from shop.views import bp

    app.register_blueprint(bp)
    Bugstack(app, project_root=str(PROJECT_ROOT))
    return app
