"""Worker processes for the evaluator: each builds the agent once and runs the episodes it is sent.

A worker is a process the evaluator can replace, so agent code cannot take the run down with it:
one that dies (a crash in native code, an out-of-memory kill) fails only the episode it was running
(``worker_died``; not retried, such crashes repeat), and one that runs past its episode's time limit
(agent code that swallows the time-out) is killed. An agent that cannot be built fails the run at
once, rather than have workers respawn forever. Workers exit when their parent dies (kill -9).
"""

from __future__ import annotations

import multiprocessing
import multiprocessing.connection
import os
import signal
import threading
import time
from collections.abc import Iterator
from typing import Any

from gr_bench.agents import REAL_EXIT, RunStopped
from gr_bench.evaluator import AgentStartError, EpisodeRunner, blank_record, finish_record, last_line
from gr_bench.suites import Episode

GRACE_SECONDS = 5.0  # an idle worker let go at the end of a run exits within this, or is killed


def _worker_main(conn, agent_spec: str, agent_config: dict | None, time_limit: float) -> None:
    """A worker process: build the agent, say whether that worked, then run the episodes it is sent."""
    os.environ.setdefault("MUJOCO_GL", "egl")
    # several workers on a small machine: one thread each is much faster than oversubscription
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    _exit_with_parent()
    try:
        runner = EpisodeRunner(agent_spec, agent_config, time_limit)
    except BaseException as exc:  # noqa: BLE001 - reported to the parent, which fails the run
        conn.send(("start_error", str(exc) if isinstance(exc, ValueError) else last_line(exc)))
        return
    conn.send(("ready", None))
    while True:
        try:
            episode = conn.recv()
        except EOFError:  # the parent is gone
            return
        try:
            record = runner.run(Episode.from_json(episode))
        except RunStopped as exc:  # the agent says the run cannot go on: its episode stays unrecorded
            conn.send(("stopped", str(exc)))
            return
        conn.send(("record", record))


def _exit_with_parent() -> None:
    """A worker whose parent was killed (kill -9) exits rather than finish an episode for no one."""
    parent = os.getppid()

    def watch():
        while os.getppid() == parent:
            time.sleep(1.0)
        REAL_EXIT(1)

    threading.Thread(target=watch, daemon=True).start()


class _Worker:
    """One worker process, the pipe to it and the episode it is running."""

    def __init__(self, context, args: tuple):
        self.conn, child = context.Pipe()
        self.process = context.Process(target=_worker_main, args=(child, *args), daemon=True)
        self.process.start()
        child.close()
        self.ready = False  # its agent is built
        self.episode: Episode | None = None
        self.started = 0.0  # time.perf_counter() when its episode was sent
        self.deadline = 0.0  # time.monotonic() past which it is killed

    def send(self, episode: Episode, seconds: float) -> None:
        """Run ``episode``; the worker is killed if it has not finished in ``seconds``."""
        self.episode, self.started = episode, time.perf_counter()
        self.deadline = time.monotonic() + seconds
        self.conn.send(episode.to_json())

    def receive(self) -> tuple[str, Any] | None:
        """The worker's next message, ("died", exit code) if it is gone, or None if it has nothing."""
        try:
            if self.conn.poll():
                return self.conn.recv()
        except (EOFError, OSError):
            pass
        else:
            if self.process.is_alive():
                return None
        self.process.join()
        return "died", self.process.exitcode

    def let_go(self) -> None:
        """Tell an idle worker the run is over: its pipe closes, it returns and cleans up after itself
        (no leaked semaphores reported at exit; a torch agent's worker takes about 3 s)."""
        if self.episode is None:
            self.conn.close()

    def stop(self, graceful: bool = False) -> None:
        """Kill the worker; ``graceful``, one that was let go is first given ``GRACE_SECONDS`` to exit."""
        if graceful and self.episode is None and self.process.is_alive():
            self.conn.close()
            self.process.join(timeout=GRACE_SECONDS)
        if self.process.is_alive():
            self.process.kill()
        self.process.join()
        self.conn.close()


def _exit_reason(exitcode: int | None) -> str:
    if exitcode is not None and exitcode < 0:
        try:
            return f"killed by {signal.Signals(-exitcode).name}"
        except ValueError:
            return f"killed by signal {-exitcode}"
    return f"exit code {exitcode}"


def pool_stream(
    pending: list[Episode],
    agent_spec: str,
    agent_config: dict | None,
    workers: int,
    time_limit: float,
    kill_grace: float,
) -> Iterator[dict[str, Any]]:
    """Records of ``pending``, run by ``workers`` processes, as they finish; a worker that dies is
    replaced (its episode: ``worker_died``), one still running ``kill_grace`` seconds past the time
    limit is killed (its episode: ``timeout``), and an agent that cannot be built raises
    ``AgentStartError``."""
    # spawn, not fork: a forked child of a process that holds an EGL context hangs
    context = multiprocessing.get_context("spawn")
    args = (agent_spec, agent_config, time_limit)
    queue = list(reversed(pending))
    pool = [_Worker(context, args) for _ in range(workers)]
    try:
        while queue or any(w.episode for w in pool):
            for w in pool:
                if w.ready and w.episode is None and queue:
                    w.send(queue.pop(), time_limit + kill_grace)
            waits = [w.deadline - time.monotonic() for w in pool if w.episode]
            multiprocessing.connection.wait(
                [w.conn for w in pool] + [w.process.sentinel for w in pool], timeout=max(0.0, min(waits, default=5.0))
            )
            for i, w in enumerate(pool):
                message = w.receive()
                if message is None:
                    if w.episode and time.monotonic() > w.deadline:  # it ignores its time limit
                        w.stop()
                        yield _lost_record(w, "timeout", f"episode exceeded {time_limit:g} s; its worker was killed")
                        pool[i] = _Worker(context, args)
                    continue
                kind, payload = message
                if kind == "ready":
                    w.ready = True
                elif kind == "record":
                    w.episode = None
                    yield payload
                elif kind == "start_error":
                    raise AgentStartError(f"{payload} (in a worker process)")
                elif kind == "stopped":
                    raise RunStopped(payload)
                elif not w.ready:  # died while building the agent: a new worker would die the same way
                    raise AgentStartError(
                        f"agent {agent_spec!r}: its worker process died while building it ({_exit_reason(payload)})"
                    )
                else:
                    if w.episode:
                        message = (
                            f"the worker process running this episode died ({_exit_reason(payload)}); "
                            "the episode is not retried"
                        )
                        yield _lost_record(w, "worker_died", message)
                    w.stop()
                    pool[i] = _Worker(context, args)
    finally:  # the work is done, or the run failed: idle workers exit (all at once), busy ones are killed
        for w in pool:
            w.let_go()
        for w in pool:
            w.stop(graceful=True)


def _lost_record(worker: _Worker, kind: str, message: str) -> dict[str, Any]:
    """The record of the episode a worker was running when it died or was killed."""
    record = blank_record(worker.episode)
    record["failure"] = {"kind": kind, "message": message}
    worker.episode = None
    return finish_record(record, worker.started)
