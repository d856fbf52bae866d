"""Agents by name (``gr_bench.registry``) or ``module:Class`` for outside code, and the privileged oracle.

Agents are imported lazily, so listing or validating names costs nothing. The oracle is the one
agent allowed to read simulator state: it wraps the scripted expert, which plans from privileged
state and ignores the instruction (it is language-blind by design; see ``OracleAgent``).
"""

from __future__ import annotations

import contextlib
import importlib
import os
from collections.abc import Iterator
from typing import Any

import numpy as np

from agents.base import INVALID
from gr_bench.registry import REGISTRY

AGENTS = {name: entry.agent for name, entry in REGISTRY.items()}  # short name -> module:Class
REMOTE_SCHEMES = ("ws://", "wss://")  # --agent ws://HOST:PORT: a `gr-bench serve` policy server (gr_bench.serve)


def resolve(spec: str) -> type:
    """The agent class for a short name, a ``module:Class`` path or a policy server's ``ws://HOST:PORT``."""
    if spec.startswith(REMOTE_SCHEMES):
        try:
            from gr_bench.serve.client import RemoteAgent
        except ImportError as exc:
            raise ValueError(f"--agent {spec}: the policy client needs pip install -e '.[serve]' ({exc})") from exc
        return RemoteAgent
    path = AGENTS.get(spec, spec)
    if ":" not in path:
        from envs.errors import unknown_name_error
        from gr_bench.registry import TRAIN_ONLY

        if spec in TRAIN_ONLY:
            raise ValueError(f"{spec!r} is trained (gr-bench train --agent {spec}) but is no agent: it cannot act")

        error = unknown_name_error("agent", spec, AGENTS)
        raise ValueError(f"{error} An outside agent is given as module:Class, e.g. my_pkg.policy:MyAgent.")
    module_name, _, class_name = path.partition(":")
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        hint = ""
        if exc.name in ("torch", "transformers", "safetensors"):
            hint = "; the reference agents need their extras: pip install -e '.[agents]'"
        raise ValueError(f"cannot import agent module {module_name!r} for {spec!r}: {exc}{hint}") from exc
    if not hasattr(module, class_name):
        raise ValueError(f"module {module_name!r} has no class {class_name!r} (agent {spec!r})")
    return getattr(module, class_name)


REAL_EXIT = os._exit  # the process's own os._exit, while exit_guard() replaces it


class RunStopped(KeyboardInterrupt):
    """Agent code says the run cannot go on (its policy server is gone): raised past the episode
    runner like an interrupt, so the episode is not recorded and ``--resume`` runs it later."""


class AgentExit(BaseException):
    """Agent code called ``os._exit``; raised in its place (``exit_guard``) so that the harness goes on."""

    def __init__(self, code):
        super().__init__(f"agent code called os._exit({code!r})")
        self.code = code


@contextlib.contextmanager
def exit_guard() -> Iterator[None]:
    """While agent code runs in this process, ``os._exit`` raises ``AgentExit`` instead of ending
    it; a process the agent forked (a data loader, say) still exits."""
    pid, previous = os.getpid(), os._exit

    def guarded(code=0):
        if os.getpid() != pid:
            REAL_EXIT(code)
        raise AgentExit(code)

    os._exit = guarded
    try:
        yield
    finally:
        os._exit = previous


def make_agent(spec: str, config: dict[str, Any] | None = None):
    """The agent ``spec`` built from ``config``; ``blind: true`` in it wraps the agent in a blind
    control (agents.blind: every camera image a constant grey); ``latency_steps`` is the
    evaluator's (``latency_steps()``) and is not passed on."""
    cls = resolve(spec)
    config = dict(config or {})
    latency_steps(config)  # the evaluator's option, checked here; the agent never sees it
    config.pop(LATENCY_KEY, None)
    blind = config.pop("blind", False)
    if not isinstance(blind, bool):
        raise ValueError(f"blind must be true or false, got {blind!r}")
    if spec.startswith(REMOTE_SCHEMES):
        config["url"] = spec
    try:
        with exit_guard():
            agent = cls(**config)
    except ValueError:
        raise
    except (Exception, SystemExit, AgentExit) as exc:  # noqa: BLE001 - a broken agent or checkpoint: one line
        text = " ".join(str(exc).split())
        raise ValueError(
            f"agent {spec!r} could not be built from config {config}: {type(exc).__name__}{': ' * bool(text)}{text}"
        ) from exc
    for method in ("reset", "act"):
        if not callable(getattr(agent, method, None)):
            raise ValueError(f"agent {spec!r} has no {method}() method; see agents.base.Agent")
    if blind:
        from agents.blind import BlindAgent

        agent = BlindAgent(agent)
    return agent


