"""The evaluator: runs a suite's episodes for an agent, durably, in worker processes.

Every finished episode is appended to ``episodes.jsonl`` (flushed and fsynced) before more work is
handed out, so a run killed at any moment resumes with ``resume=True`` and loses or repeats
nothing. Agent exceptions, malformed actions, time-outs and physics blow-ups fail only their own
episode, with the reason recorded. An episode's outcome depends only on the episode and the agent
(seeded per episode), so any number of workers gives the same results.
"""

from __future__ import annotations

import json
import multiprocessing
import os
import signal
import time
import traceback
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

from gr_bench.suites import Episode, Suite

EPISODE_TIME_LIMIT = 600.0  # seconds of wall time per episode before it is failed
UNTOUCHED_JOINT = 0.01  # metres an articulation may move in an 'invalid' episode
UNTOUCHED_BLOCK = 0.02  # metres a block may move in an 'invalid' episode
ACTION_SHAPE = (7,)


class EpisodeTimeout(Exception):
    pass


class RunMismatchError(ValueError):
    """A run directory holds a different suite or agent than the one asked for."""


def _on_alarm(signum, frame):
    raise EpisodeTimeout()


class EpisodeRunner:
    """Owns one agent and the environments it needs; runs episodes one at a time."""

    def __init__(self, agent_spec: str, agent_config: dict | None = None, time_limit: float = EPISODE_TIME_LIMIT):
        from gr_bench.agents import make_agent

        self.agent = make_agent(agent_spec, agent_config)
        self.privileged = bool(getattr(self.agent, "privileged", False))
        self.time_limit = time_limit
        self._envs: dict[str, Any] = {}

    def _env(self, env_id: str):
        if env_id not in self._envs:
            import gymnasium as gym

            import envs  # noqa: F401  (registers the ids)

            # a privileged agent reads state, not pixels: no need to render for it
            kwargs = {"cameras": ()} if self.privileged else {}
            self._envs[env_id] = gym.make(env_id, **kwargs).unwrapped
        return self._envs[env_id]

    def _observe(self, obs: dict[str, Any]) -> dict[str, Any]:
        # scene_obs is privileged: only the oracle may see it
        return obs if self.privileged else {k: v for k, v in obs.items() if k != "scene_obs"}

    def run(self, episode: Episode) -> dict[str, Any]:
        from envs.errors import PhysicsError

        started = time.perf_counter()
        record: dict[str, Any] = {
            "episode_id": episode.episode_id,
            "scene": episode.scene,
            "tasks": list(episode.tasks),
            "instructions": list(episode.instructions),
            "seed": episode.seed,
            "instruction_category": episode.instruction_category,
            "axis": episode.axis,
            "variations": episode.variations,
            "success": False,
            "completed": 0,
            "steps": 0,
            "status": "ongoing",
            "failure": None,
        }
        previous = signal.signal(signal.SIGALRM, _on_alarm)
        signal.setitimer(signal.ITIMER_REAL, self.time_limit)
        try:
            self._play(episode, record)
        except EpisodeTimeout:
            record["failure"] = {"kind": "timeout", "message": f"episode exceeded {self.time_limit:.0f} s"}
        except PhysicsError as exc:
            record["failure"] = {"kind": "physics", "message": str(exc)}
        except _AgentFailure as exc:
            record["failure"] = {"kind": exc.kind, "message": exc.message}
        except Exception as exc:  # noqa: BLE001 - the run must go on; the reason is recorded
            record["failure"] = {"kind": "env_error", "message": _short_traceback(exc)}
        finally:
            signal.setitimer(signal.ITIMER_REAL, 0)
            signal.signal(signal.SIGALRM, previous)
        if record["failure"]:
            record["success"] = False
        record["seconds"] = round(time.perf_counter() - started, 3)
        return record

    def _play(self, episode: Episode, record: dict[str, Any]) -> None:
        from agents.base import INVALID, TERMINATED, split_status

        env = self._env(episode.env_id)
        if hasattr(self.agent, "seed"):
            self.agent.seed(episode.seed)
        options: dict[str, Any] = {
            "task": episode.tasks[0],
            "scene": episode.scene,
            "instruction": episode.instructions[0],
        }
        if episode.initial_state is not None:
            options["initial_state"] = episode.initial_state
        if episode.variations:
            options["variations"] = episode.variations
        obs, _ = env.reset(seed=episode.seed, options=options)
        invalid = episode.instruction_category == "invalid"
        start_scene = env.sim.scene_obs()
        for index, (task, instruction) in enumerate(zip(episode.tasks, episode.instructions, strict=True)):
            if index > 0:
                obs = env.begin_task(task, instruction)
            if self.privileged:
                self.agent.bind(env, task, episode.instruction_category)
            _call(lambda: self.agent.reset(instruction))  # noqa: B023 - called at once
            done = False
            for _ in range(episode.max_steps):
                action, status = _call(lambda: split_status(self.agent.act(self._observe(obs))))  # noqa: B023
                record["status"] = status
                if status in (INVALID, TERMINATED):
                    break
                _check_action(action)
                obs, _, terminated, _, _ = env.step(action)
                record["steps"] += 1
                if terminated and not invalid:
                    done = True
                    break
            if invalid:
                record["success"] = record["status"] == INVALID or _untouched(start_scene, env.sim.scene_obs())
                return
            if not done:
                break
            record["completed"] += 1
        record["success"] = record["completed"] == len(episode.tasks)


