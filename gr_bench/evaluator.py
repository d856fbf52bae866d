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
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import signal
import sys
import threading
import time
import traceback
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np

from gr_bench.agents import REAL_EXIT, AgentExit, exit_guard
from gr_bench.suites import Episode, Suite

EPISODE_TIME_LIMIT = 600.0  # seconds of wall time per episode before it is failed
TIMEOUT_REPEAT = 0.5  # seconds: the time-out is raised again this often while agent code swallows it
KILL_GRACE = 10.0  # seconds past the time limit before a worker process that ignores it is killed
UNTOUCHED_JOINT = 0.01  # metres an articulation may move in an 'invalid' episode
UNTOUCHED_BLOCK = 0.02  # metres a block may move in an 'invalid' episode
LOCK_PATH = ".lock"  # in a run directory: held (fcntl) by the process writing to it


class EpisodeTimeout(BaseException):
    """The episode's time is up. A BaseException, so that agent code catching ``Exception`` does
    not swallow it."""


class RunMismatchError(ValueError):
    """A run directory holds a different suite, agent, config or checkpoint than the one asked for."""


class RunDirectoryError(ValueError):
    """A run directory that cannot be used: locked by another process, damaged, or not writable."""


class AgentStartError(ValueError):
    """The agent could not be constructed in a worker process: the run cannot go on."""


def _on_alarm(signum, frame):
    raise EpisodeTimeout()


class EpisodeRunner:
    """Owns one agent and the environments it needs; runs episodes one at a time."""

    def __init__(self, agent_spec: str, agent_config: dict | None = None, time_limit: float = EPISODE_TIME_LIMIT):
        from gr_bench.agents import make_agent

        self.agent = make_agent(agent_spec, agent_config)
        self.privileged = bool(getattr(self.agent, "privileged", False))
        self.time_limit = time_limit
        self._deadline = 0.0  # time.monotonic() at which the running episode's time is up
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
        record = blank_record(episode)
        self._deadline = time.monotonic() + self.time_limit
        previous = signal.signal(signal.SIGALRM, _on_alarm)
        try:
            with exit_guard():  # left only once the timer is off: a late time-out cannot skip its cleanup
                try:
                    # raised again every TIMEOUT_REPEAT s until agent code lets it through
                    signal.setitimer(signal.ITIMER_REAL, self.time_limit, TIMEOUT_REPEAT)
                    self._play(episode, record)
                finally:
                    signal.setitimer(signal.ITIMER_REAL, 0)
        except EpisodeTimeout:
            record["failure"] = {"kind": "timeout", "message": f"episode exceeded {self.time_limit:g} s"}
        except AgentExit as exc:
            record["failure"] = {"kind": "agent_error", "message": str(exc)}
        except Exception as exc:  # noqa: BLE001 - the run must go on; the reason is recorded
            if time.monotonic() > self._deadline:  # code the time-out interrupted failed in cleaning up
                record["failure"] = {"kind": "timeout", "message": f"episode exceeded {self.time_limit:g} s"}
            elif isinstance(exc, PhysicsError):
                record["failure"] = {"kind": "physics", "message": str(exc)}
            elif isinstance(exc, _AgentFailure):
                record["failure"] = {"kind": exc.kind, "message": exc.message}
            else:
                record["failure"] = {"kind": "env_error", "message": _short_traceback(exc)}
        finally:
            signal.signal(signal.SIGALRM, previous)
        return finish_record(record, started)

    def _call(self, fn):
        """Run agent code; anything it raises fails the episode as the agent's fault, and agent code
        that swallowed the time-out is stopped as soon as it returns."""
        try:
            result = fn()
        except (EpisodeTimeout, AgentExit, KeyboardInterrupt):
            raise
        except SystemExit as exc:
            raise _AgentFailure("agent_error", f"agent code called sys.exit({exc.code!r})") from exc
        except Exception as exc:  # noqa: BLE001
            raise _AgentFailure("agent_error", _short_traceback(exc)) from exc
        if time.monotonic() > self._deadline:
            raise EpisodeTimeout()
        return result

    def _play(self, episode: Episode, record: dict[str, Any]) -> None:
        from agents.base import INVALID, TERMINATED, split_status

        env = self._env(episode.env_id)
        if hasattr(self.agent, "seed"):
            self._call(lambda: self.agent.seed(episode.seed))
        options: dict[str, Any] = {
            "task": episode.tasks[0],
            "scene": episode.scene,
            "instruction": episode.instructions[0],
        }
        if episode.initial_state is not None:
            options["initial_state"] = episode.initial_state
        if episode.variations:
            options["variations"] = episode.variations
        clock = time.perf_counter()
        obs, info = env.reset(seed=episode.seed, options=options)
        record["env_seconds"] += time.perf_counter() - clock
        invalid = episode.instruction_category == "invalid"
        # the tabletop's impossible requests start from an ordinary task: compare its scene state
        start_scene = env.sim.scene_obs() if invalid and not hasattr(env, "untouched") else None
        try:
            for index, (task, instruction) in enumerate(zip(episode.tasks, episode.instructions, strict=True)):
                if index > 0:
                    obs = env.begin_task(task, instruction)
                if self.privileged:
                    self._call(lambda: self.agent.bind(env, task, episode.instruction_category))  # noqa: B023
                if hasattr(self.agent, "bind_action_space"):
                    self._call(lambda: self.agent.bind_action_space(env.action_space))
                self._call(lambda: self.agent.reset(instruction))  # noqa: B023 - called at once
                done = False
                # None: the environment's own budget for this task (it truncates the episode)
                budget = episode.max_steps if episode.max_steps is not None else int(env.max_steps)
                for _ in range(budget):
                    observation = self._observe(obs)
                    clock = time.perf_counter()
                    output = self._call(lambda: self.agent.act(observation))  # noqa: B023
                    record["agent_seconds"] += time.perf_counter() - clock
                    record["acts"] += 1
                    try:
                        action, status = split_status(output)
                    except ValueError as exc:
                        raise _AgentFailure("malformed_action", str(exc)) from exc
                    record["status"] = status
                    if status in (INVALID, TERMINATED):
                        break
                    _check_action(action, env.action_space.shape)
                    clock = time.perf_counter()
                    obs, _, terminated, truncated, info = env.step(action)
                    record["env_seconds"] += time.perf_counter() - clock
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


