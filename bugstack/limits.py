"""A project's patch limits by default, and how its settings text is read: plain values without Django, so
the patch policy can be imported and run on its own."""

from __future__ import annotations

DEFAULT_PROTECTED_PATHS = "\n".join(
    [
        ".github/**",
        ".gitlab-ci.yml",
        ".circleci/**",
        "Jenkinsfile",
        "Dockerfile*",
        "*.lock",
        "package-lock.json",
        "poetry.lock",
        "Gemfile.lock",
        "go.sum",
        "*.env",
        ".env*",
        "**/secrets*",
    ]
)

# Bytes a fix may add or change, per file and in all. A guard with its regression test is a few hundred bytes
# to a few KB, and even the whole 60-line budget at 250 bytes a line is 15 KB: 16 KiB per file and 32 KiB per
# patch let a real fix and its test through with room to spare, and stop what a line count cannot see — a
# minified bundle, an embedded blob, a 500 KB single line.
DEFAULT_MAX_FILE_BYTES = 16 * 1024
DEFAULT_MAX_PATCH_BYTES = 32 * 1024

# A code verdict less sure than this is held like an uncertain one: its rule was right on fewer than half the
# real errors it was not written from (bench/triage_heldout.py measures what holding them does).
DEFAULT_TRIAGE_MIN_CONFIDENCE = 0.5


def lines(text: str) -> list[str]:
    return [line.strip() for line in text.splitlines() if line.strip() and not line.strip().startswith("#")]
