"""The evaluator's Ray backend (``gr-bench eval --backend ray [--address ADDR]``): episodes run in
Ray actors, on this machine (a Ray instance started for the run, ``workers`` CPUs) or on an
existing cluster (``--address``, e.g. ``ray://head:10001`` or ``HOST:6379``).

Each actor builds the agent once and runs the episodes it is given with the same
``EpisodeRunner`` as a local worker, so its records are the local backend's, field for field;
the driver appends them to ``episodes.jsonl`` as they arrive, so it stays the one durable log and
``--resume`` works across backends. Faults, and what each does:

- an actor (its worker process or its node) dies mid-episode: the episode runs again on a new
  actor, at most ``MAX_RETRIES`` times; its record then carries ``"retries": n``; past that it is
  recorded as ``worker_died``, as locally;
- an episode still running ``kill_grace`` seconds past its time limit: its actor is killed and the
  episode recorded as ``timeout``;
- the agent cannot be built: ``AgentStartError``, the run stops;
- the agent stops the run (``RunStopped``, e.g. its policy server is gone): the run stops, that
  episode unrecorded.

Agent code and the simulator must be importable on every node (the same installation); the
driver's current folder and ``PYTHONPATH`` are passed on, for ``module:Class`` agents.
"""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Iterator
from typing import Any

from gr_bench.agents import RunStopped
from gr_bench.evaluator import AgentStartError, blank_record, finish_record, last_line
from gr_bench.suites import Episode

MAX_RETRIES = 2  # runs of an episode after the first whose actor died
WORKER_ENV = {"MUJOCO_GL": "egl", "OMP_NUM_THREADS": "1"}


class EpisodeActor:
    """A Ray actor: one agent, the episodes it is sent (``run``), one at a time."""

    def __init__(self, agent_spec: str, agent_config: dict | None, time_limit: float):
        for name, value in WORKER_ENV.items():
            os.environ.setdefault(name, value)
        from gr_bench.evaluator import EpisodeRunner

        self.error = None
        try:
            self.runner = EpisodeRunner(agent_spec, agent_config, time_limit)
        except BaseException as exc:  # noqa: BLE001 - reported by ready(): the run fails
            self.error = str(exc) if isinstance(exc, ValueError) else last_line(exc)

    def ready(self) -> str | None:
        """None once the agent is built, else why it could not be."""
        return self.error

    def run(self, episode: dict[str, Any]) -> tuple[str, Any]:
        try:
            return "record", self.runner.run(Episode.from_json(episode))
        except RunStopped as exc:
            return "stopped", str(exc)

    def pid(self) -> int:
        return os.getpid()


def _ray():
    try:
        import ray
    except ImportError as exc:
        raise ValueError(f"--backend ray needs Ray: pip install -e '.[ray]' ({exc})") from exc
    return ray


def connect(address: str | None, workers: int) -> bool:
    """Join the cluster at ``address``, or start a local Ray instance of ``workers`` CPUs; True when
    this call started or joined it (and so shuts it down after the run)."""
    ray = _ray()
    if ray.is_initialized():
        return False
    paths = [os.getcwd(), *[p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p]]
    runtime_env = {"env_vars": {**WORKER_ENV, "PYTHONPATH": os.pathsep.join(paths)}}
    options: dict[str, Any] = {"runtime_env": runtime_env, "log_to_driver": False, "configure_logging": False}
    try:
        if address:
            ray.init(address=address, **options)
        else:
            ray.init(num_cpus=workers, include_dashboard=False, **options)
    except (ConnectionError, RuntimeError, ValueError, TimeoutError) as exc:
        where = f"the Ray cluster at {address}" if address else "a local Ray instance"
        raise ValueError(f"cannot start or join {where}: {last_line(exc)}") from exc
    return True


