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
            "env_id": episode.env_id,
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
        record["progress"] = episode_progress(record)
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
        obs, info = env.reset(seed=episode.seed, options=options)
        invalid = episode.instruction_category == "invalid"
        # the tabletop's impossible requests start from an ordinary task: compare its scene state
        start_scene = env.sim.scene_obs() if invalid and not hasattr(env, "untouched") else None
        try:
            for index, (task, instruction) in enumerate(zip(episode.tasks, episode.instructions, strict=True)):
                if index > 0:
                    obs = env.begin_task(task, instruction)
                if self.privileged:
                    self.agent.bind(env, task, episode.instruction_category)
                if hasattr(self.agent, "bind_action_space"):
                    _call(lambda: self.agent.bind_action_space(env.action_space))
                _call(lambda: self.agent.reset(instruction))  # noqa: B023 - called at once
                done = False
                # None: the environment's own budget for this task (it truncates the episode)
                budget = episode.max_steps if episode.max_steps is not None else int(env.max_steps)
                for _ in range(budget):
                    action, status = _call(lambda: split_status(self.agent.act(self._observe(obs))))  # noqa: B023
                    record["status"] = status
                    if status in (INVALID, TERMINATED):
                        break
                    _check_action(action, env.action_space.shape)
                    obs, _, terminated, truncated, info = env.step(action)
                    record["steps"] += 1
                    if terminated and not invalid:
                        done = True
                        break
                    if truncated:
                        break
                if invalid:
                    record["success"] = record["status"] == INVALID or _untouched(env, start_scene)
                    return
                if not done:
                    break
                record["completed"] += 1
            record["success"] = record["completed"] == len(episode.tasks)
        finally:
            # outcomes the environment measures itself (the tidy env: progress, per-object outcomes)
            if "progress" in info:
                record["progress"] = float(info["progress"])
            if "subtasks" in info:
                record["subtasks"] = info["subtasks"]


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


def _check_action(action: np.ndarray, shape: tuple[int, ...]) -> None:
    """The action must have the shape of the episode's environment's action space, and be finite."""
    if action.shape != shape or not np.all(np.isfinite(action)):
        raise _AgentFailure(
            "malformed_action",
            f"expected a finite action of shape {shape} (the environment's action space), got shape "
            f"{action.shape}: {np.array2string(action.ravel()[:8], precision=3)}",
        )


def _untouched(env, start_scene: np.ndarray | None) -> bool:
    """Nothing on the table was touched: the environment says so where it can (``untouched()``),
    else, on the tabletop, its scene state is compared with the start."""
    if hasattr(env, "untouched"):
        return bool(env.untouched())
    return _tabletop_untouched(start_scene, env.sim.scene_obs())


def _tabletop_untouched(before: np.ndarray, after: np.ndarray) -> bool:
    """Nothing in the scene moved: articulations, lights and blocks are where they were."""
    joints_still = np.all(np.abs(after[:4] - before[:4]) < UNTOUCHED_JOINT)
    lights_same = np.array_equal(after[4:6], before[4:6])
    blocks = [slice(6 + 6 * i, 9 + 6 * i) for i in range(3)]
    blocks_still = all(np.linalg.norm(after[b] - before[b]) < UNTOUCHED_BLOCK for b in blocks)
    return bool(joints_still and lights_same and blocks_still)


def episode_progress(record: dict[str, Any]) -> float:
    """GR-3's task progress of a finished record, in [0, 1]: an impossible request scores its
    success; otherwise the fraction the environment measured (the tidy env: objects placed where
    the task says), or else the fraction of the chain's tasks completed."""
    if record["instruction_category"] == "invalid":
        return float(record["success"])
    if "progress" in record:
        return float(record["progress"])
    return record["completed"] / len(record["tasks"])


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


# --- reusing the records of an earlier run -------------------------------------------------------
REUSED_PATH = "reused.json"  # in a run directory: which records came from which earlier run
SUITE_PATH = "suite.json"  # in a run directory: the episodes it runs, so a later run can reuse it


