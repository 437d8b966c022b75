"""The spool: accepted events in files each web process appends to, until digest stores them.

Accept writes a request's events as lines (``line``) to its process's file with one ``write``, and answers
once the operating system holds them (``BUGSTACK_SPOOL_FSYNC``: once the disk does): no database is reached
on that path. Digest (``ingest.digest``) reads a file from where it stopped (``SpoolFile.offset``), and moves
that offset in the transaction that stores what it read, so a crash anywhere reads those lines again and
nothing is stored twice or skipped.

A writer holds a shared ``flock`` on its file for as long as it may append; it creates the file under a
temporary name and locks it before the file appears under its own (``*.spool``), so digest never sees a
file whose writer could still come. A file digest can lock exclusively has no writer left (it was closed for
a new one, or its process ended): once read to the end, it is deleted.

A line is its format's number and the event's columns as a JSON array, a tab, and its payload as JSON:
orjson escapes every control character inside strings, so neither a tab nor a newline occurs within either
part.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import logging
import os
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, fields
from datetime import datetime
from pathlib import Path
from typing import Any

import orjson
from django.conf import settings

from ingest.normalize import PreparedEvent

SUFFIX = ".spool"
logger = logging.getLogger(__name__)


# --- the line of an event ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Spooled(PreparedEvent):
    """An event as digest reads it back from the spool: the columns accept derived, its project and when it
    was accepted, and its payload as the JSON text it was spooled as."""

    data: str  # type: ignore[assignment]
    project_id: int
    received_at: datetime


# A line's columns, in order, after the format's number, and those JSON holds as text. A change to the
# columns is a new format: lines of another one are not read as this one's.
FORMAT = 1
COLUMNS = tuple(field.name for field in fields(Spooled) if field.name != "data")
PARSED = {"event_id": uuid.UUID, "timestamp": datetime.fromisoformat, "received_at": datetime.fromisoformat}


def line(project_id: int, received_at: datetime, event: PreparedEvent) -> bytes:
    """One event's line: its columns, a tab, its (normalised, redacted) payload, a newline."""
    given = {"project_id": project_id, "received_at": received_at}
    columns = [FORMAT, *(given[name] if name in given else getattr(event, name) for name in COLUMNS)]
    return orjson.dumps(columns) + b"\t" + payload_json(event.data) + b"\n"


def payload_json(data: dict[str, Any]) -> bytes:
    """The payload as JSON; integers past 64 bits (kept exact by the parser) go through ``json``."""
    try:
        return orjson.dumps(data)
    except orjson.JSONEncodeError:
        return json.dumps(data, ensure_ascii=False, separators=(",", ":")).encode()


def read_line(text: bytes) -> Spooled:
    """An event back from its line (without the newline)."""
    columns, data = text.split(b"\t", 1)
    version, *columns = orjson.loads(columns)
    if version != FORMAT:
        raise ValueError(f"a line of format {version!r}, not {FORMAT}")
    values = dict(zip(COLUMNS, columns, strict=True))
    for name, parse in PARSED.items():
        values[name] = parse(values[name])
    return Spooled(**values, data=data.decode())


# --- writing -------------------------------------------------------------------------------------------


class Writer:
    """This process's file in the spool: appended to by every request thread, one write each."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.lock = threading.Lock()
        self.fd: int | None = None
        self.size = 0

    def append(self, lines: bytes) -> None:
        """Append ``lines`` whole, after any other thread's; raise ``OSError`` if the disk refused them."""
        with self.lock:
            if self.fd is None or self.size >= settings.BUGSTACK_SPOOL_FILE_BYTES:
                self.open_next()
            try:
                view = memoryview(lines)
                while view:  # a short write only on a full disk or a signal: the rest follows, or raises
                    written = os.write(self.fd, view)
                    view = view[written:]
                if settings.BUGSTACK_SPOOL_FSYNC:
                    os.fdatasync(self.fd)
            except OSError:
                # What was written of these lines stays a partial line at the end of this file, which digest
                # drops; the next request starts a new file rather than continue that line.
                self.close()
                raise
            self.size += len(lines)

    def open_next(self) -> None:
        """Close this process's file, if any (digest deletes it once read), and start a new one."""
        self.close()
        self.directory.mkdir(mode=0o700, parents=True, exist_ok=True)  # redacted events, still nobody else's
        # Named by when it was made first, so that sorting names sorts files by age.
        name = f"{time.time_ns():020d}-{os.uname().nodename}-{os.getpid()}-{uuid.uuid4().hex[:8]}"
        hidden = self.directory / f".{name}.new"
        fd = os.open(hidden, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_APPEND | os.O_CLOEXEC, 0o600)
        fcntl.flock(fd, fcntl.LOCK_SH)
        os.rename(hidden, self.directory / f"{name}{SUFFIX}")
        self.fd, self.size = fd, 0

    def close(self) -> None:
        if self.fd is not None:
            os.close(self.fd)  # lets go of the lock
            self.fd = None


