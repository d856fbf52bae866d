"""The evaluator: runs a suite's episodes for an agent, durably, in worker processes.

Every finished episode is appended to ``episodes.jsonl`` (flushed and fsynced) before more work is
handed out, so a run killed at any moment resumes with ``resume=True`` and loses or repeats
nothing. Agent exceptions, malformed actions, time-outs and physics blow-ups fail only their own
episode, with the reason recorded. An episode's outcome depends only on the episode and the agent
(seeded per episode), so any number of workers gives the same results.

With one worker, agent code runs in this process: a ``sys.exit``/``os._exit`` in it fails its
episode, the time-out is raised again until agent code gives control back, and agent code that
never does gets its episode recorded as a time-out and stops the run (resumable). With two or more,
agent code runs in worker processes that are replaced when they die or hang (``gr_bench.workers``).

A run directory holds the run's identity (``run.json``: suite, agent, config and the checkpoint's
content hash), is locked while a process writes to it, and is never silently repaired beyond the
one thing a crash can leave: a half-written last line of ``episodes.jsonl``.

The parts: ``runner`` (one episode of one agent, failures isolated), ``run_directory`` (identity,
lock, durable log), ``reuse`` (records of an earlier run standing for identical episodes); this
module runs a suite through them (``evaluate``) and re-exports their public names.
"""

from __future__ import annotations

import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np

from gr_bench.agents import REAL_EXIT
from gr_bench.evaluator.reuse import REUSED_PATH, import_reused
from gr_bench.evaluator.run_directory import (
    LOCK_PATH,
    SUITE_PATH,
    RunDirectoryError,
    RunMismatchError,
    append_records,
    check_run,
    checkpoint_of,
    locked,
    make_run_directory,
    privileged_inputs_of,
    read_done,
)
from gr_bench.evaluator.runner import (
    EPISODE_TIME_LIMIT,
    TIMEOUT_REPEAT,
    AgentStartError,
    EpisodeRunner,
    EpisodeTimeout,
    blank_record,
    episode_progress,
    finish_record,
    is_privileged,
    last_line,
)
from gr_bench.suites import Episode, Suite

BACKENDS = ("local", "ray")
KILL_GRACE = 10.0  # seconds past the time limit before a worker process that ignores it is killed

__all__ = [
    "EPISODE_TIME_LIMIT",
    "KILL_GRACE",
    "LOCK_PATH",
    "REUSED_PATH",
    "SUITE_PATH",
    "TIMEOUT_REPEAT",
    "BACKENDS",
    "AgentStartError",
    "EpisodeRunner",
    "EpisodeTimeout",
    "RunDirectoryError",
    "RunMismatchError",
    "blank_record",
    "checkpoint_of",
    "episode_progress",
    "evaluate",
    "finish_record",
    "last_line",
]


def evaluate(
    suite: Suite,
    agent_spec: str,
    out: str | Path,
    *,
    agent_config: dict | None = None,
    workers: int = 1,
    resume: bool = False,
    reuse: str | Path | None = None,
    time_limit: float = EPISODE_TIME_LIMIT,
    progress: bool = True,
    backend: str = "local",
    address: str | None = None,
) -> dict[str, Any]:
    """Run ``suite`` for the agent; write episodes.jsonl and results.json under ``out``.

    ``backend``: ``local`` (this process, or worker processes) or ``ray`` (Ray actors, on a local
    Ray instance or on the cluster at ``address``; ``gr_bench.ray_backend``); same records either way.

    ``reuse``: an earlier run (its directory, results file or leaderboard submission) of the same
    agent and config; its records of episodes identical to this suite's are imported instead of
    being run again, and the results file says how many and from which suite."""
    from gr_bench.agents import resolve
    from gr_bench.results import write_json

    if workers < 1:
        raise ValueError(f"workers must be at least 1, got {workers}")
    if backend not in BACKENDS:
        raise ValueError(f"unknown backend {backend!r}: one of {', '.join(BACKENDS)}")
    if address and backend != "ray":
        raise ValueError("--address names a Ray cluster: it needs --backend ray")
    if backend == "ray":
        from gr_bench.ray_backend import _ray

        _ray()  # Ray missing fails before anything is written
    if not time_limit > 0:
        raise ValueError(f"the time limit must be a positive number of seconds, got {time_limit}")
    resolve(agent_spec)  # a bad agent name fails before anything is written
    reuse = Path(reuse) if reuse is not None else None
    if reuse is not None and not reuse.exists():
        raise ValueError(f"--reuse {reuse}: no such run directory or results file")
    checkpoint_sha256 = checkpoint_of(agent_config)
    out = Path(out)
    make_run_directory(out)
    with locked(out):
        check_run(out, suite, agent_spec, agent_config, checkpoint_sha256, resume)
        if not (out / SUITE_PATH).exists():
            write_json(
                out / SUITE_PATH,
                {
                    "name": suite.name,
                    "version": suite.version,
                    "track": suite.track,
                    "hash": suite.hash,
                    "episodes": [e.to_json() for e in suite.episodes],
                },
            )
        log = out / "episodes.jsonl"
        done = read_done(log)
        reused = import_reused(out, suite, agent_spec, agent_config, checkpoint_sha256, reuse, done)
        pending = [e for e in suite.episodes if e.episode_id not in done]
        if pending:
            backend_of = (backend, address)
            _run_pending(suite, pending, agent_spec, agent_config, log, done, workers, time_limit, progress, backend_of)
        return _write_results(out, suite, agent_spec, agent_config, checkpoint_sha256, done, workers, reused)


