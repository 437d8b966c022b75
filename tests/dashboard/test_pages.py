"""Every page as an account's owner sees it."""

from datetime import timedelta
from html import unescape

import pytest
from django.urls import reverse
from django.utils import timezone
from django.utils.html import strip_tags

from ingest.models import ErrorGroup
from pipeline.states import RunState
from tests.factories import (
    ErrorGroupFactory,
    EventFactory,
    FixAttemptFactory,
    FixRunFactory,
    ProjectFactory,
    TransitionFactory,
)

pytestmark = pytest.mark.django_db


def page_text(response) -> str:
    """The page's HTML, entities decoded."""
    return unescape(response.content.decode())


def visible_text(response) -> str:
    """What a reader sees: tags dropped, whitespace collapsed."""
    return " ".join(unescape(strip_tags(response.content.decode())).split())


@pytest.fixture
def signed_in(client, owner):
    client.force_login(owner)
    return client


def groups_url(project, **params):
    url = reverse("dashboard:groups", kwargs={"slug": project.slug})
    return url + ("?" + "&".join(f"{k}={v}" for k, v in params.items()) if params else "")


# --- projects -----------------------------------------------------------------------------------------


def test_projects_page_counts_open_errors_runs_and_this_weeks_pull_requests(signed_in, project, merged_group):
    ErrorGroupFactory(project=project, title="KeyError: 'sku'")
    ErrorGroupFactory(project=project, title="TypeError", status=ErrorGroup.Status.IGNORED)
    FixRunFactory(group=ErrorGroupFactory(project=project), state=RunState.AWAITING_CI)
    old = FixRunFactory(group=ErrorGroupFactory(project=project), state=RunState.MERGED)
    type(old).objects.filter(pk=old.pk).update(
        pr_opened_at=timezone.now() - timedelta(days=20), finished_at=timezone.now() - timedelta(days=19)
    )

    response = signed_in.get(reverse("dashboard:projects"))

    assert response.status_code == 200
    summary = response.context["summaries"][0]
    assert summary.open_groups == 3  # not the ignored group, nor the one whose fix was merged
    assert summary.runs_in_flight == 1
    assert summary.prs_opened_this_week == 1  # the merged fix, two hours ago; not the one from 20 days ago
    assert summary.prs_merged_this_week == 1
    assert summary.last_error_at == ErrorGroup.objects.latest("last_seen").last_seen
    text = page_text(response)
    assert "Shop" in text and "Open errors" in text and "Last error" in text


def test_projects_page_takes_the_same_queries_for_one_project_or_many(
    signed_in, project, account, django_assert_max_num_queries
):
    for n in range(5):
        other = ProjectFactory(account=account, name=f"App {n}", slug=f"app-{n}")
        FixRunFactory(group=ErrorGroupFactory(project=other), state=RunState.QUEUED)
    with django_assert_max_num_queries(6):
        response = signed_in.get(reverse("dashboard:projects"))
    assert len(response.context["summaries"]) == 6


def test_projects_page_without_projects_says_how_to_create_one(client, outsider):
    client.force_login(outsider)
    assert "No projects yet" in page_text(client.get(reverse("dashboard:projects")))


# --- error groups -------------------------------------------------------------------------------------


def test_group_list_shows_category_counts_run_state_and_users(signed_in, project, merged_group):
    response = signed_in.get(groups_url(project))
    assert response.status_code == 200
    text = page_text(response)
    assert merged_group.title in text
    assert "shop/cart.py in average_price" in text
    assert ">Code</span>" in text
    assert ">Merged</span>" in text
    row = response.context["rows"][0]
    assert row.group.times_seen == 42
    assert row.users == 1
    assert row.events_in_sparkline == 1
    assert "1 event in the last 14 days" in text


