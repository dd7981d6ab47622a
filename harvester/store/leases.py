"""Who holds a claim on a row (a job run, a digest being sent), and whether that holder is gone.

An owner is "host:pid:nonce". A holder on this host whose process has exited is gone at once, so
a `brag run` restarted after `kill -9` takes its work back without waiting; a holder on another
host (a team server on PostgreSQL) is gone only when its lease expires.
"""

from __future__ import annotations

import os
import socket
import uuid
from functools import cache


@cache
def _nonce() -> str:
    return uuid.uuid4().hex[:8]


def this_process() -> str:
    """This process's owner name; the nonce keeps a reused pid from passing as its predecessor."""
    return f"{socket.gethostname()}:{os.getpid()}:{_nonce()}"


def is_gone(owner: str | None) -> bool:
    """True when `owner` is a process on this host that no longer runs (or there is no owner)."""
    if not owner:
        return True
    host, _, rest = owner.partition(":")
    pid_text = rest.partition(":")[0]
    if host != socket.gethostname() or not pid_text.isdigit():
        return False
    if owner == this_process():
        return False
    pid = int(pid_text)
    if pid == os.getpid():
        # this pid, another nonce: a process that held it before (pid reuse) or a fork's parent state
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        # another user's process with that pid: alive, not ours to judge
        return False
    return False
