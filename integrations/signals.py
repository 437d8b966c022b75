"""Signals other apps listen to; ``integrations`` never imports them back."""

from django.dispatch import Signal

# Sent when a verified webhook reports news from a code host: CI finished or a pull request was closed or
# merged. Keyword arguments: ``project_ids`` (list[int]: the account's projects on that repository),
# ``event`` (GitHub event name), ``action``, ``sha``, ``branch``, ``pr_number`` (int | None),
# ``merged`` (bool).
code_host_event = Signal()
