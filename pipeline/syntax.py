"""Source code as syntax trees: which language a path holds, and its parse (DESIGN.md, "Fix safety").

Python is read with ``ast`` by its callers; JavaScript, TypeScript, Ruby and Go with tree-sitter, whose
grammars come as wheels (no compiler, no download). The patch policy's checks walk these trees instead of
matching text, so a comment or a string that merely looks like a call is never mistaken for one.
"""

from __future__ import annotations

from functools import cache
from pathlib import PurePosixPath

import tree_sitter
import tree_sitter_go
import tree_sitter_javascript
import tree_sitter_ruby
import tree_sitter_typescript

PYTHON = "python"
JAVASCRIPT = "javascript"
TYPESCRIPT = "typescript"
TSX = "tsx"
RUBY = "ruby"
GO = "go"

SUFFIXES = {
    ".py": PYTHON,
    ".js": JAVASCRIPT,
    ".cjs": JAVASCRIPT,
    ".mjs": JAVASCRIPT,
    ".jsx": JAVASCRIPT,
    ".ts": TYPESCRIPT,
    ".cts": TYPESCRIPT,
    ".mts": TYPESCRIPT,
    ".tsx": TSX,
    ".rb": RUBY,
    ".rake": RUBY,
    ".go": GO,
}

GRAMMARS = {
    JAVASCRIPT: tree_sitter_javascript.language,
    TYPESCRIPT: tree_sitter_typescript.language_typescript,
    TSX: tree_sitter_typescript.language_tsx,
    RUBY: tree_sitter_ruby.language,
    GO: tree_sitter_go.language,
}


def language_of(path: str) -> str | None:
    """The language a repository path holds, by its suffix; None for anything else."""
    return SUFFIXES.get(PurePosixPath(path).suffix.lower())


@cache
def grammar(language: str) -> tree_sitter.Language:
    return tree_sitter.Language(GRAMMARS[language]())


def parse(language: str, text: str) -> tree_sitter.Tree:
    """The tree-sitter parse of ``text``; ``tree.root_node.has_error`` says whether it parsed cleanly."""
    # A parser is cheap and not safe to share between threads, so each call gets its own.
    return tree_sitter.Parser(grammar(language)).parse(text.encode("utf-8", "surrogatepass"))


def node_text(node: tree_sitter.Node) -> str:
    return (node.text or b"").decode("utf-8", "replace")


def line_of(node: tree_sitter.Node) -> int:
    """The 1-based line a node starts on."""
    return node.start_point.row + 1


def syntax_error(path: str, text: str) -> str | None:
    """Where a JavaScript, TypeScript, Ruby or Go text fails to parse; None if it parses (or is not one)."""
    language = language_of(path)
    if language is None or language == PYTHON:
        return None
    root = parse(language, text).root_node
    if not root.has_error:
        return None
    node = first_error(root)
    line = line_of(node)
    if node.is_missing:
        return f"line {line}: missing {node.type!r}"
    # An ERROR node may span the rest of the file: its first line is enough to point at.
    head = (node.text or b"")[:160].decode("utf-8", "replace").strip()
    snippet = head.splitlines()[0][:40] if head else ""
    return f"line {line}: unexpected {snippet!r}" if snippet else f"line {line}: syntax error"


def first_error(root: tree_sitter.Node) -> tree_sitter.Node:
    """The first ERROR or MISSING node in source order (a tree that ``has_error`` always holds one)."""
    node = root
    while not (node.is_error or node.is_missing):
        child = next((child for child in node.children if child.has_error or child.is_missing), None)
        if child is None:
            return node
        node = child
    # An ERROR node wrapping the text it skipped: name where inside it the parse went wrong, if it says.
    inner = next((child for child in node.children if child.is_error or child.is_missing), None)
    return inner or node
