"""A project with history: an error whose fix failed CI once, then passed and was merged."""

from datetime import timedelta

import pytest
from django.utils import timezone

from ingest.models import ErrorGroup
from pipeline.models import FixAttempt
from pipeline.states import RunState
from tests.factories import (
    ErrorGroupFactory,
    EventFactory,
    FixAttemptFactory,
    FixRunFactory,
    ProjectKeyFactory,
    TransitionFactory,
)

S = RunState

DIFF = """diff --git a/shop/cart.py b/shop/cart.py
--- a/shop/cart.py
+++ b/shop/cart.py
@@ -10,4 +10,6 @@ def average_price(items):
     total = sum(item.price for item in items)
-    return total / len(items)
+    if not items:
+        return 0
+    return total / len(items)
"""

EVENT_DATA = {
    "platform": "python",
    "level": "error",
    "environment": "production",
    "release": "4f2a9c1",
    "server_name": "web-1",
    "exception": {
        "values": [
            {
                "type": "ZeroDivisionError",
                "value": "division by zero",
                "stacktrace": {
                    "frames": [
                        {
                            "filename": "django/core/handlers/base.py",
                            "function": "_get_response",
                            "lineno": 197,
                            "in_app": False,
                            "context_line": "response = wrapped_callback(request, *args, **kwargs)",
                        },
                        {
                            "filename": "shop/cart.py",
                            "function": "average_price",
                            "lineno": 11,
                            "in_app": True,
                            "pre_context": [
                                "def average_price(items):",
                                "    total = sum(i.price for i in items)",
                            ],
                            "context_line": "    return total / len(items)",
                            "post_context": [""],
                        },
                    ]
                },
            }
        ]
    },
    "request": {"method": "GET", "url": "https://shop.example.com/cart", "route": "/cart", "headers": {}},
    "contexts": {"runtime": {"name": "CPython", "version": "3.11.7"}},
    "sdk": {"name": "bugstack.python", "version": "0.1.0"},
    "tags": {"region": "eu-west-1"},
    "user": {"id": "u-42"},
}


@pytest.fixture
def key(project):
    return ProjectKeyFactory(project=project)


@pytest.fixture
def merged_group(project):
    """A group whose run went through every stage: CI failed once, the second attempt passed and merged."""
    start = timezone.now() - timedelta(hours=2)
    group = ErrorGroupFactory(
        project=project,
        status=ErrorGroup.Status.FIXED,
        category=ErrorGroup.Category.CODE,
        triage_reason="The crash is in application code: shop/cart.py divides by an empty list's length.",
        times_seen=42,
        first_seen=start,
        last_seen=start + timedelta(minutes=5),
    )
    EventFactory(group=group, timestamp=start, data=EVENT_DATA)
    run = FixRunFactory(
        group=group,
        state=S.MERGED,
        category=ErrorGroup.Category.CODE,
        branch=f"bugstack/fix-{group.pk}-abc123",
        pr_number=7,
        pr_url="https://github.com/acme/shop/pull/7",
        confidence=0.91,
        context={
            "sha": "0a1b2c3d4e5f",
            "included": [
                {"path": "shop/cart.py", "reason": "frame: average_price", "bytes": 1800},
                {"path": "shop/models.py", "reason": "imported by shop/cart.py", "bytes": 2400},
            ],
            "skipped": [{"path": "vendor/big.py", "reason": "over the context budget"}],
        },
    )
    path = [
        (S.QUEUED, S.TRIAGING, 0.2, ""),
        (S.TRIAGING, S.BUILDING_CONTEXT, 0.5, "code error in shop/cart.py"),
        (S.BUILDING_CONTEXT, S.GENERATING_FIX, 0.9, "2 file(s) read at 0a1b2c3d4e5f"),
        (S.GENERATING_FIX, S.OPENING_PR, 5.0, ""),
        (S.OPENING_PR, S.AWAITING_CI, 6.5, "pull request #7 opened"),
        (S.AWAITING_CI, S.CI_FAILED, 60.0, "failed: tests"),
        (S.CI_FAILED, S.GENERATING_FIX, 61.0, "retry 1 of 2 with the CI output"),
        (S.GENERATING_FIX, S.OPENING_PR, 66.0, ""),
        (S.OPENING_PR, S.AWAITING_CI, 67.0, ""),
        (S.AWAITING_CI, S.CI_PASSED, 130.0, "CI passed on 9f8e7d6c5b4a"),
        (S.CI_PASSED, S.MERGED, 131.0, "merged by policy"),
    ]
    for from_state, to_state, seconds, detail in path:
        TransitionFactory(
            run=run,
            from_state=from_state,
            to_state=to_state,
            at=start + timedelta(seconds=seconds),
            detail=detail,
        )
    type(run).objects.filter(pk=run.pk).update(
        created_at=start,
        pr_opened_at=start + timedelta(seconds=6.5),
        finished_at=start + timedelta(seconds=131),
        state_changed_at=start + timedelta(seconds=131),
    )
    FixAttemptFactory(
        run=run,
        number=1,
        outcome=FixAttempt.Outcome.CI_FAILED,
        diff=DIFF.replace("return 0", "return None"),
        explanation="Return None for an empty cart.",
        root_cause="average_price divides by len(items), which is zero for an empty cart.",
        confidence=0.7,
        ci_state="failure",
        ci_failures=[
            {
                "name": "tests",
                "summary": "1 failed",
                "text": "FAILED test_cart.py::test_empty - None != 0",
                "url": "",
            }
        ],
    )
    FixAttemptFactory(
        run=run,
        number=2,
        outcome=FixAttempt.Outcome.CI_PASSED,
        diff=DIFF,
        explanation="Return 0 for an empty cart, as the template expects a number.",
        root_cause="average_price divides by len(items), which is zero for an empty cart.",
        confidence=0.91,
        model_confidence=0.88,
        ci_state="success",
        policy_notes=["templates/cart.html: no syntax checker for .html files"],
    )
    run.refresh_from_db()
    return group


@pytest.fixture
def policy(project):
    """The settings form as the page posts it for ``project``, with the given changes applied."""

    def form(**changes):
        data = {
            "uncertain_policy": project.uncertain_policy,
            "triage_min_confidence": project.triage_min_confidence,
            "auto_deploy": project.auto_deploy,
            "confidence_threshold": project.confidence_threshold,
            "max_ci_retries": project.max_ci_retries,
            "max_open_prs": project.max_open_prs,
            "max_changed_lines": project.max_changed_lines,
            "max_file_bytes": project.max_file_bytes,
            "max_patch_bytes": project.max_patch_bytes,
            "dedup_window_seconds": project.dedup_window_seconds,
            "context_max_files": project.context_max_files,
            "context_max_bytes": project.context_max_bytes,
            "protected_paths": project.protected_paths,
        }
        return {**data, **changes}

    return form
