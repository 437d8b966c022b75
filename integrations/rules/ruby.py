"""Ruby rule: safe navigation (``&.``) for a method called on nil."""

from __future__ import annotations

import re

from integrations.rules.base import Failure, Fix, replace_lines
from integrations.rules.chains import code_part, insert_operators, reads, single_base

# Ruby 3.4 quotes 'name' and says "for nil"; earlier versions quote `name' and say "for nil:NilClass".
NIL_METHOD = re.compile(r"undefined method [`'‘]([\w?!]+)['’] for nil\b")


def safe_navigation(failure: Failure) -> Fix | None:
    match = NIL_METHOD.search(failure.request.message)
    if not match:
        return None
    name = match.group(1)
    line = failure.line
    code = code_part(line, "#")
    found = reads(code, re.compile(rf"(?<!&)\.{re.escape(name)}(?![\w?!])"))
    base = single_base(found)
    if base is None:
        return None
    new_line = insert_operators(code, found, lambda at: "&") + line[len(code) :]
    return Fix(
        edits=(replace_lines(failure, failure.index, failure.index, [new_line]),),
        root_cause=f"{base} is nil here, and calling {name} on it raises NoMethodError.",
        explanation=f"Call {name} with safe navigation (&.) so a nil {base} gives nil.",
        confidence=0.5,
    )


RULES = {"NoMethodError": safe_navigation}
