"""Wake fix runs when their code host reports news (webhooks), instead of waiting for the next poll."""

from __future__ import annotations

from django.db import transaction
from django.db.models import Q
from django.dispatch import receiver

from integrations.signals import code_host_event
from pipeline.models import FixRun
from pipeline.queue import enqueue
from pipeline.states import PR_OPEN_STATES, RunState

# States whose stage reads CI or the pull request: news may let them move. ``ci_failed`` and ``ci_passed``
# are already queued; a pull request merged or closed meanwhile is seen by their stage too.
WOKEN_STATES = PR_OPEN_STATES - {RunState.CI_FAILED, RunState.CI_PASSED}


@receiver(code_host_event, dispatch_uid="pipeline.wake_runs")
def wake_runs(sender, *, project_ids, sha="", branch="", pr_number=None, **kwargs) -> None:
    """Queue the stage of every waiting run the news is about: by commit, branch or pull request number."""
    about = Q(pk__in=[])
    if sha:
        about |= Q(head_sha=sha)
    if branch:
        about |= Q(branch=branch)
    if pr_number:
        about |= Q(pr_number=pr_number)
    runs = FixRun.objects.filter(about, project_id__in=project_ids, state__in=WOKEN_STATES)
    # A run resting between polls holds its stage idle (no worker on it: ``stage_attempts`` is 0); news ends
    # the rest. A stage a worker is doing right now keeps its lease.
    runs.filter(stage_attempts=0).update(lease_expires_at=None)
    for run_id, state in runs.values_list("pk", "state"):
        transaction.on_commit(lambda run_id=run_id, state=state: enqueue(run_id, state))
