"""Run the web server, and a task cluster beside it unless asked not to."""

import subprocess
import sys

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import connections

from bugstack.serving import ServerOptions, run_server


class Command(BaseCommand):
    help = (
        "Serve the web app (granian; BUGSTACK_WEB_* settings) and run `qcluster` beside it; stopping one "
        "stops both. --web-only serves without the cluster, for web nodes of a larger installation."
    )

    def add_arguments(self, parser):
        parser.add_argument("addrport", nargs="?", default="127.0.0.1:8000", help="HOST:PORT or PORT.")
        parser.add_argument("--web-only", action="store_true", help="Do not start a task cluster.")

    def handle(self, *args, **options):
        host, port = parse_addrport(options["addrport"])
        # The server's workers are forked from this process: none may inherit an open database connection.
        connections.close_all()
        cluster = None if options["web_only"] else start_cluster()
        try:
            run_server(host, port, ServerOptions.from_settings())
        finally:
            if cluster is not None:
                stop(cluster)


def parse_addrport(addrport: str) -> tuple[str, int]:
    host, _, port = addrport.rpartition(":")
    if not port.isdigit() or not 0 < int(port) < 65536:
        raise CommandError(f"{addrport!r} is not HOST:PORT or PORT.")
    return host.strip("[]") or "127.0.0.1", int(port)


def start_cluster() -> subprocess.Popen:
    return subprocess.Popen([sys.executable, str(settings.BASE_DIR / "manage.py"), "qcluster"])


def stop(process: subprocess.Popen) -> None:
    process.terminate()
    try:
        process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        process.kill()
