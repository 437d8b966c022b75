"""Template filters for figures: durations, percentages and run state badges."""

from __future__ import annotations

from datetime import datetime

from django import template
from django.utils import timezone
from django.utils.timesince import timesince

from dashboard import presenters

register = template.Library()


@register.filter
def duration(seconds: float | None) -> str:
    return presenters.format_seconds(seconds)


@register.filter
def percent(value: float | None) -> str:
    return "—" if value is None else f"{value:.0%}"


@register.filter
def state_tone(state: str) -> str:
    return presenters.state_tone(state)


@register.filter
def state_label(state: str) -> str:
    return presenters.state_label(state)


@register.filter
def short_sha(sha: str) -> str:
    return sha[:12]


@register.filter
def ago(moment: datetime | None) -> str:
    """“3 minutes ago”, or “just now” inside the first minute (rather than “0 minutes ago”)."""
    if moment is None:
        return "never"
    if (timezone.now() - moment).total_seconds() < 60:
        return "just now"
    return f"{timesince(moment)} ago"
