# ruff: noqa: F821 - the missing import is the bug this repository reproduces
"""Reports as JSON."""


def render(totals):
    return json.dumps({"totals": totals}, sort_keys=True)
