"""CPU per event of hostile input against a benign event of the same size, in-process (WSGI, no HTTP).

    [DATABASE_URL=postgres://…] python bench/hostile_ingest.py [--sizes 1000000,65536] [--repeat 7]

Posts, straight through Django's WSGI handler with a real project key (``bench/ingest_profile.py``'s
set-up), a benign event (a deep Django stack with source and variables, then a large request body) and
hostile ones of the same size: long runs of what the redaction and grouping patterns look for, in every
field they read; thousands of frames, empty or not; many exceptions, keys, long keys, objects and arrays;
a huge message, URL and query string; nested brackets. A hostile event may be refused whole (400), and
then costs what the refusal costs. Each round sends every kind ``--block`` times in a row (so that the
garbage collector's full passes are paid by the kind whose objects called for them), each copy salted so
that no cache of clean strings or normalised paths answers for it; all events of a kind land in one
group (a custom fingerprint), so the database does the same work for each. Reports each kind's median,
over ``--repeat`` rounds, of its mean process CPU time per event, and the worst hostile kind against the
benign one: DESIGN.md's budget is 3×. Prints one JSON line last (the first size; the others under
``sizes``); deletes what it created. On PostgreSQL the server's own CPU is not in these figures.
"""

from __future__ import annotations

import argparse
import gc
import json
import sys
import time
from collections.abc import Callable
from pathlib import Path
from statistics import median
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.ingest import INGEST_PATH, clean_up, create_bench_project, sample_event  # noqa: E402
from bench.ingest_profile import wsgi_application, wsgi_environ  # noqa: E402

BUDGET = 3.0
SALTS = 1000  # every body's salt has four digits: every kind's bodies are of one size
MESSAGES = 10  # exceptions with a message and no stack: each is parametrised for grouping


def fit(build: Callable[[int], dict[str, Any]], size: int) -> int:
    """The largest ``n`` for which ``build(n)`` fits in ``size`` bytes of JSON."""
    low, high = 1, 1
    while json_size(build(high)) <= size:
        low, high = high, high * 2
    while high - low > 1:
        middle = (low + high) // 2
        low, high = (middle, high) if json_size(build(middle)) <= size else (low, middle)
    return low


def json_size(event: dict[str, Any]) -> int:
    return len(encode(event))


def encode(event: dict[str, Any]) -> bytes:
    return json.dumps(event, ensure_ascii=False).encode()


def benign(salt: int) -> Callable[[int], dict[str, Any]]:
    """A real error as large events come: a deep stack with source and variables, then a big request body."""

    def build(size: int) -> dict[str, Any]:
        event = sample_event("CheckoutError")
        exception = event["exception"]["values"][0]
        exception["value"] = f"order {salt} could not be priced: 3 lines had no price"
        exception["stacktrace"]["frames"] = [stack_frame(n, salt) for n in range(min(size, 100))]
        event["request"] |= {
            "method": "POST",
            "url": f"https://shop.example.com/api/orders/{salt}/checkout?currency=EUR&preview=1",
            "data": {
                "order": salt,
                "customer": {"name": "Ada Lovelace", "email": "ada@example.com", "country": "GB"},
                "lines": [order_line(n, salt) for n in range(max(size - 100, 0) * 10)],
            },
        }
        return event

    return build


def stack_frame(n: int, salt: int) -> dict[str, Any]:
    """The ``n``th frame of a deep Django stack: the app's own in the last ten."""
    module = f"shop/pricing/rules_{n % 7}.py" if n >= 90 else f"django/core/handlers/layer_{n % 11}.py"
    source = [
        f"    price = self.rules[{n % 5}].apply(line, context=context)",
        "    if price is None:",
        "        raise PricingError(f'no price for {line.sku}')",
        "    total += price * line.quantity",
        "    return self.round(total, currency=order.currency)",
    ]
    return {
        "filename": module,
        "abs_path": f"/srv/shop/{module}" if n >= 90 else f"/usr/lib/python3.11/site-packages/{module}",
        "function": f"apply_rule_{n % 13}" if n >= 90 else "inner",
        "lineno": 40 + n,
        "in_app": n >= 90,
        "context_line": source[n % 5],
        "pre_context": source,
        "post_context": source[::-1],
        "vars": {
            "self": f"<shop.pricing.rules.Rule{n % 7} object at 0x7f3a2b1c{n:04x}>",
            "request": f"<WSGIRequest: POST '/api/orders/{salt}/checkout'>",
            "order": f"<Order: #{salt} (3 lines, EUR)>",
            "line": f"<Line: SKU-{n:05d} × {n % 4 + 1}>",
            "total": f"Decimal('{19 + n % 30}.99')",
            "price": "None",
            "context": "{'currency': 'EUR', 'country': 'GB', 'channel': 'web'}",
        },
    }


