"""django-q2 tasks of the fix pipeline: each takes a run id and does the stage its state calls for."""

from __future__ import annotations

import logging

logger = logging.getLogger(__name__)


def run_stage(run_id: int) -> None:
    """Advance the run by the stage its current state calls for (stages land with orchestration)."""
    logger.info("run %s queued; pipeline stages are not wired yet", run_id)