class _AgentFailure(Exception):
    def __init__(self, kind: str, message: str):
        super().__init__(message)
        self.kind, self.message = kind, message


def _call(fn):
    """Run agent code; anything it raises fails the episode as the agent's fault."""
    try:
        return fn()
    except EpisodeTimeout:
        raise
    except Exception as exc:  # noqa: BLE001
        raise _AgentFailure("agent_error", _short_traceback(exc)) from exc


def _check_action(action: np.ndarray) -> None:
    if action.shape != ACTION_SHAPE or not np.all(np.isfinite(action)):
        raise _AgentFailure(
            "malformed_action",
            f"expected a finite action of shape {ACTION_SHAPE}, got shape {action.shape}: "
            f"{np.array2string(action.ravel()[:8], precision=3)}",
        )


def _untouched(before: np.ndarray, after: np.ndarray) -> bool:
    """Nothing in the scene moved: articulations, lights and blocks are where they were."""
    joints_still = np.all(np.abs(after[:4] - before[:4]) < UNTOUCHED_JOINT)
    lights_same = np.array_equal(after[4:6], before[4:6])
    blocks = [slice(6 + 6 * i, 9 + 6 * i) for i in range(3)]
    blocks_still = all(np.linalg.norm(after[b] - before[b]) < UNTOUCHED_BLOCK for b in blocks)
    return bool(joints_still and lights_same and blocks_still)


def _short_traceback(exc: BaseException, lines: int = 6) -> str:
    text = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__)).strip().splitlines()
    return "\n".join(text[-lines:])


# --- worker processes ---------------------------------------------------------------------------
_RUNNER: EpisodeRunner | None = None


def _init_worker(agent_spec: str, agent_config: dict | None, time_limit: float) -> None:
    global _RUNNER
    os.environ.setdefault("MUJOCO_GL", "egl")
    # several workers on a small machine: one thread each is much faster than oversubscription
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    _RUNNER = EpisodeRunner(agent_spec, agent_config, time_limit)


def _run_in_worker(episode_json: dict[str, Any]) -> dict[str, Any]:
    return _RUNNER.run(Episode.from_json(episode_json))


