"""Child processes that never outlive their parent."""

from __future__ import annotations

import contextlib
import ctypes
import os
import signal
import socket
import sys
import threading
from collections.abc import Callable

_PR_SET_PDEATHSIG = 1


def die_with_parent(signum: int = signal.SIGTERM) -> Callable[[], None]:
    """A `preexec_fn` for subprocess: the child gets `signum` when the parent dies (Linux), and
    runs in its own process group, so a Ctrl-C reaches only the parent, which stops it in order."""

    def setup() -> None:  # runs in the child between fork and exec
        if sys.platform.startswith("linux"):
            with contextlib.suppress(OSError):
                libc = ctypes.CDLL("libc.so.6", use_errno=True)
                libc.prctl(_PR_SET_PDEATHSIG, signum)
        os.setpgrp()

    return setup


# A process asked to stop exits within this many seconds, whatever state its broker is in.
STOP_GRACE_SECONDS = 15.0


def exit_within(seconds: float = STOP_GRACE_SECONDS, code: int = 143) -> None:
    """After a stop signal: if the orderly shutdown has not ended the process after `seconds`
    (a worker whose broker is gone waits on it for ever), end it. Offsets not yet committed are
    read again by the next worker, so nothing is lost by this."""
    timer = threading.Timer(seconds, os._exit, (code,))
    timer.daemon = True
    timer.start()


def taken_ports(ports: dict[str, tuple[str, int]]) -> list[str]:
    """Which of the ports a stack is about to listen on are taken (bind check), each named by
    its setting: 'worker port 6066 (TICKETFLOW_WORKER_PORT, --worker-port)'."""
    taken = []
    for what, (host, port) in ports.items():
        if not port:
            continue
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                sock.bind((host, port))
            except OSError:
                taken.append(f"{what} {host}:{port}")
    return taken
