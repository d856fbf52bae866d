"""Turn-taking between benchmark processes, so that their samples interleave and never overlap.

``gr-bench perf check`` starts one pytest-benchmark process for the candidate tree and one for the
reference revision (and ``perf run --peer`` one in the peer's venv). Every process asks for its
turn before each round (``Turns.wait``, called from ``benchmarks/conftest.py``) and ``take_turns``
grants one turn at a time, only when no process is working, so exactly one process runs at any
moment: a round of the candidate, then the same round of the reference, and so on. A burst of
load from other jobs then lands on both sides alike, and neither side's rounds compete with the
other's for the cores.

Protocol, one line each way on a pair of pipes whose descriptors are in ``TURN_FDS``: the
benchmark process writes ``ready KEY`` (KEY: the figure it is about to time) and waits for
``go``; end of file means it has finished. The grant goes to the waiting process whose figure
was announced first (so a figure that only one side runs is done before the sides move on), then
to the one that has had fewer turns at it (so the sides alternate).

This module imports only the standard library: the benchmark processes load it by file path
from the candidate tree, whatever revision their own ``gr_bench`` is.
"""

from __future__ import annotations

import contextlib
import os
import selectors
import signal
import subprocess
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

TURN_FDS = "GR_BENCH_PERF_TURN_FDS"  # "READ,WRITE": the pipe ends a benchmark process takes turns through


class Turns:
    """The benchmark process's side: ``wait(key)`` returns when it is this process's turn (at once
    when no ``take_turns`` runs it)."""

    def __init__(self, environ=os.environ):
        fds = environ.get(TURN_FDS)
        self._pipes = None
        if fds:
            read, write = (int(fd) for fd in fds.split(","))
            self._pipes = (os.fdopen(read, "r", encoding="utf-8"), os.fdopen(write, "w", encoding="utf-8"))

    def wait(self, key: str) -> None:
        if self._pipes is None:
            return
        grants, requests = self._pipes
        requests.write(f"ready {key}\n")
        requests.flush()
        answer = grants.readline()
        if answer != "go\n":
            raise RuntimeError(f"the turn-taking driver answered {answer!r}, expected 'go'; did it stop?")


@dataclass
class Process:
    """One benchmark process to run: what it is called in reports, its command, folder and environment."""

    name: str
    command: list[str]
    cwd: Path
    env: dict[str, str]
    log: Path  # its stdout and stderr
    popen: subprocess.Popen | None = None
    grants: IO[str] | None = None  # where its turns are granted
    waiting_at: str | None = None  # the figure it asked a turn for; None while it works
    done: bool = False
    turns: Counter = field(default_factory=Counter)


def take_turns(processes: list[Process], timeout: float) -> dict[str, int]:
    """Run ``processes`` to the end, granting turns one at a time; their exit codes by name.

    Raises ``RuntimeError`` (after killing them) when they run past ``timeout`` seconds."""
    selector = selectors.DefaultSelector()
    sigpipe = signal.signal(signal.SIGPIPE, signal.SIG_IGN)  # a process that died: BrokenPipeError, not death
    try:
        for process in processes:
            grants_read, grants_write = os.pipe()
            requests_read, requests_write = os.pipe()
            env = {**process.env, TURN_FDS: f"{grants_read},{requests_write}"}
            with open(process.log, "w", encoding="utf-8") as log:
                process.popen = subprocess.Popen(
                    process.command,
                    cwd=process.cwd,
                    env=env,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    pass_fds=(grants_read, requests_write),
                )
            os.close(grants_read)
            os.close(requests_write)
            process.grants = os.fdopen(grants_write, "w", encoding="utf-8")
            selector.register(os.fdopen(requests_read, "r", encoding="utf-8"), selectors.EVENT_READ, process)
        announced: dict[str, int] = {}  # figure -> when it was first asked for
        deadline = time.monotonic() + timeout
        while not all(p.done for p in processes):
            working = [p for p in processes if not p.done and p.waiting_at is None]
            if working:  # wait until every process has finished its round or its untimed work
                left = deadline - time.monotonic()
                events = selector.select(timeout=max(0.0, left))
                if not events and left <= 0:
                    raise RuntimeError(f"the benchmark processes ran past {timeout:.0f} s; see their logs")
                for key, _ in events:
                    process, line = key.data, key.fileobj.readline()
                    if not line:
                        selector.unregister(key.fileobj)
                        key.fileobj.close()
                        process.done = True
                    else:
                        process.waiting_at = line.removeprefix("ready ").rstrip("\n")
                        announced.setdefault(process.waiting_at, len(announced))
                continue
            chosen = min(
                (p for p in processes if not p.done),
                key=lambda p: (announced[p.waiting_at], p.turns[p.waiting_at], processes.index(p)),
            )
            chosen.turns[chosen.waiting_at] += 1
            chosen.waiting_at = None
            try:
                chosen.grants.write("go\n")
                chosen.grants.flush()
            except BrokenPipeError:  # it died while waiting; its end of file comes next
                pass
        return {p.name: p.popen.wait(timeout=max(1.0, deadline - time.monotonic())) for p in processes}
    except BaseException:
        for process in processes:
            if process.popen is not None and process.popen.poll() is None:
                process.popen.kill()
                process.popen.wait()
        raise
    finally:
        signal.signal(signal.SIGPIPE, sigpipe)
        for key in list(selector.get_map().values()):
            key.fileobj.close()
        selector.close()
        for process in processes:
            if process.grants is not None:
                with contextlib.suppress(BrokenPipeError):
                    process.grants.close()