def _load_earlier_run(source: Path) -> tuple[dict[str, Any], list[dict[str, Any]], list[Episode] | None]:
    """(suite info, agent info, records, its episodes if the run wrote them) of a run directory, a
    results file or a leaderboard submission."""
    episodes = None
    if source.is_dir():
        if (source / SUITE_PATH).exists():
            episodes = [Episode.from_json(e) for e in json.loads((source / SUITE_PATH).read_text())["episodes"]]
        if (source / "results.json").exists():
            source = source / "results.json"
        elif (source / "run.json").exists():
            meta = json.loads((source / "run.json").read_text())
            suite = {"name": meta["suite"], "hash": meta["suite_hash"]}
            agent = {"name": meta["agent"], "config": meta["agent_config"]}
            return {"suite": suite, "agent": agent}, list(_read_done(source / "episodes.jsonl").values()), episodes
        else:
            raise ValueError(f"--reuse {source}: no results.json or run.json there")
    try:
        data = json.loads(source.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ValueError(f"--reuse {source}: not a results file ({exc})") from exc
    data = data.get("results", data)  # a leaderboard submission wraps the results
    if not isinstance(data, dict) or not {"suite", "agent", "episodes"} <= set(data):
        raise ValueError(f"--reuse {source}: not a gr-bench results file, run directory or submission")
    return data, data["episodes"], episodes


def _earlier_episodes(name: str, suite_hash: str) -> tuple[int, list[Episode]]:
    """The released version of suite ``name`` whose hash is ``suite_hash``, and its episodes."""
    from gr_bench.suites import VERSIONS, get_suite

    for version in VERSIONS.get(name, ()):
        suite = get_suite(name, version)
        if suite.hash == suite_hash:
            return version, list(suite.episodes)
    raise ValueError(
        f"--reuse: this checkout builds no version of suite {name!r} with hash {suite_hash[:16]}...; reuse needs "
        "a run of a released suite version, or a run directory written by this version of gr-bench"
    )


def _reusable(
    source: Path, suite: Suite, agent_spec: str, agent_config: dict | None
) -> tuple[dict[str, Any], dict[str, dict[str, Any]]]:
    """Provenance and the records of ``source`` that can stand for episodes of ``suite``: same agent
    and config, and the episode's JSON (seed, initial state, variations, step budget...) identical."""
    data, records, episodes = _load_earlier_run(source)
    if data["agent"]["name"] != agent_spec or (data["agent"].get("config") or {}) != (agent_config or {}):
        raise ValueError(
            f"--reuse {source}: it ran agent {data['agent']['name']!r} with config {data['agent'].get('config')}, "
            f"not {agent_spec!r} with {agent_config or {}}; only the same agent's records can be reused"
        )
    name, suite_hash = data["suite"]["name"], data["suite"]["hash"]
    if episodes is None:
        version, episodes = _earlier_episodes(name, suite_hash)
    else:
        version = data["suite"].get("version")
    before = {e.episode_id: e for e in episodes}
    wanted = {e.episode_id: e for e in suite.episodes}
    reusable = {}
    for record in records:
        episode_id = record["episode_id"]
        if (
            episode_id in wanted
            and episode_id in before
            and before[episode_id].to_json() == wanted[episode_id].to_json()
        ):
            # records of an older schema lack the environment and the progress: add them
            record = {**record, "env_id": wanted[episode_id].env_id}
            record["progress"] = episode_progress(record)
            reusable[episode_id] = record
    provenance = {
        "records": len(reusable),
        "source": str(source),
        "suite": {"name": name, "version": version, "hash": suite_hash},
    }
    return provenance, reusable


def _import_reused(
    out: Path, suite: Suite, agent_spec: str, agent_config: dict | None, reuse: Path | None, done: dict
) -> dict[str, Any] | None:
    """Append the reusable records of ``reuse`` to the run's log once; on a resumed run, finish an
    import a crash cut short. Returns the provenance for the results file."""
    path = out / REUSED_PATH
    if path.exists():
        provenance = json.loads(path.read_text())
        source = Path(provenance["source"])
        if reuse is not None and reuse.resolve() != source.resolve():
            raise RunMismatchError(f"{out} already reused the records of {source}, not {reuse}; choose another --out")
        ids = set(provenance.pop("episode_ids"))
        if not ids <= set(done):  # a crash between the two writes below
            _, records = _reusable(source, suite, agent_spec, agent_config)
            _append(out / "episodes.jsonl", [records[i] for i in sorted(ids - set(done))], done)
        return provenance
    if reuse is None:
        return None
    provenance, records = _reusable(reuse, suite, agent_spec, agent_config)
    records = {i: r for i, r in records.items() if i not in done}
    provenance["records"] = len(records)
    # what will be imported is written down first, so that a crash in between can be finished
    path.write_text(json.dumps({**provenance, "episode_ids": sorted(records)}, indent=1))
    _append(out / "episodes.jsonl", list(records.values()), done)
    return provenance


def _append(log: Path, records: list[dict[str, Any]], done: dict[str, dict[str, Any]]) -> None:
    with open(log, "a", encoding="utf-8") as f:
        for record in records:
            f.write(json.dumps(record, ensure_ascii=False) + "\n")
            done[record["episode_id"]] = record
        f.flush()
        os.fsync(f.fileno())


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
) -> dict[str, Any]:
    """Run ``suite`` for the agent; write episodes.jsonl and results.json under ``out``.

    ``reuse``: an earlier run (its directory, results file or leaderboard submission) of the same
    agent and config; its records of episodes identical to this suite's are imported instead of
    being run again, and the results file says how many and from which suite."""
    from gr_bench.agents import resolve
    from gr_bench.results import build_results, validate, write_json

    if workers < 1:
        raise ValueError(f"workers must be at least 1, got {workers}")
    resolve(agent_spec)  # a bad agent name fails before anything is written
    reuse = Path(reuse) if reuse is not None else None
    if reuse is not None and not reuse.exists():
        raise ValueError(f"--reuse {reuse}: no such run directory or results file")
    out = Path(out)
    _check_run(out, suite, agent_spec, agent_config, resume)
    if not (out / SUITE_PATH).exists():
        write_json(
            out / SUITE_PATH,
            {
                "name": suite.name,
                "version": suite.version,
                "hash": suite.hash,
                "episodes": [e.to_json() for e in suite.episodes],
            },
        )
    log = out / "episodes.jsonl"
    done = _read_done(log)
    reused = _import_reused(out, suite, agent_spec, agent_config, reuse, done)
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
    results = build_results(suite, agent_spec, agent_config or {}, records, workers, reused)
    validate(results)
    write_json(out / "results.json", results)
    return results
