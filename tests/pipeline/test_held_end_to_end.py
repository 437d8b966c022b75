"""An uncertain error posted over HTTP is held by a real qcluster until a person asks for a fix.

The same stack as ``test_end_to_end``: the ingest API on a live server, django-q2's ``qcluster`` in its own
process on the test database, PyGithub against the GitHub fake. The person acts through the dashboard.
"""

from __future__ import annotations

from html import unescape

import pytest
from django.urls import reverse

from bugstack.models import Membership, Project
from ingest.models import ErrorGroup
from pipeline.states import RunState
from tests.factories import MembershipFactory, UserFactory
from tests.pipeline import test_end_to_end as end_to_end
from tests.pipeline.test_held import UNCERTAIN_EVENT

pytestmark = pytest.mark.django_db(transaction=True)

S = RunState

# The end-to-end suite's fixtures, by name: the fakes, the project key, the qcluster and the story driver.
anthropic, cluster, github, key, story = (
    end_to_end.anthropic,
    end_to_end.cluster,
    end_to_end.github,
    end_to_end.key,
    end_to_end.story,
)


@pytest.fixture
def olivia(key):
    return MembershipFactory(
        account=key.project.account, user=UserFactory(username="olivia"), role=Membership.Role.OWNER
    ).user


def test_an_uncertain_error_waits_for_a_person_then_goes_on_when_she_asks(story, client, olivia, github):
    story.post(UNCERTAIN_EVENT)
    run = story.wait_for_state(S.HELD, S.OUT_OF_SCOPE, S.FAILED)

    assert run.state == S.HELD, story.describe()
    group = ErrorGroup.objects.get(pk=run.group_id)
    assert (group.category, group.triage_rule, group.triage_confidence) == ("uncertain", "no-stack", 0.4)
    assert github.requests == [], "nothing is read while the run is held"

    client.force_login(olivia)
    try_fix = reverse("dashboard:try-fix", kwargs={"slug": group.project.slug, "group_id": group.pk})
    asked = client.post(try_fix, follow=True)
    run = story.wait_for_state(S.FIX_FAILED, S.FAILED, S.AWAITING_CI)

    assert f"Run #{run.pk} goes on to build a fix." in unescape(asked.content.decode())
    moves = list(run.transitions.values_list("from_state", "to_state", "detail"))
    assert moves[2] == (S.HELD, S.BUILDING_CONTEXT, "olivia asked for a fix")
    assert moves[3][:2] == (S.BUILDING_CONTEXT, S.FIX_FAILED), story.describe()
    # With no stack trace there is no file to fix: the stage says so rather than guess, and reads nothing.
    assert run.reason == "The event has no stack trace: there is no file to start a fix from"
    assert github.requests == [], "nothing to read without a stack trace"

    again = client.post(try_fix, follow=True)
    assert again.status_code == 200
    assert f"Run #{run.pk} is not held any more (now: Fix failed); nothing to do." in unescape(
        again.content.decode()
    )


def test_under_the_try_a_fix_policy_the_same_error_goes_straight_on(story, key):
    Project.objects.filter(pk=key.project_id).update(uncertain_policy=Project.UncertainPolicy.FIX)

    story.post(UNCERTAIN_EVENT)
    run = story.wait_for_state(S.FIX_FAILED, S.FAILED, S.HELD, S.OUT_OF_SCOPE)

    states = list(run.transitions.values_list("to_state", flat=True))
    assert states == [S.TRIAGING, S.BUILDING_CONTEXT, S.FIX_FAILED], story.describe()
    assert run.category == "uncertain"
