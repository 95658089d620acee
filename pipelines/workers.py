"""Worker processes for CPU-heavy parsing: the Twisted reactor never waits on lxml.

A ``WorkerPool`` runs functions in spawned processes; a worker that dies (killed, out of
memory, a crash in a C library) breaks its pool, and a new pool takes over.
"""

from __future__ import annotations

import asyncio
import ctypes
import ctypes.util
import functools
import logging
import multiprocessing
import os
import signal
import sys
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import Any

from crawler.children import die_with_parent

logger = logging.getLogger(__name__)

# Beyond four, workers add memory (80-120 MB each) faster than a crawl's politeness lets them work.
MAX_DEFAULT_WORKERS = 4

_NATIVE_THREAD_SETTINGS = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")


def one_thread_per_worker() -> None:
    """Keep numerical libraries (numpy, which trafilatura's dependencies import) on the worker's own core.

    The pool already runs one worker per core; a BLAS thread pool in each would make them
    fight over the same cores. Runs before numpy is first imported in the worker.
    """
    for name in _NATIVE_THREAD_SETTINGS:
        os.environ.setdefault(name, "1")


def ignore_interrupts() -> None:
    """Ctrl-C is for the crawl, not its workers.

    A terminal sends SIGINT to every process of its foreground group: the crawl then stops
    gracefully and still needs its workers for the pages it is finishing; they end when it
    shuts its pool down. (SIGTERM keeps its default: the pool itself ends broken workers with it.)
    """
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def start_worker(parent: int) -> None:
    ignore_interrupts()
    one_thread_per_worker()
    die_with_parent(parent)


@functools.cache
def _libc() -> ctypes.CDLL | None:
    name = ctypes.util.find_library("c") if sys.platform.startswith("linux") else None  # runs ldconfig: once
    return ctypes.CDLL(name) if name else None


def give_back_memory() -> None:
    """Return freed heap pages to the system (about a millisecond).

    lxml allocates trees with malloc: freed, their pages stay with the process (a 2 MB page
    can hold 200 MB) until glibc is asked to return them.
    """
    if (libc := _libc()) is not None:
        libc.malloc_trim(0)


class WorkerPool:
    """``workers`` spawned processes; ``on_restart`` is called when a dead worker made a new pool necessary."""

    def __init__(self, workers: int, on_restart: Callable[[], None] = lambda: None) -> None:
        self.workers = workers
        self._on_restart = on_restart
        self._pool = self._new_pool()

    def _new_pool(self) -> ProcessPoolExecutor:
        # spawn: workers start clean, without the reactor's threads and sockets.
        return ProcessPoolExecutor(self.workers, mp_context=multiprocessing.get_context("spawn"),
                                   initializer=start_worker, initargs=(os.getpid(),))

    async def run(self, function: Callable[..., Any], *args: Any) -> Any:
        """``function(*args)`` in a worker. A worker that died breaks the whole pool: a new pool
        takes over, and the call is tried once more."""
        loop = asyncio.get_running_loop()
        pool = self._pool
        try:
            return await loop.run_in_executor(pool, function, *args)
        except BrokenProcessPool:
            if self._pool is pool:  # the first call to see it replaces it
                logger.warning("A worker process died: starting a new pool of %d workers", self.workers)
                self._on_restart()
                pool.shutdown(wait=False, cancel_futures=True)
                self._pool = self._new_pool()
            return await loop.run_in_executor(self._pool, function, *args)

    def shutdown(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)