def _run_pending(
    suite: Suite,
    pending: list[Episode],
    agent_spec: str,
    agent_config: dict | None,
    log: Path,
    done: dict[str, dict[str, Any]],
    workers: int,
    time_limit: float,
    progress: bool,
    backend: tuple[str, str | None] = ("local", None),
) -> None:
    """Run ``pending`` and append each record to ``log`` (fsynced) as it arrives."""
    bar = None
    if progress:
        from tqdm import tqdm

        name = suite.name if suite.track == "all" else f"{suite.name}/{suite.track}"
        bar = tqdm(total=len(suite.episodes), initial=len(done), desc=f"{name} x {agent_spec}", unit="episode")
    stream = _results_stream(
        pending,
        agent_spec,
        agent_config,
        workers,
        time_limit,
        lambda record: append_records(log, [record], done),
        backend,
    )
    for record in stream:
        append_records(log, [record], done)
        if bar is not None:
            bar.update(1)
            bar.set_postfix(success=f"{np.mean([bool(r.get('success')) for r in done.values()]):.0%}")
    if bar is not None:
        bar.close()


def _write_results(
    out: Path,
    suite: Suite,
    agent_spec: str,
    agent_config: dict | None,
    checkpoint_sha256: str | None,
    done: dict[str, dict[str, Any]],
    workers: int,
    reused: dict[str, Any] | None,
) -> dict[str, Any]:
    import jsonschema

    from gr_bench.results import build_results, validate, write_json

    wanted = {e.episode_id for e in suite.episodes}
    records = [r for r in done.values() if r["episode_id"] in wanted]
    try:
        results = build_results(
            suite,
            agent_spec,
            agent_config or {},
            records,
            workers,
            reused,
            checkpoint_sha256=checkpoint_sha256,
            privileged_inputs=privileged_inputs_of(agent_config),
            privileged=is_privileged(agent_spec),
        )
        validate(results)
    except (KeyError, TypeError, jsonschema.ValidationError) as exc:
        where = "/".join(str(p) for p in getattr(exc, "absolute_path", ())) or last_line(exc)
        raise RunDirectoryError(
            f"{out / 'episodes.jsonl'}: its records do not make a valid results file (at {where}); "
            "was it edited by hand? Nothing was changed"
        ) from exc
    write_json(out / "results.json", results)
    return results


def _results_stream(
    pending: list[Episode],
    agent_spec: str,
    agent_config: dict | None,
    workers: int,
    time_limit: float,
    on_stuck: Callable[[dict[str, Any]], None],
    backend: tuple[str, str | None] = ("local", None),
) -> Iterator[dict[str, Any]]:
    """Records of ``pending``: in this process with one worker, else from worker processes; or
    from Ray actors."""
    if backend[0] == "ray":
        from gr_bench.ray_backend import ray_stream

        yield from ray_stream(pending, agent_spec, agent_config, workers, time_limit, KILL_GRACE, backend[1])
        return
    if workers > 1:
        from gr_bench.workers import pool_stream

        yield from pool_stream(pending, agent_spec, agent_config, min(workers, len(pending)), time_limit, KILL_GRACE)
        return
    runner = EpisodeRunner(agent_spec, agent_config, time_limit)
    for episode in pending:
        # agent code that swallows every time-out cannot be stopped in this process: record the
        # episode as timed out and stop the run, loudly, rather than hang
        watchdog = threading.Timer(time_limit + KILL_GRACE, _give_up, args=(episode, time_limit, on_stuck))
        watchdog.daemon = True
        watchdog.start()
        record = runner.run(episode)
        watchdog.cancel()
        yield record


def _give_up(episode: Episode, time_limit: float, on_stuck: Callable[[dict[str, Any]], None]) -> None:
    record = blank_record(episode)
    record["failure"] = {"kind": "timeout", "message": f"episode exceeded {time_limit:g} s; agent code ignored it"}
    on_stuck(finish_record(record, time.perf_counter() - time_limit - KILL_GRACE))
    print(
        f"gr-bench: error: agent code ignored the {time_limit:g} s time limit of episode {episode.episode_id} "
        "and could not be stopped in this process; that episode is recorded as a time-out and the run stopped. "
        "Finish it with --resume, with --workers 2 or more: a worker that ignores its time limit is killed.",
        file=sys.stderr,
        flush=True,
    )
    REAL_EXIT(3)