def order_line(n: int, salt: int) -> dict[str, Any]:
    return {
        "sku": f"SKU-{salt % 997}-{n:05d}",
        "name": f"Blue cotton shirt, size {n % 5 + 38}, slim fit",
        "quantity": n % 4 + 1,
        "unit_price": f"{19 + n % 30}.99",
        "note": "gift wrap, deliver to the side door after 5 pm",
    }


def spread(token: str, salt: int) -> Callable[[int], dict[str, Any]]:
    """``token`` repeated into every field a pattern reads: messages, frames, URL, query string, data."""
    message = f"{salt} " + token * (9000 // len(token))
    text = f"{salt} " + token * (1100 // len(token))
    frame = {"filename": text, "abs_path": text, "function": text, "context_line": text, "in_app": True}

    def build(strings: int) -> dict[str, Any]:
        # In proportion to the size: one message per twenty strings, a frame (four strings) per eight.
        values = [{"type": "HostileError", "value": message} for _ in range(min(strings // 20, MESSAGES - 1))]
        values.append({"type": "HostileError", "stacktrace": {"frames": [frame] * min(strings // 8, 100)}})
        event = base_event(values)
        event["request"] = {
            "url": f"https://{text}/?{text}",
            "query_string": text,
            "data": [[text] * 100 for _ in range(strings // 100)] + [[text] * (strings % 100)],
        }
        return event

    return build


def base_event(values: list[dict[str, Any]]) -> dict[str, Any]:
    # One group per kind whatever the salt: the database does the same work for every kind.
    return {"platform": "python", "exception": {"values": values}, "fingerprint": ["hostile bench"]}


def many_frames(salt: int) -> Callable[[int], dict[str, Any]]:
    def build(count: int) -> dict[str, Any]:
        frame = {"filename": f"app/{salt}.py", "function": "recurse", "lineno": 7, "in_app": True}
        return base_event([{"type": "RecursionError", "stacktrace": {"frames": [frame] * count}}])

    return build


def empty_frames(salt: int) -> Callable[[int], dict[str, Any]]:
    def build(count: int) -> dict[str, Any]:
        return base_event([{"type": f"E{salt}", "stacktrace": {"frames": [{}] * count}}])

    return build


def many_exceptions(salt: int) -> Callable[[int], dict[str, Any]]:
    def build(count: int) -> dict[str, Any]:
        return base_event([{"type": "E", "value": f"{salt} x"}] * count)

    return build


def long_message(salt: int) -> Callable[[int], dict[str, Any]]:
    def build(words: int) -> dict[str, Any]:
        text = f"{salt} " + "timeout after 30.5s talking to 10.0.0.1:5432 " * words
        return base_event([{"type": "TimeoutError", "value": text}]) | {"message": text}

    return build


def many_keys(salt: int) -> Callable[[int], dict[str, Any]]:
    def build(count: int) -> dict[str, Any]:
        keys = {f"k{salt}_{n}": n for n in range(count)}
        event = base_event([{"type": "KeyError", "value": "'k'"}]) | {"tags": keys, "extra": keys}
        event["request"] = {"headers": keys}
        return event | {f"x{n}_{salt}": n for n in range(count)}  # unknown top-level fields

    return build


def long_keys(salt: int) -> Callable[[int], dict[str, Any]]:
    """Mappings of a hundred long keys each (keys are text too)."""

    def build(count: int) -> dict[str, Any]:
        keys = [f"{salt}{n:03d}" + "k" * 190 for n in range(100)]
        event = base_event([{"type": "KeyError", "value": "'k'"}])
        return event | {"contexts": {"maps": [dict.fromkeys(keys, 0) for _ in range(count)]}}

    return build


def long_url(salt: int) -> Callable[[int], dict[str, Any]]:
    def build(pairs: int) -> dict[str, Any]:
        query = "&".join(f"p{n}={salt}" for n in range(pairs))
        event = base_event([{"type": "ValueError", "value": "bad url"}])
        event["request"] = {"url": f"https://shop.example.com/a?{query}", "query_string": query}
        return event

    return build


def many_containers(salt: int) -> Callable[[int], dict[str, Any]]:
    """Empty arrays, just fewer than the parser takes in a body this size (each costs more than its bytes)."""
    from ingest.parsers import max_containers

    def build(filler: int) -> dict[str, Any]:
        arrays = max_containers(filler + 4 * max_containers(filler)) - 50  # "[], " is four bytes
        event = base_event([{"type": "E", "value": "containers"}])
        return event | {"extra": {"many": [[]] * arrays, "filler": f"{salt} " + "z" * filler}}

    return build


def nested(salt: int) -> Callable[[int], dict[str, Any]]:
    def build(count: int) -> dict[str, Any]:
        deep: Any = f"{salt}"
        for _ in range(200):
            deep = [deep]
        return base_event([{"type": "E", "value": "nested"}]) | {"extra": {"deep": [deep] * count}}

    return build


TOKENS = {
    "colons": "a:",
    "dots": "1.",
    "ats": "x@",
    "schemes": "a.://",
    "word_schemes": "aaaaaaaa://",
    "jwt_starts": "-eyJ",
    "bearer": "bearer ",
    "spaced_digits": "1 ",
    "cards": "4111 1111 1111 1111 ",
    "digits": "1",
    "hex": "a1",
    "dashes": "a-",
    "brackets": "[(",
    "quotes": "'\"",
    "credentials": "://x:y",
    "unicode": "é1",
    "escapes": "a\x00",  # NUL comes as a JSON escape, which sends the body down the cleaning path
}
KINDS: dict[str, Callable[[int], Callable[[int], dict[str, Any]]]] = {
    "benign": benign,
    **{name: (lambda salt, token=token: spread(token, salt)) for name, token in TOKENS.items()},
    "many_frames": many_frames,
    "empty_frames": empty_frames,
    "many_exceptions": many_exceptions,
    "long_message": long_message,
    "many_keys": many_keys,
    "long_keys": long_keys,
    "long_url": long_url,
    "many_containers": many_containers,
    "nested": nested,
}


def measure(application, key: str, size: int, rounds: int, block: int) -> dict[str, float]:
    """Median over ``rounds`` of each kind's mean CPU ms per event in a block of ``block`` in a row.

    A block rather than single events: the garbage collector's full passes come every few tens of
    thousands of objects, and each kind should pay for those its own events make.
    """
    builders = {name: (make, fit(make(SALTS), size)) for name, make in KINDS.items()}
    for name, (make, n) in builders.items():  # warm up; the sizes, once
        body = encode(make(SALTS)(n))
        print(f"{size} {name}: {len(body)} bytes", file=sys.stderr)
        post(application, key, body)
    samples: dict[str, list[float]] = {name: [] for name in builders}
    for round_ in range(rounds):
        salts = range(SALTS + 1 + round_ * block, SALTS + 1 + (round_ + 1) * block)
        sent = {name: [encode(make(salt)(n)) for salt in salts] for name, (make, n) in builders.items()}
        gc.collect()  # the bodies built above are not the events' garbage
        for name, bodies in sent.items():
            samples[name].append(sum(post(application, key, body) for body in bodies) * 1000 / block)
    return {name: round(median(ms), 3) for name, ms in samples.items()}


def post(application, key: str, body: bytes) -> float:
    """CPU seconds to answer ``body``: stored (202) or refused as a whole (400, 413), never anything else."""
    statuses = []
    started = time.process_time()
    result = application(wsgi_environ(INGEST_PATH, body, key), lambda status, *_: statuses.append(status))
    b"".join(result)
    if hasattr(result, "close"):
        result.close()
    elapsed = time.process_time() - started
    if statuses[0][:3] not in ("202", "400", "413"):
        raise SystemExit(f"a {len(body)}-byte event was answered {statuses[0]}")
    return elapsed


def summary(events: dict[str, float]) -> dict[str, Any]:
    hostile = {name: ms for name, ms in events.items() if name != "benign"}
    worst = max(hostile, key=hostile.__getitem__)
    ratio = hostile[worst] / events["benign"]
    return {
        "benign_ms": events["benign"],
        "worst_hostile_ms": hostile[worst],
        "worst": worst,
        "ratio": round(ratio, 2),
        "budget": BUDGET,
        "ok": ratio <= BUDGET,
        "events": events,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1000000,65536", help="event sizes in bytes, largest first")
    parser.add_argument("--repeat", type=int, default=7, help="rounds: the median of their means is kept")
    parser.add_argument("--block", type=int, default=4, help="events of one kind in a row in each round")
    args = parser.parse_args()
    sizes = [int(size) for size in args.sizes.split(",")]

    application = wsgi_application()
    from django.db import connection

    account, key = create_bench_project()
    print(f"database: {connection.vendor}", file=sys.stderr)
    results = {}
    try:
        for size in sizes:
            results[size] = summary(measure(application, key.public_key, size, args.repeat, args.block))
            print(f"{size}: {json.dumps(results[size])}", file=sys.stderr)
    finally:
        clean_up(account)
    first, *others = sizes
    report = {**results[first], "size": first, "ok": all(result["ok"] for result in results.values())}
    report["sizes"] = {str(size): results[size] for size in others}
    print(json.dumps(report))


if __name__ == "__main__":
    main()
