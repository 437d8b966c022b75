"""Fault plans: which requests to a fake fail, how, and when — one model for every fake here.

A plan is a list of rules. A rule names a **route**, ``"METHOD PATTERN"`` (``*`` for any method; the pattern
is a regular expression searched in the request's path, without the query string or GitHub's ``/api/v3``
prefix), the **calls** it applies to, counted per rule from the moment it was added (``calls=[2, 3]``: the
second and third matching requests; ``times=3``: the next three; ``times=None``: every one until removed),
and a **kind**:

``"500"``, ``"502"``, ``"503"``, ``"529"``, any status code
    answered at once with the vendor's error body for that status (``message`` replaces its text);
``"429"``
    too many requests, with ``Retry-After`` (``retry_after`` seconds; the Anthropic fake also sends
    ``retry-after-ms``);
``"rate_limit"``, ``"secondary_rate_limit"``
    GitHub's primary (403, ``X-RateLimit-Remaining: 0``) and secondary (403, ``retry-after``) limits;
``"timeout"``
    nothing for ``seconds``, longer than the client's timeout, then a 504 to whoever is still there;
``"reset"``
    the connection is closed with a TCP reset and no answer;
``"lost_response"``
    the work is done (the side effect happens), then the answer is a 502;
``"slow_body"``
    the work is done, the headers go out at once and the body trickles out over ``seconds``;
``"hold"``
    the request is kept open until the test releases it or ``seconds`` pass (its arrival is recorded and
    signalled), then served normally: crash tests kill a worker while a stage is in flight.

``after_work=True`` makes a status, ``reset`` or ``timeout`` rule act once the work is done (a connection
reset after a pull request was opened); ``lost_response`` is ``"502"`` with ``after_work``.

A plan loads from JSON (``FaultPlan.load_file``), a list of rules or ``{"faults": [...]}``, each rule an
object with the arguments of ``FaultPlan.add``: ``{"route": "POST /pulls$", "kind": "lost_response"}``.
Fakes run standalone take one with ``--faults FILE`` and expose the plan over HTTP: ``GET /_faults`` (the
rules, their counts and arrivals), ``POST /_faults`` (more rules, same JSON), ``POST /_faults/release``.
"""

from __future__ import annotations

import json
import re
import socket
import struct
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any

# An answer as the fakes build it: status, JSON payload, extra headers.
Answer = tuple[int, Any, dict[str, str]]

NAMED_KINDS = frozenset(
    {"429", "rate_limit", "secondary_rate_limit", "timeout", "reset", "lost_response", "slow_body", "hold"}
)
DEFAULT_SECONDS = {"timeout": 30.0, "slow_body": 2.0, "hold": 60.0}


def is_status(kind: str) -> bool:
    return kind.isdigit() and 400 <= int(kind) <= 599


@dataclass
class Rule:
    """One line of a plan; counts the requests on its route and fires on the calls it names."""

    route: str
    kind: str
    calls: frozenset[int] | None  # None: every matching call
    seconds: float
    retry_after: float = 1.0
    message: str = ""
    after_work: bool = False
    seen: int = 0  # matching requests so far
    fired: int = 0  # of which this rule failed (or held) so many
    arrived: threading.Event = field(default_factory=threading.Event, repr=False)
    released: threading.Event = field(default_factory=threading.Event, repr=False)
    # The (host, port) each held request came from, in order: a crash test finds the process to kill by it.
    clients: list[tuple[str, int]] = field(default_factory=list, repr=False)

    def __post_init__(self) -> None:
        method, _, pattern = self.route.strip().partition(" ")
        if not pattern:
            raise ValueError(f"route {self.route!r}: use 'METHOD PATTERN', e.g. 'POST /pulls$'")
        if self.kind not in NAMED_KINDS and not is_status(self.kind):
            raise ValueError(f"unknown fault {self.kind!r}: a status code or one of {sorted(NAMED_KINDS)}")
        self.method = method.upper()
        self.pattern = re.compile(pattern.strip())

    def matches(self, method: str, path: str) -> bool:
        return self.method in ("*", method) and self.pattern.search(path) is not None

    def applies_to(self, call: int) -> bool:
        return self.calls is None or call in self.calls

    @property
    def works_first(self) -> bool:
        return self.after_work or self.kind in ("lost_response", "slow_body")

    def as_json(self) -> dict[str, Any]:
        return {
            "route": self.route,
            "kind": self.kind,
            "calls": sorted(self.calls) if self.calls is not None else None,
            "seen": self.seen,
            "fired": self.fired,
            "arrived": self.arrived.is_set(),
        }