_writer: tuple[int, Path, Writer] | None = None
_writer_lock = threading.Lock()


def append(lines: bytes) -> None:
    """Append to this process's spool file (opened on first use, in each process a server forks)."""
    global _writer
    directory = settings.BUGSTACK_SPOOL_DIR
    with _writer_lock:
        if _writer is None or _writer[:2] != (os.getpid(), directory):
            close_writer()
            _writer = (os.getpid(), directory, Writer(directory))
        writer = _writer[2]
    writer.append(lines)


def close_writer() -> None:
    """Close this process's spool file, if it has one: digest deletes it once it has read it."""
    global _writer
    if _writer is not None and _writer[0] == os.getpid():
        _writer[2].close()
    _writer = None


# --- reading -------------------------------------------------------------------------------------------


def files() -> dict[str, int]:
    """The spool's files by name, and their sizes."""
    sizes = {}
    try:
        entries = list(os.scandir(settings.BUGSTACK_SPOOL_DIR))
    except FileNotFoundError:
        return {}
    for entry in entries:
        if entry.name.endswith(SUFFIX):
            try:
                sizes[entry.name] = entry.stat().st_size
            except FileNotFoundError:  # deleted meanwhile
                continue
    return sizes


def path(name: str) -> Path:
    return settings.BUGSTACK_SPOOL_DIR / name


def read(name: str, offset: int, limit: int) -> tuple[list[Spooled], int]:
    """Up to ``limit`` whole lines of a file from ``offset``: the events, and the offset after the last."""
    events = []
    try:
        with open(path(name), "rb") as file:
            file.seek(offset)
            for _ in range(limit):
                text = file.readline()
                if not text.endswith(b"\n"):  # the end, or a line still being written
                    break
                offset += len(text)
                try:
                    events.append(read_line(text[:-1]))
                except Exception:  # noqa: BLE001 - whatever is wrong with a line, digest goes on past it
                    # Not a line this code writes: another format, or part of the file lost with a machine.
                    logger.exception(
                        "spool file %s: the line ending at byte %d is unreadable; skipped", name, offset
                    )
    except FileNotFoundError:
        pass
    return events, offset


def size(name: str) -> int:
    """The file's size now (0 once deleted)."""
    try:
        return path(name).stat().st_size
    except FileNotFoundError:
        return 0


def whole_line_after(name: str, offset: int) -> bool:
    """Whether the file holds a whole line after ``offset``."""
    return next(iter(lines_after(name, offset)), None) is not None


def lines_after(name: str, offset: int) -> Iterator[bytes]:
    """The whole lines of a file after ``offset`` (for counting what waits; digest reads with ``read``)."""
    try:
        with open(path(name), "rb") as file:
            file.seek(offset)
            for text in file:
                if text.endswith(b"\n"):
                    yield text
    except FileNotFoundError:
        return


def written_to(name: str) -> bool:
    """Whether a writer still holds the file (and may append to it)."""
    try:
        fd = os.open(path(name), os.O_RDONLY | os.O_CLOEXEC)
    except FileNotFoundError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    finally:
        os.close(fd)
    return False


def delete(name: str) -> None:
    with contextlib.suppress(FileNotFoundError):
        os.unlink(path(name))
