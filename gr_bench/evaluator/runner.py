"""The episode runner: one agent plays one episode at a time; whatever goes wrong (an exception, a
malformed action, ``sys.exit``, a time-out, a physics blow-up) fails only that episode, with the
reason in its record."""

from __future__ import annotations

import signal
import time
import traceback
from collections import deque
from collections.abc import Callable
from typing import Any

import numpy as np

from gr_bench.agents import AgentExit, exit_guard
from gr_bench.suites import Episode

EPISODE_TIME_LIMIT = 600.0  # seconds of wall time per episode before it is failed
TIMEOUT_REPEAT = 0.5  # seconds: the time-out is raised again this often while agent code swallows it


class EpisodeTimeout(BaseException):
    """The episode's time is up. A BaseException, so that agent code catching ``Exception`` does
    not swallow it."""


class AgentStartError(ValueError):
    """The agent could not be constructed in a worker process: the run cannot go on."""


def _on_alarm(signum, frame):
    raise EpisodeTimeout()


class EpisodeRunner:
    """Owns one agent and the environments it needs; runs episodes one at a time."""

    def __init__(
        self,
        agent_spec: str,
        agent_config: dict | None = None,
        time_limit: float = EPISODE_TIME_LIMIT,
        watch: Callable[[dict[str, Any]], None] | None = None,
    ):
        from gr_bench.agents import latency_steps, make_agent
        from gr_bench.evaluator.run_directory import privileged_inputs_of

        self.agent = make_agent(agent_spec, agent_config)
        # latency-aware evaluation: an action reaches the robot this many control steps after the
        # observation it answers; the robot keeps executing what it was sent before
        self.latency = latency_steps(agent_config)
        self.privileged = is_privileged(agent_spec)  # as results.json records it: the class says
        # a checkpoint trained to read the simulator's scene_obs beside its cameras (GR-1's scene-state
        # control) declares it, and results.json records that declaration: the one source of truth
        self.sees_scene = self.privileged or "scene_obs" in privileged_inputs_of(agent_config)
        self.time_limit = time_limit
        # shown every observation the environment returns, the first included (``gr-bench watch``
        # films an episode so); the cameras then render for a privileged agent too
        self.watch = watch
        self._deadline = 0.0  # time.monotonic() at which the running episode's time is up
        self._envs: dict[str, Any] = {}

    def environment(self, env_id: str):
        """The environment (unwrapped) this runner plays ``env_id``'s episodes in, made on first use."""
        if env_id not in self._envs:
            import gymnasium as gym

            import envs  # noqa: F401  (registers the ids)

            # a privileged agent reads state, not pixels: no need to render for it
            kwargs = {"cameras": ()} if self.privileged and self.watch is None else {}
            self._envs[env_id] = gym.make(env_id, **kwargs).unwrapped
        return self._envs[env_id]

    def _observe(self, obs: dict[str, Any]) -> dict[str, Any]:
        # scene_obs is privileged: only the oracle and declared controls see it
        return obs if self.sees_scene else {k: v for k, v in obs.items() if k != "scene_obs"}

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

        env = self.environment(episode.env_id)
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
        if self.watch is not None:
            self.watch(obs)
        invalid = episode.instruction_category == "invalid"
        measures = "progress" in info  # the environment grades its tasks itself
        current = float(info.get("progress", 0.0))  # the graded progress of the task under way
        in_flight: deque[np.ndarray] = deque()  # actions computed but not yet applied (latency)
        try:
            for index, (task, instruction) in enumerate(zip(episode.tasks, episode.instructions, strict=True)):
                if index > 0:
                    obs = env.begin_task(task, instruction)
                    current = 0.0
                    if self.watch is not None:
                        self.watch(obs)
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
                    if self.latency:
                        in_flight.append(action)
                        # the action answering the observation of `latency` steps ago; before the
                        # first one arrives, the robot stays as it is
                        action = in_flight.popleft() if len(in_flight) > self.latency else env.no_op_action()
                    clock = time.perf_counter()
                    obs, _, terminated, truncated, info = env.step(action)
                    record["env_seconds"] += time.perf_counter() - clock
                    if self.watch is not None:
                        self.watch(obs)
                    record["steps"] += 1
                    current = float(info.get("progress", current))
                    if terminated and not invalid:
                        done = True
                        if episode.rules >= 3:  # does the agent know it is done? (not applied)
                            record.setdefault("done_claims", []).append(self._claims_done(obs))
                        break
                    if truncated:
                        break
                if invalid:
                    refused = record["status"] == INVALID
                    # rules 3: only a refusal counts; rules 2: touching nothing did too
                    record["success"] = refused if episode.rules >= 3 else refused or bool(env.untouched())
                    return
                if not done:
                    break
                record["completed"] += 1
            record["success"] = record["completed"] == len(episode.tasks)
        finally:
            # outcomes the environment measures itself (where it does: progress, per-object outcomes);
            # in a chain, the tasks done count whole and the one under way by its graded progress
            if measures:
                under_way = min(record["completed"], len(episode.tasks) - 1)
                record["progress"] = (under_way + current) / len(episode.tasks)
            if "subtasks" in info:
                record["subtasks"] = info["subtasks"]

    def _claims_done(self, obs: dict[str, Any]) -> bool:
        """Whether the agent, shown the observation in which its task succeeded, reports
        ``terminated``; its action is not applied, and an error here fails nothing."""
        from agents.base import TERMINATED, split_status

        try:
            _, status = split_status(self._call(lambda: self.agent.act(self._observe(obs))))
        except Exception:  # noqa: BLE001 - a probe: the episode's outcome is already decided
            return False
        return status == TERMINATED


def is_privileged(agent_spec: str) -> bool:
    """Whether the agent's class is handed the environment itself (``privileged``: the oracle, the
    controls that never look); read off the class, so that an instance cannot turn it on."""
    from gr_bench.agents import resolve

    return bool(getattr(resolve(agent_spec), "privileged", False))


def blank_record(episode: Episode) -> dict[str, Any]:
    """The record of ``episode`` before it is played: nothing done, no failure (and its scoring
    rules where they are not 2: ``envs.episodes.RULES``)."""
    record = {
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
    if episode.rules != 2:
        record["rules"] = episode.rules
    if not episode.headline:
        record["headline"] = False
    return record


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


def episode_progress(record: dict[str, Any]) -> float:
    """GR-3's task progress of a finished record, in [0, 1]: an impossible request scores its
    success; otherwise the fraction the environment measured (e.g. objects placed where the task
    says), or else the fraction of the chain's tasks completed."""
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
