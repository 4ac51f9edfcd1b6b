"""SIGKILL a child Python at a moment it announces: what an interrupted write must survive."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Callable, Collection
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def kill_when_ready(
    code: str, *args: str, ready: Collection[str], while_alive: Callable[[], None] | None = None
) -> None:
    """Run `code` with `args`; once it prints one of the `ready` lines, run `while_alive` (checks
    made while the child holds its transaction open), then SIGKILL it and wait until it is gone."""
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    child = subprocess.Popen(
        [sys.executable, "-c", code, *args],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=REPO, env=env,
    )
    try:
        assert child.stdout is not None
        line = child.stdout.readline().strip()
        assert line in ready, child.stderr.read() if child.stderr else ""
        if while_alive is not None:
            while_alive()
        child.send_signal(signal.SIGKILL)
        child.wait(timeout=30)
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
    assert child.returncode == -signal.SIGKILL
