"""The process table (from /proc), for tests and benchmarks that check what a crawl started."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Process:
    pid: int
    ppid: int
    pgid: int
    cmdline: str


def processes() -> dict[int, Process]:
    """Every live process (zombies left out), by pid."""
    found = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            # The command name in parentheses may hold spaces: fields start after its closing one.
            state, ppid, pgid = stat.read_text().rsplit(")", 1)[1].split()[:3]
            argv = (stat.parent / "cmdline").read_bytes().split(b"\0")
        except (OSError, ValueError):
            continue  # ended while being read
        if state != "Z":
            pid = int(stat.parent.name)
            found[pid] = Process(pid, int(ppid), int(pgid), " ".join(a.decode("utf-8", "replace") for a in argv if a))
    return found


def descendants(pid: int) -> list[Process]:
    """The process and everything it started, still alive."""
    table = processes()
    found, todo = [], [pid]
    while todo:
        current = todo.pop()
        if current in table:
            found.append(table[current])
        todo.extend(p.pid for p in table.values() if p.ppid == current)
    return found


def wait_for(condition: Callable[[], object], timeout: float = 60) -> None:
    """Poll until ``condition()`` is true; AssertionError after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("timed out")
        time.sleep(0.02)