def test_sparkline_counts_events_per_day(signed_in, project):
    group = ErrorGroupFactory(project=project)
    now = timezone.now()
    for days_ago, count in ((0, 3), (2, 1), (20, 5)):
        for _ in range(count):
            EventFactory(group=group, timestamp=now - timedelta(days=days_ago))
    row = signed_in.get(groups_url(project)).context["rows"][0]
    counts = [bar.count for bar in row.sparkline]
    assert counts[-1] == 3 and counts[-3] == 1
    assert sum(counts) == 4  # the event from 20 days ago is outside the window
    assert max(bar.height for bar in row.sparkline) == 24


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"status": "ignored"}, {"ignored one"}),
        ({"category": "infrastructure"}, {"infra one"}),
        ({"state": "merged"}, {"merged one"}),
        ({"state": "none"}, {"ignored one", "infra one"}),
        ({"q": "sku"}, {"infra one"}),
        ({"q": "payments.py"}, {"merged one"}),
        ({}, {"ignored one", "infra one", "merged one"}),
    ],
)
def test_group_list_filters_and_search(signed_in, project, params, expected):
    ErrorGroupFactory(project=project, title="ignored one", status=ErrorGroup.Status.IGNORED)
    ErrorGroupFactory(
        project=project, title="infra one", category="infrastructure", exception_type="KeyErrorSku"
    )
    merged = ErrorGroupFactory(project=project, title="merged one", culprit="shop/payments.py in pay")
    FixRunFactory(group=merged, state=RunState.FAILED)
    FixRunFactory(group=merged, state=RunState.MERGED)  # the latest run decides the badge
    response = signed_in.get(groups_url(project, **params))
    assert response.status_code == 200
    assert {row.group.title for row in response.context["rows"]} == expected


def test_bad_filter_value_is_a_400_naming_the_filter(signed_in, project, merged_group):
    response = signed_in.get(groups_url(project, status="deleted"))
    assert response.status_code == 400
    text = page_text(response)
    assert "Status: Select a valid choice. deleted is not one of the available choices." in text
    assert merged_group.title in text  # the list still shows, unfiltered


def test_group_list_paginates_and_keeps_filters_in_page_links(signed_in, project):
    for n in range(30):
        ErrorGroupFactory(
            project=project, title=f"Error {n}", last_seen=timezone.now() - timedelta(minutes=n)
        )
    first = signed_in.get(groups_url(project, q="Error"))
    assert len(first.context["rows"]) == 25
    assert "?q=Error&amp;page=2" in first.content.decode()
    second = signed_in.get(groups_url(project, q="Error", page=2))
    assert [row.group.title for row in second.context["rows"]] == [f"Error {n}" for n in range(25, 30)]
    assert signed_in.get(groups_url(project, page="nonsense")).status_code == 200


def test_group_list_query_count_does_not_grow_with_the_page(
    signed_in, project, django_assert_max_num_queries
):
    for n in range(25):
        group = ErrorGroupFactory(project=project, title=f"Error {n}")
        EventFactory(group=group)
        FixRunFactory(group=group, state=RunState.AWAITING_CI)
    with django_assert_max_num_queries(10):
        signed_in.get(groups_url(project))


def test_empty_project_points_to_setup(signed_in, project):
    text = page_text(signed_in.get(groups_url(project)))
    assert "No errors yet" in text
    assert reverse("dashboard:setup", kwargs={"slug": project.slug}) in text


# --- one group ----------------------------------------------------------------------------------------


def group_page(client, group):
    return client.get(reverse("dashboard:group", kwargs={"slug": group.project.slug, "group_id": group.pk}))


def test_group_page_tells_the_story_of_a_merged_fix(signed_in, merged_group):
    response = group_page(signed_in, merged_group)
    assert response.status_code == 200
    assert "Error → pull request in 6.5 s, merged after 2 min 11 s. Pull request #7 Merged" in visible_text(
        response
    )
    assert 'href="https://github.com/acme/shop/pull/7"' in page_text(response)
    (run,) = response.context["runs"]
    labels = [step.label for step in run.steps]
    assert labels == [
        "Queued",
        "Triaging",
        "Building context",
        "Generating fix",
        "Opening pull request",
        "Awaiting CI",
        "CI failed",
        "Generating fix",
        "Opening pull request",
        "Awaiting CI",
        "CI passed",
        "Merged",
    ]
    # Each stage shows how it ended: the CI stage that failed says which check.
    awaiting_first = run.steps[5]
    assert awaiting_first.detail == "failed: tests" and awaiting_first.duration == pytest.approx(53.5)
    assert run.steps[-1].duration is None


