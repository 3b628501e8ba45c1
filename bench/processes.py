"""Stopping a process started with start_new_session=True together with everything it started
(a Dagster daemon with its code server and run workers), for the tests and the benchmarks."""

from __future__ import annotations

import os
import signal
import subprocess
import time


def stop_process_group(process: subprocess.Popen, grace: float = 30) -> None:
    """SIGTERM to the group, SIGKILL to what is left after `grace` seconds and once more after
    a second (a child that outlived its parent)."""
    os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=grace)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=10)
    time.sleep(1)
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
