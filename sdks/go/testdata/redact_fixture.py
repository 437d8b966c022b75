"""Write ``redact_tables.json``: the server's redaction tables and what its ``mask_text`` makes of samples.

The Go SDK's tests compare its tables and its masking with this file, so a change to ``ingest/redact.py``
fails them until it is ported. Run from the repository's root after changing the server's redaction:

    .venv/bin/python sdks/go/testdata/redact_fixture.py
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]
sys.path.insert(0, str(ROOT))

from ingest import redact  # noqa: E402 - the repository's root is on the path only from here

SAMPLES = [
    "Authorization: Bearer abcdefgh12345678",
    "header was token   abcdefghijkl==",
    "BASIC dXNlcjpwYXNzd29yZA==",
    "jwt eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U here",
    "ghp_" + "a" * 36,
    "github_pat_" + "a" * 40,
    "key sk-ant-api03-" + "b" * 40,
    "sk-" + "c" * 48,
    "AKIAIOSFODNN7EXAMPLE",
    "aws_secret_access_key = " + "d" * 40,
    "AWS_SECRET_ACCESS_KEY:" + "d" * 40,
    "sk_live_" + "e" * 24,
    "whsec_" + "f" * 32,
    "xoxb-1234567890-abcdef",
    "postgres://app:hunter2@db:5432/shop",
    "card 4111 1111 1111 1111 declined",
    "card 4111-1111-1111-1111",
    "order 4111 1111 1111 1112",
    "card 4111 1111 1111 1111 2 items",
    "order 7 4111-1111-1111-1111 5",
    "2 5555 5555 5555 4444",
    "6 4111 1111 1111 108",
    "1 2 3 4 5 6 7 8 9 0 1 2 3 4 5",
    "id 12345678901234567 ok",
    "numbers 12345678901234567890 are not cards",
    "nothing to see in /srv/app/handlers/orders.go",
    "user@example.com wrote",
]


def main() -> None:
    tables = {
        "FILTERED": redact.FILTERED,
        "DENYLIST": list(redact.DENYLIST),
        "SECRET_PATTERNS": [list(pair) for pair in redact.SECRET_PATTERNS],
        "CARD_CANDIDATE": redact.CARD_CANDIDATE,
        "_STRAY_GROUPS": [list(pair) for pair in redact._STRAY_GROUPS],
        "_MAX_GROUPS_LOOKED_INTO": redact._MAX_GROUPS_LOOKED_INTO,
        "mask_text": [[sample, redact.mask_text(sample)] for sample in SAMPLES],
    }
    target = Path(__file__).with_name("redact_tables.json")
    target.write_text(json.dumps(tables, indent=2, ensure_ascii=False) + "\n")


if __name__ == "__main__":
    main()
