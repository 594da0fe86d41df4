"""Serving with several worker processes, each on its own ``SO_REUSEPORT`` socket.

uvicorn's own multi-worker mode shares one listening socket, and the kernel then tends to hand
every keep-alive connection of a burst to the same worker, leaving the others idle. Here each
worker binds its own socket to the same port with ``SO_REUSEPORT``, so the kernel spreads new
connections across workers. The supervisor restarts a worker that dies and stops them all on
SIGTERM or SIGINT.
"""

from __future__ import annotations

import logging
import multiprocessing
import signal
import socket
import time
from multiprocessing.process import BaseProcess
from typing import Any

import uvicorn
from uvicorn.config import LOGGING_CONFIG

from .security.log_masking import masked_logging

APP = "countyhealth.app:app_from_environment"
log = logging.getLogger("countyhealth.server")


def _listen(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    sock.bind((host, port))
    sock.listen(2048)
    sock.set_inheritable(True)
    return sock


def _worker(host: str, port: int, options: dict[str, Any]) -> None:
    sock = _listen(host, port)
    config = uvicorn.Config(APP, factory=True, **options)
    uvicorn.Server(config).run(sockets=[sock])


def serve(host: str, port: int, workers: int, **options: Any) -> None:
    """Serve the app; ``workers`` > 1 starts a supervised process per worker."""
    options.setdefault("log_config", masked_logging(LOGGING_CONFIG))  # ID/phone numbers masked
    if workers <= 1:
        uvicorn.run(APP, factory=True, host=host, port=port, **options)
        return
    _listen(host, port).close()  # fail here, not in every worker, if the port is taken
    ctx = multiprocessing.get_context("spawn")
    stopping = False

    def start() -> BaseProcess:
        proc = ctx.Process(target=_worker, args=(host, port, options), daemon=False)
        proc.start()
        return proc

    def stop(signum: int, _frame: Any) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    procs = [start() for _ in range(workers)]
    while not stopping:
        time.sleep(0.2)
        for i, proc in enumerate(procs):
            if not proc.is_alive() and not stopping:
                log.warning("worker %s exited with %s; starting another", proc.pid, proc.exitcode)
                procs[i] = start()
    for proc in procs:
        proc.terminate()
    for proc in procs:
        proc.join(timeout=20)
