"""One bot per SQLite database: a second instance on the same file refuses to start.

Two instances would each run the jobs and the outbox sender and fight over the updates;
PostgreSQL is the way to run several. The lock is an advisory ``flock`` on a file beside
the database, so it goes with the process however it ends (no stale lock after a crash).
"""

from __future__ import annotations

import fcntl
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy.engine import make_url


class AlreadyRunning(Exception):
    """Another bot holds the database's lock."""

    def __init__(self, lock: Path) -> None:
        super().__init__(str(lock))
        self.lock = lock


def lock_path(database_url: str) -> Path | None:
    """The lock file of a SQLite database on disk; None for PostgreSQL or memory."""
    url = make_url(database_url)
    database = url.database
    if url.get_backend_name() != "sqlite" or not database or database == ":memory:":
        return None
    if database.startswith("file:"):
        return None
    return Path(f"{database}.lock")


@contextmanager
def sole_instance(database_url: str) -> Iterator[None]:
    """Hold the database's instance lock while the block runs (``AlreadyRunning`` if
    another process holds it)."""
    path = lock_path(database_url)
    if path is None:
        yield
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_CREAT | os.O_RDWR, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise AlreadyRunning(path) from None
        yield
    finally:
        os.close(fd)  # closing the descriptor releases the lock