def test_group_page_shows_attempts_with_diff_findings_and_ci_output(signed_in, merged_group):
    text = page_text(group_page(signed_in, merged_group))
    assert "average_price divides by len(items), which is zero for an empty cart." in text
    assert "Return 0 for an empty cart, as the template expects a number." in text
    assert "confidence 91%" in text and "confidence 70%" in text
    assert '<span class="diff-line add">+    if not items:</span>' in text
    assert '<span class="diff-line del">-    return total / len(items)</span>' in text
    assert "+3</span>" in text and "−1</span>" in text
    assert "templates/cart.html: no syntax checker for .html files" in text
    assert "FAILED test_cart.py::test_empty - None != 0" in text


def test_group_page_lists_the_files_read_for_the_fix(signed_in, merged_group):
    text = visible_text(group_page(signed_in, merged_group))
    assert "Context: 2 files read (4.1 KB), 1 passed over" in text
    assert "shop/models.py imported by shop/cart.py" in text
    assert "vendor/big.py not read: over the context budget" in text


def test_group_page_shows_trace_request_tags_and_triage(signed_in, merged_group):
    response = group_page(signed_in, merged_group)
    text = page_text(response)
    (exception,) = response.context["exceptions"]
    assert [frame.location for frame in exception.frames] == ["shop/cart.py", "django/core/handlers/base.py"]
    assert '<details class="frame in-app" open>' in text
    assert '<details class="frame" >' in text  # the library frame starts collapsed
    assert "https://shop.example.com/cart" in text
    assert "CPython 3.11.7" in text
    assert "eu-west-1" in text
    assert "divides by an empty list's length" in text


def test_untrusted_event_text_stays_text(signed_in, project):
    payload = "<script>alert('x')</script>"
    group = ErrorGroupFactory(project=project, title=payload, culprit=payload)
    EventFactory(
        group=group,
        data={
            "exception": {
                "values": [
                    {
                        "type": payload,
                        "value": payload,
                        "stacktrace": {
                            "frames": [
                                {
                                    "filename": payload,
                                    "function": payload,
                                    "context_line": payload,
                                    "in_app": True,
                                }
                            ]
                        },
                    }
                ]
            },
            "request": {"url": "javascript:alert(1)", "headers": {payload: payload}},
            "tags": {payload: payload},
        },
    )
    run = FixRunFactory(group=group, state=RunState.FIX_FAILED, pr_url="javascript:alert(1)", pr_number=1)
    FixAttemptFactory(
        run=run,
        explanation=payload,
        diff=f"+{payload}",
        ci_state="failure",
        ci_failures=[{"name": payload, "text": payload, "url": "javascript:alert(1)"}],
        policy_findings=[payload],
    )
    html = group_page(signed_in, group).content.decode()
    assert "<script>alert" not in html
    assert "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt;" in html
    assert 'href="javascript:' not in html


def test_malformed_event_data_still_renders(signed_in, project):
    group = ErrorGroupFactory(project=project)
    EventFactory(
        group=group,
        data={
            "exception": {"values": "nope"},
            "tags": [1, ["a"], ["k", "v"]],
            "request": {"headers": [["User-Agent", "curl/8"], "junk"], "data": {"q": 1}},
            "contexts": {"runtime": "CPython"},
        },
    )
    response = group_page(signed_in, group)
    assert response.status_code == 200
    assert response.context["tags"] == [("k", "v")]
    assert ("Header User-Agent", "curl/8") in response.context["request_rows"]
    assert ("Body", '{"q": 1}') in response.context["request_rows"]


def test_group_without_events_or_runs(signed_in, project):
    text = page_text(group_page(signed_in, ErrorGroupFactory(project=project)))
    assert "No fix run yet." in text
    assert "No event stored for this group." in text


def test_run_poll_returns_each_runs_state(signed_in, project):
    group = ErrorGroupFactory(project=project)
    done = FixRunFactory(group=group, state=RunState.FAILED)
    live = FixRunFactory(group=group, state=RunState.GENERATING_FIX)
    TransitionFactory(run=live, from_state="queued", to_state="triaging")
    url = reverse("dashboard:group-runs", kwargs={"slug": project.slug, "group_id": group.pk})
    body = signed_in.get(url).json()
    assert body["status"] == "unresolved"
    assert [(run["id"], run["label"], run["final"]) for run in body["runs"]] == [
        (live.pk, "Generating fix", False),
        (done.pk, "Failed", True),
    ]


