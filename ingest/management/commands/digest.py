"""Digest accepted events: once, or in a loop until stopped (SIGTERM or SIGINT end it between batches)."""

from __future__ import annotations

import signal
import time

from django.conf import settings
from django.core.management.base import BaseCommand
from django.db import close_old_connections

from ingest.digest import digest_backlog, digest_batch


class Command(BaseCommand):
    help = (
        "Group accepted events into their groups and start the fix runs they call for, a batch at a time. "
        "Several can run at once on PostgreSQL; on SQLite, one."
    )

    def add_arguments(self, parser):
        parser.add_argument("--once", action="store_true", help="Digest what is waiting, then exit.")
        parser.add_argument(
            "--poll", type=float, default=0.2, help="Seconds to wait once caught up (default 0.2)."
        )
        parser.add_argument("--batch", type=int, default=None, help="Events per batch (default: setting).")

    def handle(self, *args, once=False, poll=0.2, batch=None, **options):
        if once:
            self.stdout.write(f"digested {digest_backlog(limit=batch)} event(s)")
            return
        stopping = []
        for signum in (signal.SIGTERM, signal.SIGINT):
            signal.signal(signum, lambda *_: stopping.append(True))
        size = batch or settings.BUGSTACK_DIGEST_BATCH
        self.stdout.write(f"digesting in batches of {size}; SIGTERM or SIGINT stops between batches")
        self.stdout.flush()
        while not stopping:
            close_old_connections()
            # One batch at a time, so a stop request waits for one at most. A batch that was not full
            # caught up: waiting a moment lets the next one gather events, and a full batch costs far
            # less per event than a trickle of small ones.
            if digest_batch(size) < size:
                time.sleep(poll)