def blank_record(episode: Episode) -> dict[str, Any]:
    """The record of ``episode`` before it is played: nothing done, no failure."""
    return {
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
        # wall time inside the agent's act() calls and inside the environment's reset/step
        "acts": 0,
        "agent_seconds": 0.0,
        "env_seconds": 0.0,
    }


def finish_record(record: dict[str, Any], started: float) -> dict[str, Any]:
    if record["failure"]:
        record["success"] = False
    record["progress"] = episode_progress(record)
    record["seconds"] = round(time.perf_counter() - started, 3)
    for key in ("agent_seconds", "env_seconds"):
        record[key] = round(record[key], 3)
    return record


class _AgentFailure(Exception):
    def __init__(self, kind: str, message: str):
        super().__init__(message)
        self.kind, self.message = kind, message


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


def last_line(exc: BaseException) -> str:
    """``Type: message`` of an exception, on one line."""
    text = " ".join(str(exc).split())
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def _short_traceback(exc: BaseException, lines: int = 6) -> str:
    text = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__)).strip().splitlines()
    return "\n".join(text[-lines:])


def _results_stream(
    pending: list[Episode],
    agent_spec: str,
    agent_config: dict | None,
    workers: int,
    time_limit: float,
    on_stuck: Callable[[dict[str, Any]], None],
) -> Iterator[dict[str, Any]]:
    """Records of ``pending``: in this process with one worker, else from worker processes."""
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


# --- the run directory ---------------------------------------------------------------------------
def _read_done(path: Path, repair: bool = True) -> dict[str, dict[str, Any]]:
    """Finished records of a run's log. The one damage a crash can leave, a last line without its
    newline, is dropped (and, with ``repair``, truncated away); any other damage is an error that
    names the line, and nothing is changed."""
    done: dict[str, dict[str, Any]] = {}
    if not path.exists():
        return done
    data = path.read_bytes()
    lines = data.split(b"\n")
    tail = lines.pop()  # b"" when the file ends with a newline, else a line a crash cut short
    for number, line in enumerate(lines, start=1):
        try:
            record = json.loads(line)
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise RunDirectoryError(
                f"{path}, line {number}: not a JSON episode record ({exc}); nothing was changed: fix or remove "
                "that line (or the file) and resume again"
            ) from exc
        if not isinstance(record, dict) or not isinstance(record.get("episode_id"), str):
            raise RunDirectoryError(
                f"{path}, line {number}: not an episode record (a JSON object with an episode_id); nothing was "
                "changed: fix or remove that line (or the file) and resume again"
            )
        done[record["episode_id"]] = record
    if tail and repair:
        with open(path, "r+b") as f:
            f.truncate(len(data) - len(tail))
    return done


