"""Named points on the paths that publish state, where a fault test can kill the process.

`REFINERY_FAILPOINT=<name>` in a process's environment makes it SIGKILL its own process group
when it reaches that point (as the out-of-memory killer or a lost node would, with no chance to
clean up). Unset, a point costs one dictionary look-up. Only the fault tests set it
(tests/test_master_commit_faults.py); the names are listed in docs/operations.md.
"""

from __future__ import annotations

import os
import signal

ENV = "REFINERY_FAILPOINT"


def reached(name: str) -> None:
    if os.environ.get(ENV) != name:
        return
    try:
        os.killpg(os.getpgrp(), signal.SIGKILL)
    finally:  # not a group leader's group we may signal: at least this process
        os.kill(os.getpid(), signal.SIGKILL)
