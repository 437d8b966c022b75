"""Run the web server, and beside it task clusters and digest workers, on one machine."""

from __future__ import annotations

import logging
import subprocess
import sys
import threading
from dataclasses import replace

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import connections

from bugstack.serving import ServerOptions, run_server

logger = logging.getLogger(__name__)


class Command(BaseCommand):
    help = (
        "Serve the web app (granian; BUGSTACK_WEB_* settings) and run task clusters (`qcluster`) and digest "
        "workers (`digest`) beside it; one that exits is started again, and stopping the server stops them "
        "all. --web-only serves without them, for web nodes of a larger installation."
    )

    def add_arguments(self, parser):
        parser.add_argument("addrport", nargs="?", default="127.0.0.1:8000", help="HOST:PORT or PORT.")
        parser.add_argument("--web-only", action="store_true", help="No task cluster, no digest worker.")
        parser.add_argument(
            "--web-workers", type=int, default=None, help="Web processes (default BUGSTACK_WEB_WORKERS)."
        )
        parser.add_argument("--clusters", type=int, default=1, help="Task clusters to run (default 1).")
        parser.add_argument(
            "--digest-workers",
            type=int,
            default=None,
            help="Digest workers to run (default 1 with BUGSTACK_DIGEST=loop, else 0: the clusters digest).",
        )

    def handle(self, *args, **options):
        host, port = parse_addrport(options["addrport"])
        server = ServerOptions.from_settings()
        if options["web_workers"] is not None:
            server = replace(server, workers=at_least_one(options["web_workers"], "--web-workers"))
        clusters = 0 if options["web_only"] else options["clusters"]
        digesters = options["digest_workers"]
        if digesters is None:
            digesters = 1 if settings.BUGSTACK_DIGEST == "loop" else 0
        if options["web_only"]:
            digesters = 0
        # The server's workers are forked from this process: none may inherit an open database connection.
        connections.close_all()
        children = Children([["qcluster"]] * clusters + [["digest"]] * digesters)
        try:
            run_server(host, port, server)
        finally:
            children.stop()


def parse_addrport(addrport: str) -> tuple[str, int]:
    host, _, port = addrport.rpartition(":")
    if not port.isdigit() or not 0 < int(port) < 65536:
        raise CommandError(f"{addrport!r} is not HOST:PORT or PORT.")
    return host.strip("[]") or "127.0.0.1", int(port)


def at_least_one(value: int, option: str) -> int:
    if value < 1:
        raise CommandError(f"{option} must be at least 1.")
    return value


class Children:
    """``manage.py`` commands run beside the server, each started again if it exits before ``stop``."""

    def __init__(self, commands: list[list[str]]) -> None:
        self.commands = commands
        self.processes = [start(command) for command in commands]
        self.stopping = threading.Event()
        self.watcher = threading.Thread(target=self.watch, name="bugstack-children", daemon=True)
        self.watcher.start()

    def watch(self) -> None:
        while not self.stopping.wait(1.0):
            for index, process in enumerate(self.processes):
                if process.poll() is not None and not self.stopping.is_set():
                    command = " ".join(self.commands[index])
                    logger.warning("`%s` exited with %s; starting it again", command, process.returncode)
                    self.processes[index] = start(self.commands[index])

    def stop(self) -> None:
        self.stopping.set()
        self.watcher.join()
        for process in self.processes:
            process.terminate()
        for process in self.processes:
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()


def start(command: list[str]) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, str(settings.BASE_DIR / "manage.py"), *command])