def _read_json(path: Path, what: str) -> dict[str, Any]:
    """A JSON object the evaluator wrote, or an error that names the file."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise RunDirectoryError(f"{path}: not a readable {what} ({exc}); restore it or choose another --out") from exc
    if not isinstance(data, dict):
        raise RunDirectoryError(f"{path}: a {what} is a JSON object, not {type(data).__name__}")
    return data


def checkpoint_of(agent_config: dict | None) -> str | None:
    """The content hash of the agent's checkpoint (``checkpoint`` in its config), if it has one."""
    if not agent_config or not agent_config.get("checkpoint"):
        return None
    from agents.train.checkpoint import checkpoint_sha256

    return checkpoint_sha256(agent_config["checkpoint"])


def _make_run_directory(out: Path) -> None:
    try:
        out.mkdir(parents=True, exist_ok=True)
    except FileExistsError as exc:
        raise RunDirectoryError(f"--out {out}: a file is in the way (a run directory is a folder)") from exc
    except OSError as exc:
        raise RunDirectoryError(f"--out {out}: cannot create the run directory ({exc.strerror})") from exc
    if not out.is_dir():
        raise RunDirectoryError(f"--out {out}: not a directory")
    if not os.access(out, os.W_OK | os.X_OK):
        raise RunDirectoryError(f"--out {out}: not writable; choose another --out")


@contextlib.contextmanager
def _locked(out: Path) -> Iterator[None]:
    """Hold the run directory's lock for as long as this process writes to it; the lock goes with
    the process, also when it is killed."""
    with open(out / LOCK_PATH, "a+", encoding="utf-8") as f:
        try:
            fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            f.seek(0)
            holder = f.read().strip() or "?"
            raise RunDirectoryError(
                f"{out} is being written by another gr-bench process (pid {holder}); wait for it to finish, "
                "or choose another --out"
            ) from None
        f.seek(0)
        f.truncate()
        f.write(f"{os.getpid()}\n")
        f.flush()
        try:
            yield
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)


def _check_run(
    out: Path, suite: Suite, agent_spec: str, agent_config: dict | None, checkpoint_sha256: str | None, resume: bool
) -> None:
    """Refuse a run directory that holds another run; write the identity of a new one."""
    meta_path = out / "run.json"
    meta = {
        "suite": suite.name,
        "suite_hash": suite.hash,
        "agent": agent_spec,
        "agent_config": agent_config or {},
        "checkpoint_sha256": checkpoint_sha256,
    }
    if meta_path.exists():
        existing = _read_json(meta_path, "run description")
        for key in meta:
            if existing.get(key) == meta[key]:
                continue
            if key == "checkpoint_sha256":
                raise RunMismatchError(
                    f"cannot use {out}: its records come from a checkpoint with sha256 "
                    f"{existing.get(key) or '(not recorded)'}, but {agent_config['checkpoint']} now has sha256 "
                    f"{checkpoint_sha256} (retrained?); choose another --out"
                )
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
    meta_path.write_text(json.dumps(meta, indent=1))


# --- reusing the records of an earlier run -------------------------------------------------------
REUSED_PATH = "reused.json"  # in a run directory: which records came from which earlier run
SUITE_PATH = "suite.json"  # in a run directory: the episodes it runs, so a later run can reuse it


