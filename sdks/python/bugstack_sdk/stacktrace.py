"""Frames from a traceback: where each one is, whether it is the app's own code, and the source around it."""

from __future__ import annotations

import functools
import linecache
import os
import sys
import sysconfig
from dataclasses import dataclass
from types import TracebackType
from typing import Any

CONTEXT_LINES = 5
MAX_LINE_LENGTH = 300
MAX_FRAMES = 100  # a runaway recursion keeps its innermost frames, where the error is
LIBRARY_DIRS = (f"{os.sep}site-packages{os.sep}", f"{os.sep}dist-packages{os.sep}")


@dataclass(frozen=True)
class FileInfo:
    filename: str  # relative to the project root for app code, to its import root for libraries
    in_app: bool


def frames_from_traceback(
    tb: TracebackType | None, project_root: str, in_app_include: tuple[str, ...] = ()
) -> list[dict[str, Any]]:
    """Oldest first, as in the event schema: the last frame is where the exception was raised."""
    frames = []
    while tb is not None:
        code = tb.tb_frame.f_code
        frames.append(
            frame_payload(code.co_filename, tb.tb_lineno, tb.tb_frame, project_root, in_app_include)
        )
        tb = tb.tb_next
    return frames[-MAX_FRAMES:]


def frame_payload(
    abs_path: str, lineno: int | None, frame: Any, project_root: str, in_app_include: tuple[str, ...] = ()
) -> dict[str, Any]:
    info = classify(abs_path, project_root)
    module = frame.f_globals.get("__name__")
    payload: dict[str, Any] = {
        "filename": info.filename,
        "abs_path": abs_path,
        "module": module,
        "function": frame.f_code.co_qualname,
        "lineno": lineno,
        "in_app": info.in_app or is_included(module, in_app_include),
    }
    if lineno:
        payload.update(source_context(abs_path, lineno, frame.f_globals))
    return payload


def is_included(module: Any, in_app_include: tuple[str, ...]) -> bool:
    """A module of a package named in ``in_app_include`` (``shoptool`` takes ``shoptool.cli`` too): the app's
    own code wherever it was installed, as with Sentry's option of the same name."""
    if not isinstance(module, str):
        return False
    return any(module == name or module.startswith(name + ".") for name in in_app_include)


def source_context(abs_path: str, lineno: int, module_globals: dict[str, Any]) -> dict[str, Any]:
    lines = linecache.getlines(abs_path, module_globals)
    if not 0 < lineno <= len(lines):
        return {}
    index = lineno - 1
    return {
        "context_line": _clip(lines[index]),
        "pre_context": [_clip(line) for line in lines[max(0, index - CONTEXT_LINES) : index]],
        "post_context": [_clip(line) for line in lines[index + 1 : index + 1 + CONTEXT_LINES]],
    }


def _clip(line: str) -> str:
    line = line.rstrip("\r\n")
    return line if len(line) <= MAX_LINE_LENGTH else line[:MAX_LINE_LENGTH] + "…"


@functools.lru_cache(maxsize=2048)
def classify(abs_path: str, project_root: str) -> FileInfo:
    """In-app means under the project root and not an installed package or the standard library."""
    if abs_path.startswith("<"):  # "<frozen runpy>", "<string>": no file to point at
        return FileInfo(abs_path, in_app=False)
    path = os.path.abspath(abs_path)
    is_library = any(marker in path for marker in LIBRARY_DIRS) or _under(path, _stdlib_dirs())
    root = project_root.rstrip(os.sep) + os.sep
    if path.startswith(root) and not is_library:
        return FileInfo(os.path.relpath(path, project_root).replace(os.sep, "/"), in_app=True)
    return FileInfo(_import_relative(path), in_app=False)


def _import_relative(path: str) -> str:
    """``flask/app.py`` rather than the machine-specific ``/usr/lib/…/site-packages/flask/app.py``."""
    best = ""
    for entry in sys.path:
        entry = os.path.abspath(entry or os.curdir).rstrip(os.sep) + os.sep
        if path.startswith(entry) and len(entry) > len(best):
            best = entry
    return path[len(best) :].replace(os.sep, "/") if best else path


@functools.cache
def _stdlib_dirs() -> tuple[str, ...]:
    paths = sysconfig.get_paths()
    return tuple({os.path.abspath(paths[name]) + os.sep for name in ("stdlib", "platstdlib")})


def _under(path: str, dirs: tuple[str, ...]) -> bool:
    return path.startswith(dirs)
