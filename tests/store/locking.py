"""Seeing the writer lock from outside, as another worker process would."""

from __future__ import annotations

import fcntl
import os
from pathlib import Path


def held_elsewhere(path: Path) -> bool:
    """Whether another open file description holds the lock at `path`."""
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    finally:
        os.close(fd)  # closing drops the lock if this probe got it
    return False