def _results_stream(
    pending: list[Episode], agent_spec: str, agent_config: dict | None, workers: int, time_limit: float
) -> Iterator[dict[str, Any]]:
    if workers == 1:
        runner = EpisodeRunner(agent_spec, agent_config, time_limit)
        for episode in pending:
            yield runner.run(episode)
        return
    # spawn, not fork: a forked child of a process that holds an EGL context hangs
    context = multiprocessing.get_context("spawn")
    with context.Pool(workers, initializer=_init_worker, initargs=(agent_spec, agent_config, time_limit)) as pool:
        yield from pool.imap_unordered(_run_in_worker, [e.to_json() for e in pending])


# --- the run directory ---------------------------------------------------------------------------
def _read_done(path: Path) -> dict[str, dict[str, Any]]:
    """Finished records; a line cut short by a crash is dropped (and truncated away)."""
    done: dict[str, dict[str, Any]] = {}
    if not path.exists():
        return done
    good_bytes = 0
    with open(path, "rb") as f:
        for line in f:
            try:
                record = json.loads(line)
            except json.JSONDecodeError:
                break
            if not line.endswith(b"\n"):
                break
            done[record["episode_id"]] = record
            good_bytes += len(line)
    if good_bytes != path.stat().st_size:
        with open(path, "r+b") as f:
            f.truncate(good_bytes)
    return done


def _check_run(out: Path, suite: Suite, agent_spec: str, agent_config: dict | None, resume: bool) -> None:
    meta_path = out / "run.json"
    meta = {"suite": suite.name, "suite_hash": suite.hash, "agent": agent_spec, "agent_config": agent_config or {}}
    if meta_path.exists():
        existing = json.loads(meta_path.read_text())
        for key in meta:
            if existing.get(key) != meta[key]:
                raise RunMismatchError(
                    f"cannot use {out}: it holds a run with {key}={existing.get(key)!r}, now {meta[key]!r}; "
                    "choose another --out"
                )
        # a finished run of the same suite and agent is simply reported again
        if not resume and not (out / "results.json").exists():
            raise RunMismatchError(
                f"{out} holds an unfinished run; pass --resume to finish it, or choose another --out"
            )
        return
    out.mkdir(parents=True, exist_ok=True)
    meta_path.write_text(json.dumps(meta, indent=1))


def evaluate(
    suite: Suite,
    agent_spec: str,
    out: str | Path,
    *,
    agent_config: dict | None = None,
    workers: int = 1,
    resume: bool = False,
    time_limit: float = EPISODE_TIME_LIMIT,
    progress: bool = True,
) -> dict[str, Any]:
    """Run ``suite`` for the agent; write episodes.jsonl and results.json under ``out``."""
    from gr_bench.agents import resolve
    from gr_bench.results import build_results, validate, write_json

    if workers < 1:
        raise ValueError(f"workers must be at least 1, got {workers}")
    resolve(agent_spec)  # a bad agent name fails before anything is written
    out = Path(out)
    _check_run(out, suite, agent_spec, agent_config, resume)
    log = out / "episodes.jsonl"
    done = _read_done(log)
    wanted = {e.episode_id for e in suite.episodes}
    pending = [e for e in suite.episodes if e.episode_id not in done]
    bar = None
    if progress:
        from tqdm import tqdm

        bar = tqdm(total=len(suite.episodes), initial=len(done), desc=f"{suite.name} x {agent_spec}", unit="episode")
    with open(log, "a", encoding="utf-8") as f:
        for record in _results_stream(
            pending, agent_spec, agent_config, min(workers, max(1, len(pending))), time_limit
        ):
            f.write(json.dumps(record, ensure_ascii=False) + "\n")
            f.flush()
            os.fsync(f.fileno())
            done[record["episode_id"]] = record
            if bar is not None:
                bar.update(1)
                bar.set_postfix(success=f"{np.mean([r['success'] for r in done.values()]):.0%}")
    if bar is not None:
        bar.close()
    records = [r for r in done.values() if r["episode_id"] in wanted]
    results = build_results(suite, agent_spec, agent_config or {}, records, workers)
    validate(results)
    write_json(out / "results.json", results)
    return results