LATENCY_KEY = "latency_steps"  # in an agent config: the evaluator delays the agent's actions (runner.py)


def latency_steps(config: dict[str, Any] | None) -> int:
    """The control steps between an observation and the application of the action answering it
    (``latency_steps`` in the agent's config, recorded with it; 0 when absent)."""
    value = (config or {}).get(LATENCY_KEY, 0)
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 1000:
        raise ValueError(f"latency_steps must be a whole number of control steps in [0, 1000], got {value!r}")
    return value


def config_from_options(
    spec: str, agent_config: str | None, settings: list[str] | None, checkpoint: str | None
) -> tuple[dict[str, Any], str | None]:
    """The agent's config from the command line's ``--agent-config`` (a JSON object), ``--set
    KEY=VALUE`` items and ``--checkpoint``, with the shipped reference filled in where the agent
    has one and none was named (returned too, as ``with_default_checkpoint`` does)."""
    import json

    from gr_bench.train import parse_overrides

    try:
        config = json.loads(agent_config) if agent_config else {}
    except json.JSONDecodeError as exc:
        raise ValueError(f"--agent-config is not JSON ({exc}): {agent_config!r}") from exc
    if not isinstance(config, dict):
        raise ValueError(f"--agent-config must be a JSON object of keyword arguments, got {agent_config!r}")
    config |= parse_overrides(settings)
    if checkpoint:
        config["checkpoint"] = checkpoint
    return with_default_checkpoint(spec, config)


def with_default_checkpoint(spec: str, config: dict[str, Any] | None) -> tuple[dict[str, Any], str | None]:
    """``config`` with the agent's shipped reference checkpoint filled in when it names none, so the
    run records which model it ran; also returns that default (None when none was filled in)."""
    config = dict(config or {})
    default = getattr(resolve(spec), "DEFAULT_CHECKPOINT", None)
    if default is None or config.get("checkpoint"):
        return config, None
    return {**config, "checkpoint": default}, default


class OracleAgent:
    """The scripted expert behind the Agent protocol; it reads privileged simulator state.

    It is told the episode's task by the evaluator (``bind``), not by the instruction, so its
    success on held-out phrasings measures the scenes, not language. The expert is the one the
    episode's environment family declares. On an ``invalid`` request it reports the ``invalid``
    status at once, with a no-op action, because the evaluator tells it the request is invalid:
    that row shows the protocol works, not that the oracle understood anything.
    """

    privileged = True

    def __init__(self):
        self._expert = None
        self._env = None
        self._invalid = False

    def bind(self, env, task: str, instruction_category: str) -> None:
        from envs.family import family_of

        self._expert = family_of(env).expert_class()(env)
        self._env = env
        self._invalid = instruction_category == "invalid"

    def reset(self, instruction: str) -> None:
        if self._expert is None:
            raise RuntimeError("the oracle needs the environment: the evaluator calls bind() before reset()")
        if not self._invalid:
            self._expert.reset(instruction)

    def act(self, observation: dict[str, Any]):
        if self._invalid:
            return no_op_action(self._env), INVALID
        return self._expert.act(observation)


def no_op_action(env) -> np.ndarray:
    """An action that asks the robot to stay as it is, in ``env``'s action space (the
    environment's own ``no_op_action()``, part of a family's contract)."""
    return np.asarray(env.unwrapped.no_op_action() if hasattr(env, "unwrapped") else env.no_op_action())