class _Slot:
    """One actor and the episode it is running."""

    def __init__(self, actor_class, args: tuple):
        self.actor = actor_class.remote(*args)
        self.ready_ref = self.actor.ready.remote()
        self.ready = False
        self.episode: Episode | None = None
        self.ref = None
        self.started = 0.0
        self.deadline = 0.0

    def send(self, episode: Episode, seconds: float) -> None:
        self.episode, self.started = episode, time.perf_counter()
        self.deadline = time.monotonic() + seconds
        self.ref = self.actor.run.remote(episode.to_json())


def ray_stream(
    pending: list[Episode],
    agent_spec: str,
    agent_config: dict | None,
    workers: int,
    time_limit: float,
    kill_grace: float,
    address: str | None = None,
    max_retries: int = MAX_RETRIES,
) -> Iterator[dict[str, Any]]:
    """Records of ``pending``, run by ``workers`` Ray actors, as they finish (see the module's faults)."""
    ray = _ray()
    from ray.exceptions import GetTimeoutError, RayActorError

    owned = connect(address, workers)
    actor_class = ray.remote(num_cpus=1, max_restarts=0, max_task_retries=0)(EpisodeActor)
    args = (agent_spec, agent_config, time_limit)
    queue = list(reversed(pending))
    retries: dict[str, int] = {}
    slots = [_Slot(actor_class, args) for _ in range(min(workers, len(pending)))]
    try:
        while queue or any(s.episode for s in slots):
            for s in slots:
                if s.ready and s.episode is None and queue:
                    s.send(queue.pop(), time_limit + kill_grace)
            waiting = [s.ready_ref for s in slots if not s.ready] + [s.ref for s in slots if s.episode]
            waits = [s.deadline - time.monotonic() for s in slots if s.episode]
            done, _ = ray.wait(waiting, num_returns=1, timeout=max(0.0, min(waits, default=5.0)))
            done_ids = {ref.hex() for ref in done}
            for i, s in enumerate(slots):
                if not s.ready and s.ready_ref.hex() in done_ids:
                    try:
                        error = ray.get(s.ready_ref)
                    except RayActorError as exc:
                        raise AgentStartError(
                            f"agent {agent_spec!r}: its Ray actor died while building it ({last_line(exc)})"
                        ) from None
                    if error:
                        raise AgentStartError(f"{error} (in a Ray actor)")
                    s.ready = True
                elif s.episode and s.ref.hex() in done_ids:
                    episode = s.episode
                    try:
                        kind, payload = ray.get(s.ref, timeout=60)
                    except (RayActorError, GetTimeoutError) as exc:  # its process or node died
                        retries[episode.episode_id] = retries.get(episode.episode_id, 0) + 1
                        if retries[episode.episode_id] <= max_retries:
                            queue.append(episode)  # next, on a new actor
                        else:
                            yield _lost_record(
                                s,
                                "worker_died",
                                f"the Ray actor running this episode died {max_retries + 1} times "
                                f"({last_line(exc)[:200]}); not retried again",
                                retries[episode.episode_id] - 1,
                            )
                        _stop(ray, s)
                        slots[i] = _Slot(actor_class, args)
                        continue
                    s.episode = None
                    if kind == "stopped":
                        raise RunStopped(payload)
                    if retries.get(episode.episode_id):
                        payload["retries"] = retries[episode.episode_id]
                    yield payload
                elif s.episode and time.monotonic() > s.deadline:  # agent code that ignores its time limit
                    _stop(ray, s)
                    yield _lost_record(s, "timeout", f"episode exceeded {time_limit:g} s; its Ray actor was killed", 0)
                    slots[i] = _Slot(actor_class, args)
    finally:
        for s in slots:
            _stop(ray, s)
        if owned:
            ray.shutdown()


def _stop(ray, slot: _Slot) -> None:
    with contextlib.suppress(Exception):  # already gone
        ray.kill(slot.actor, no_restart=True)


def _lost_record(slot: _Slot, kind: str, message: str, retries: int) -> dict[str, Any]:
    record = blank_record(slot.episode)
    record["failure"] = {"kind": kind, "message": message}
    if retries:
        record["retries"] = retries
    slot.episode = None
    return finish_record(record, slot.started)