def _load_earlier_run(source: Path) -> tuple[dict[str, Any], list[dict[str, Any]], list[Episode] | None]:
    """(suite info, agent info, records, its episodes if the run wrote them) of a run directory, a
    results file or a leaderboard submission; nothing in it is changed."""
    episodes = None
    if source.is_dir():
        if (source / SUITE_PATH).exists():
            suite_file = _read_json(source / SUITE_PATH, "suite file")
            try:
                episodes = [Episode.from_json(e) for e in suite_file["episodes"]]
            except (KeyError, TypeError, ValueError) as exc:
                raise ValueError(f"--reuse {source / SUITE_PATH}: not a suite file ({last_line(exc)})") from exc
        if (source / "results.json").exists():
            source = source / "results.json"
        elif (source / "run.json").exists():
            meta = _read_json(source / "run.json", "run description")
            if not {"suite", "suite_hash", "agent", "agent_config"} <= set(meta):
                raise ValueError(f"--reuse {source / 'run.json'}: not a gr-bench run description")
            suite = {"name": meta["suite"], "hash": meta["suite_hash"]}
            agent = {"name": meta["agent"], "config": meta["agent_config"]}
            if meta.get("checkpoint_sha256"):
                agent["checkpoint_sha256"] = meta["checkpoint_sha256"]
            records = list(_read_done(source / "episodes.jsonl", repair=False).values())
            return {"suite": suite, "agent": agent}, records, episodes
        else:
            raise ValueError(f"--reuse {source}: no results.json or run.json there")
    try:
        data = json.loads(source.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ValueError(f"--reuse {source}: not a results file ({exc})") from exc
    if isinstance(data, dict):
        data = data.get("results", data)  # a leaderboard submission wraps the results
    from gr_bench.results import validate

    try:
        validate(data)
    except Exception as exc:  # jsonschema.ValidationError: say which field
        raise ValueError(
            f"--reuse {source}: not a gr-bench results file, run directory or submission "
            f"({getattr(exc, 'message', exc)})"
        ) from exc
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
    source: Path, suite: Suite, agent_spec: str, agent_config: dict | None, checkpoint_sha256: str | None
) -> tuple[dict[str, Any], dict[str, dict[str, Any]]]:
    """Provenance and the records of ``source`` that can stand for episodes of ``suite``: same agent,
    config and checkpoint content, and the episode's JSON (seed, initial state, variations, step
    budget...) identical."""
    data, records, episodes = _load_earlier_run(source)
    if data["agent"]["name"] != agent_spec or (data["agent"].get("config") or {}) != (agent_config or {}):
        raise ValueError(
            f"--reuse {source}: it ran agent {data['agent']['name']!r} with config {data['agent'].get('config')}, "
            f"not {agent_spec!r} with {agent_config or {}}; only the same agent's records can be reused"
        )
    if data["agent"].get("checkpoint_sha256") != checkpoint_sha256:
        raise ValueError(
            f"--reuse {source}: its records come from a checkpoint with sha256 "
            f"{data['agent'].get('checkpoint_sha256') or '(not recorded)'}, this run's checkpoint has "
            f"{checkpoint_sha256}; only the same model's records can be reused"
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
    out: Path,
    suite: Suite,
    agent_spec: str,
    agent_config: dict | None,
    checkpoint_sha256: str | None,
    reuse: Path | None,
    done: dict,
) -> dict[str, Any] | None:
    """Append the reusable records of ``reuse`` to the run's log once; on a resumed run, finish an
    import a crash cut short. Returns the provenance for the results file."""
    path = out / REUSED_PATH
    if path.exists():
        provenance = _read_json(path, "record of reused runs")
        if not isinstance(provenance.get("source"), str) or not isinstance(provenance.get("episode_ids"), list):
            raise RunDirectoryError(f"{path}: not a record of reused runs (source, episode_ids); restore it")
        source = Path(provenance["source"])
        if reuse is not None and reuse.resolve() != source.resolve():
            raise RunMismatchError(f"{out} already reused the records of {source}, not {reuse}; choose another --out")
        ids = set(provenance.pop("episode_ids"))
        if not ids <= set(done):  # a crash between the two writes below
            _, records = _reusable(source, suite, agent_spec, agent_config, checkpoint_sha256)
            _append(out / "episodes.jsonl", [records[i] for i in sorted(ids - set(done))], done)
        return provenance
    if reuse is None:
        return None
    provenance, records = _reusable(reuse, suite, agent_spec, agent_config, checkpoint_sha256)
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
    from gr_bench.results import write_json

    if workers < 1:
        raise ValueError(f"workers must be at least 1, got {workers}")
    if not time_limit > 0:
        raise ValueError(f"the time limit must be a positive number of seconds, got {time_limit}")
    resolve(agent_spec)  # a bad agent name fails before anything is written
    reuse = Path(reuse) if reuse is not None else None
    if reuse is not None and not reuse.exists():
        raise ValueError(f"--reuse {reuse}: no such run directory or results file")
    checkpoint_sha256 = checkpoint_of(agent_config)
    out = Path(out)
    _make_run_directory(out)
    with _locked(out):
        _check_run(out, suite, agent_spec, agent_config, checkpoint_sha256, resume)
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
        reused = _import_reused(out, suite, agent_spec, agent_config, checkpoint_sha256, reuse, done)
        pending = [e for e in suite.episodes if e.episode_id not in done]
        if pending:
            _run_pending(suite, pending, agent_spec, agent_config, log, done, workers, time_limit, progress)
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
) -> None:
    """Run ``pending`` and append each record to ``log`` (fsynced) as it arrives."""
    bar = None
    if progress:
        from tqdm import tqdm

        bar = tqdm(total=len(suite.episodes), initial=len(done), desc=f"{suite.name} x {agent_spec}", unit="episode")
    with open(log, "a", encoding="utf-8") as f:
        stream = _results_stream(
            pending, agent_spec, agent_config, workers, time_limit, lambda record: _append(log, [record], done)
        )
        for record in stream:
            f.write(json.dumps(record, ensure_ascii=False) + "\n")
            f.flush()
            os.fsync(f.fileno())
            done[record["episode_id"]] = record
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
            suite, agent_spec, agent_config or {}, records, workers, reused, checkpoint_sha256=checkpoint_sha256
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