class FaultPlan:
    """The rules of one fake, thread-safe: the fake asks ``take`` for every request."""

    def __init__(self) -> None:
        self.rules: list[Rule] = []
        self.closing = threading.Event()  # set when the fake stops: waits end, held requests are dropped
        self._lock = threading.Lock()

    def add(
        self,
        route: str,
        kind: str,
        *,
        calls: Iterable[int] | None = None,
        times: int | None = 1,
        seconds: float | None = None,
        retry_after: float = 1.0,
        message: str = "",
        after_work: bool = False,
    ) -> Rule:
        """Add a rule; ``calls`` (1-based, counted from now) wins over ``times`` (the next n; None: all)."""
        if calls is not None:
            numbers = frozenset(int(n) for n in calls)
        else:
            numbers = None if times is None else frozenset(range(1, times + 1))
        rule = Rule(
            route,
            str(kind),
            numbers,
            DEFAULT_SECONDS.get(str(kind), 30.0) if seconds is None else float(seconds),
            float(retry_after),
            message,
            after_work,
        )
        with self._lock:
            self.rules.append(rule)
        return rule

    def load(self, spec: Any) -> list[Rule]:
        """Add the rules of a parsed JSON plan: a list of rules or ``{"faults": [...]}``."""
        items = spec.get("faults", []) if isinstance(spec, dict) else spec
        if not isinstance(items, list) or not all(isinstance(item, dict) for item in items):
            raise ValueError("a fault plan is a list of rule objects, or {'faults': [...]}")
        return [self.add(**item) for item in items]

    def load_file(self, path: str | Path) -> list[Rule]:
        """Add the rules of a JSON file (``--faults FILE`` of a standalone fake)."""
        return self.load(json.loads(Path(path).read_text(encoding="utf-8")))

    def remove(self, rule: Rule) -> None:
        with self._lock:
            self.rules.remove(rule)
        rule.released.set()

    def clear(self) -> None:
        with self._lock:
            rules, self.rules = self.rules, []
        for rule in rules:
            rule.released.set()

    def take(self, method: str, path: str, client: tuple[str, int] | None = None) -> Rule | None:
        """Count the request on every rule whose route it matches; the first rule that fires for it.
        A hold records ``client``, the request's address, before it says the request arrived."""
        chosen = None
        with self._lock:
            for rule in self.rules:
                if rule.matches(method, path):
                    rule.seen += 1
                    if chosen is None and rule.applies_to(rule.seen):
                        rule.fired += 1
                        chosen = rule
        if chosen is not None and chosen.kind == "hold":
            if client is not None:
                chosen.clients.append(client)
            chosen.arrived.set()
        return chosen

    # holds

    def holds(self, route: str | None = None) -> list[Rule]:
        with self._lock:
            return [r for r in self.rules if r.kind == "hold" and route in (None, r.route)]

    def held(self, route: str) -> threading.Event:
        """The event set when a request first reaches the hold rule on ``route``."""
        holds = self.holds(route)
        if not holds:
            raise KeyError(f"no hold on {route!r}; add one with hold({route!r})")
        return holds[0].arrived

    def release(self, route: str | None = None) -> int:
        """Let held requests (on ``route``, or all) go on; later ones on a released rule pass too."""
        holds = self.holds(route)
        for rule in holds:
            rule.released.set()
        return len(holds)

    def sleep(self, seconds: float) -> bool:
        """Wait unless the fake stops first; True if it did not."""
        return not self.closing.wait(seconds)

    def close(self) -> None:
        self.closing.set()
        self.release()

    def as_json(self) -> list[dict[str, Any]]:
        with self._lock:
            return [rule.as_json() for rule in self.rules]


# --- carrying a rule out --------------------------------------------------------------------------------


def serve_with_faults(
    plan: FaultPlan,
    handler: BaseHTTPRequestHandler,
    method: str,
    path: str,
    work: Callable[[], Answer],
    error: Callable[[Rule], Answer],
    send: Callable[[Answer, float], None],
) -> None:
    """Answer one request: ``work`` does it, ``error`` is the vendor's failure for a rule, ``send`` writes
    an answer (its body spread over the given seconds)."""
    rule = plan.take(method, path, handler.client_address)
    if rule is None:
        send(work(), 0)
        return
    if rule.kind == "hold":
        if wait_for_release(plan, rule):
            send(work(), 0)
        else:
            reset(handler)
        return
    if rule.works_first:
        answer = work()
        if rule.kind == "slow_body":
            send(answer, rule.seconds)
            return
    if rule.kind == "reset":
        reset(handler)
    elif rule.kind == "timeout":
        if plan.sleep(rule.seconds):
            send(error(rule), 0)
        else:
            reset(handler)
    else:
        send(error(rule), 0)


def wait_for_release(plan: FaultPlan, rule: Rule) -> bool:
    """Keep the request until released or the rule's deadline; False when the fake is stopping."""
    deadline = time.monotonic() + rule.seconds
    while not rule.released.is_set() and time.monotonic() < deadline:
        if plan.closing.is_set():
            return False
        rule.released.wait(0.05)
    return not plan.closing.is_set()


def reset(handler: BaseHTTPRequestHandler) -> None:
    """Close the connection with a TCP RST and no answer, as a crashed proxy or a dropped NAT entry does."""
    handler.close_connection = True
    connection = handler.connection
    try:
        connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        handler.rfile.close()  # the file holds a reference: the socket only closes with the last one
        connection.close()
    except OSError:
        pass


def write_body(handler: BaseHTTPRequestHandler, plan: FaultPlan, data: bytes, seconds: float) -> None:
    """Write ``data`` at once, or trickled out in small pieces over ``seconds``."""
    if seconds <= 0 or not data:
        handler.wfile.write(data)
        return
    pieces = min(len(data), 20)
    size = -(-len(data) // pieces)
    for start in range(0, len(data), size):
        handler.wfile.write(data[start : start + size])
        handler.wfile.flush()
        if not plan.sleep(seconds / pieces):
            return


def control(plan: FaultPlan, method: str, path: str, body: Any) -> Answer | None:
    """The ``/_faults`` endpoints of a standalone fake; None for any other path."""
    if path == "/_faults" and method == "GET":
        return 200, {"faults": plan.as_json()}, {}
    if path == "/_faults" and method == "POST":
        try:
            added = plan.load(body)
        except (TypeError, ValueError) as problem:
            return 400, {"message": f"not a fault plan: {problem}"}, {}
        return 201, {"faults": [rule.as_json() for rule in added]}, {}
    if path == "/_faults/release" and method == "POST":
        route = body.get("route") if isinstance(body, dict) else None
        return 200, {"released": plan.release(route)}, {}
    return None
