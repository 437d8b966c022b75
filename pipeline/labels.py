"""People's labels on error groups: one function for the dashboard and the admin.

A label replaces triage's verdict for the group: ``category_overridden`` makes the triage stage take it for
every later run instead of classifying. Each label is recorded (``CategoryChange``), and it settles a run
held for a person: labelled code, the run goes on to build a fix; labelled out of scope, it ends there.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db import transaction

from ingest.models import CategoryChange, ErrorGroup
from pipeline.models import FixRun
from pipeline.runs import end_held_run, release_held_run

Category = ErrorGroup.Category

# The rule and confidence a person's label is saved with: a person has decided, so triage need not.
SET_BY_PERSON = "set by a person"
PERSON_CONFIDENCE = 1.0
# What a person may choose. Uncertain is triage's own word for "a person should decide".
LABELS = (Category.CODE, Category.INFRASTRUCTURE, Category.CONFIGURATION, Category.DEPENDENCY)


@dataclass(frozen=True)
class Relabelled:
    change: CategoryChange | None  # None when the group already carried this label
    run: FixRun | None  # the held run the label moved on or ended


def relabel(group: ErrorGroup, category: str, user, reason: str = "") -> Relabelled:
    """Label ``group`` as ``category`` on behalf of ``user``, record it, and settle a held run by it.

    An empty category removes the label: the next run is classified by triage again. ``reason`` replaces
    the default one ("<category>: set by <username>").
    """
    if category and category not in LABELS:
        raise ValueError(f"{category!r} is not a category a person can set")
    username = user.get_username()
    reason = (reason or f"{category}: set by {username}") if category else ""
    with transaction.atomic():
        # Locked so that two labels at once are recorded in the order they were applied.
        locked = ErrorGroup.objects.select_for_update().get(pk=group.pk)
        change = None
        if locked.category != category or locked.category_overridden != bool(category):
            change = apply_label(locked, category, user, reason)
        run = settle_held_run(locked, category, username, reason) if category else None
    return Relabelled(change, run)


def apply_label(group: ErrorGroup, category: str, user, reason: str) -> CategoryChange:
    if category:
        fields = {
            "category": category,
            "category_overridden": True,
            "triage_reason": reason,
            "triage_rule": SET_BY_PERSON,
            "triage_confidence": PERSON_CONFIDENCE,
        }
    else:
        fields = {
            "category": "",
            "category_overridden": False,
            "triage_reason": "",
            "triage_rule": "",
            "triage_confidence": None,
        }
    ErrorGroup.objects.filter(pk=group.pk).update(**fields)
    return CategoryChange.objects.create(
        group=group,
        user=user,
        username=user.get_username(),
        old_category=group.category,
        new_category=category,
    )


def settle_held_run(group: ErrorGroup, category: str, username: str, reason: str) -> FixRun | None:
    """A held run waits for exactly this decision: code tries a fix, anything else is out of scope."""
    fields = {"category": category, "triage_reason": reason}
    if category == Category.CODE:
        return release_held_run(group, by=username, why="labelled the error code", **fields)
    return end_held_run(group, f"{username} labelled the error {category}: out of scope", **fields)