def test_in_flight_run_turns_on_live_refresh(signed_in, project):
    group = ErrorGroupFactory(project=project)
    FixRunFactory(group=group, state=RunState.TRIAGING)
    html = group_page(signed_in, group).content.decode()
    assert f'data-runs-url="/projects/{project.slug}/groups/{group.pk}/runs.json"' in html
    assert "for " in html and "so far" in html  # the current stage counts its time


# --- fix history --------------------------------------------------------------------------------------


def test_fix_history_lists_runs_and_computes_rates(signed_in, project, merged_group):
    start = timezone.now() - timedelta(hours=1)
    failed_ci = FixRunFactory(
        group=ErrorGroupFactory(project=project), state=RunState.FIX_FAILED, pr_number=8
    )
    type(failed_ci).objects.filter(pk=failed_ci.pk).update(
        created_at=start, pr_opened_at=start + timedelta(seconds=20)
    )
    FixAttemptFactory(run=failed_ci, number=1, ci_state="failure")
    FixRunFactory(group=ErrorGroupFactory(project=project), state=RunState.OUT_OF_SCOPE)
    FixRunFactory(group=ErrorGroupFactory(project=project), state=RunState.AWAITING_CI)

    response = signed_in.get(reverse("dashboard:fixes", kwargs={"slug": project.slug}))

    stats = response.context["stats"]
    assert stats.runs == 4
    assert (stats.merged, stats.finished) == (1, 2)  # out of scope and in-flight runs do not count
    assert stats.median_seconds_to_pr == pytest.approx((6.5 + 20) / 2)
    assert (stats.first_ci_passed, stats.first_ci_runs) == (0, 2)  # the merged fix failed CI first
    text = visible_text(response)
    assert "Fix rate 50% 1 merged of 2 finished runs in scope" in text
    assert "Median time to pull request 13 s" in text
    assert "CI pass rate, first attempt 0% 0 of 2 runs that reached CI" in text
    rows = {row.run.pk: row for row in response.context["rows"]}
    merged_run = merged_group.runs.get()
    assert rows[merged_run.pk].ci_state == "success"
    assert rows[merged_run.pk].run.attempt_count == 2
    assert rows[failed_ci.pk].seconds_to_pr == pytest.approx(20)


def test_fix_history_without_runs(signed_in, project):
    response = signed_in.get(reverse("dashboard:fixes", kwargs={"slug": project.slug}))
    assert response.context["stats"].fix_rate is None
    assert "No fix runs yet" in page_text(response)


# --- setup --------------------------------------------------------------------------------------------


def test_setup_page_shows_the_dsn_and_a_snippet_per_sdk(signed_in, project, key):
    response = signed_in.get(reverse("dashboard:setup", kwargs={"slug": project.slug}))
    text = page_text(response)
    assert f'value="{key.dsn}"' in text
    for title in (
        "Python · Django",
        "Python · Flask",
        "JavaScript · Express",
        "Ruby · Rails / Rack",
        "Go · net/http",
    ):
        assert title in text
    assert "bugstack_sdk.django.BugstackMiddleware" in text
    assert "Rotate key" in text


def test_setup_page_without_a_key_offers_one(signed_in, project):
    text = page_text(signed_in.get(reverse("dashboard:setup", kwargs={"slug": project.slug})))
    assert "no active key" in text and "Issue a key" in text


# --- log in and out -----------------------------------------------------------------------------------


def test_log_in_and_out(client, owner):
    response = client.post(reverse("login"), {"username": "olivia", "password": "pw-for-tests"})
    assert response.status_code == 302 and response["Location"] == "/"
    assert "Projects" in page_text(client.get("/"))
    assert client.post(reverse("logout")).status_code == 302
    assert client.get("/").status_code == 302


def test_wrong_password_says_so(client, owner):
    response = client.post(reverse("login"), {"username": "olivia", "password": "nope"})
    assert response.status_code == 200
    assert "Please enter a correct username and password" in page_text(response)
