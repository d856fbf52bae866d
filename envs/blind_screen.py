"""A counter-measure for blind-solvable tasks: initial states that no blind control solves.

A task that a control which never looks solves often (docs/blind_controls.md: the robot kept still,
or the task's mean demonstration motion replayed open-loop) rewards a memorised motion. For the
episodes of such tasks, ``screen_episodes`` keeps the episode's own seed where no blind control
solves it and the scripted expert does, and otherwise draws the first keyed seed
(``keyed_seed("blind-screen", episode_id, k)``) that passes: the scenes, tasks, instructions and
variations stay; only the initial state moves to where looking is needed.

Meant for a track builder of the next suite version: run it once, pin the seeds it chose in the
track (a screen costs simulation: up to three rollouts per candidate), and test that it still
chooses them. The open-loop sequences come from the caller (a family's pinned mean demonstration
sequences), so nothing here reads a dataset.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import replace
from typing import Any

import numpy as np

from envs.episodes import Episode, keyed_seed

SCREEN_KEY = "blind-screen"
ATTEMPTS = 16  # candidate seeds per episode (its own first)


def reset_episode(env, episode: Episode):
    """``env`` reset to ``episode``'s first task, as the evaluator resets it."""
    options: dict[str, Any] = {"task": episode.tasks[0], "scene": episode.scene, "instruction": episode.instructions[0]}
    if episode.initial_state is not None:
        options["initial_state"] = episode.initial_state
    if episode.variations:
        options["variations"] = episode.variations
    return env.reset(seed=episode.seed, options=options)


def _budget(env, episode: Episode) -> int:
    return episode.max_steps if episode.max_steps is not None else int(env.max_steps)


def open_loop_solves(env, episode: Episode, actions: np.ndarray | None = None) -> bool:
    """Whether ``actions`` (one per step, then the environment's no-op; None: the no-op throughout)
    solve ``episode``'s first task within its step budget, never looking."""
    reset_episode(env, episode)
    for step in range(_budget(env, episode)):
        action = actions[step] if actions is not None and step < len(actions) else env.no_op_action()
        _, _, terminated, truncated, info = env.step(action)
        if terminated:
            return bool(info.get("success", True))
        if truncated:
            break
    return False


def expert_solves(env, episode: Episode) -> bool:
    """Whether the family's scripted expert solves ``episode``'s first task within its budget."""
    from envs.family import family_of

    obs, _ = reset_episode(env, episode)
    expert = family_of(env).expert_class()(env)
    expert.reset(episode.instructions[0])
    for _ in range(_budget(env, episode)):
        output = expert.act(obs)
        action = output[0] if isinstance(output, tuple) else output
        obs, _, terminated, truncated, info = env.step(action)
        if terminated:
            return bool(info.get("success", True))
        if truncated:
            break
    return False


def _motions(value) -> list[np.ndarray]:
    """A task's open-loop sequences: one array (steps, action), or several."""
    if isinstance(value, np.ndarray) and value.ndim == 2:
        return [value]
    return [np.asarray(v) for v in value]


def blind_solves(env, episode: Episode, sequences: Mapping[str, Any]) -> list[str]:
    """The blind controls that solve ``episode``: ``noop``, and ``replay`` where one of the task's
    open-loop sequences in ``sequences`` (an array, or a list of arrays) does."""
    solved = ["noop"] if open_loop_solves(env, episode) else []
    task = episode.tasks[0]
    if any(open_loop_solves(env, episode, motion) for motion in _motions(sequences.get(task, []))):
        solved.append("replay")
    return solved


def screen_episodes(
    episodes: Iterable[Episode],
    flagged: Iterable[str],
    sequences: Mapping[str, Any],
    make_env: Callable[[str], Any],
    *,
    attempts: int = ATTEMPTS,
    require_expert: bool = True,
    close: bool = True,
) -> tuple[list[Episode], list[dict[str, Any]]]:
    """``episodes`` with every episode of a ``flagged`` task moved to an initial state that no blind
    control solves (and, with ``require_expert``, that the scripted expert solves).

    ``sequences``: task -> the open-loop action sequence of the replay control (the mean
    demonstration), or several (e.g. the means of disjoint folds of the demonstrations: a state
    that no mean motion solves); ``make_env(env_id)``: a camera-less environment. Returns the episodes (others
    unchanged, order kept) and one log entry per screened episode: its id, the seed chosen, the
    candidates tried and what rejected each (``noop``, ``replay``, ``expert``). Where no candidate
    passes in ``attempts``, the episode keeps its own seed and the log says ``passed: False``."""
    if attempts < 1:
        raise ValueError(f"attempts must be at least 1, got {attempts}")
    flagged = set(flagged)
    envs: dict[str, Any] = {}
    out, log = [], []
    for episode in episodes:
        if len(episode.tasks) != 1 or episode.tasks[0] not in flagged:
            out.append(episode)
            continue
        env = envs.get(episode.env_id) or envs.setdefault(episode.env_id, make_env(episode.env_id))
        entry: dict[str, Any] = {"episode_id": episode.episode_id, "rejected": [], "passed": False}
        chosen = episode
        for k in range(attempts):
            candidate = episode if k == 0 else replace(episode, seed=keyed_seed(SCREEN_KEY, episode.episode_id, k))
            reasons = blind_solves(env, candidate, sequences)
            if not reasons and require_expert and not expert_solves(env, candidate):
                reasons = ["expert"]
            if not reasons:
                chosen, entry["passed"] = candidate, True
                break
            entry["rejected"].append({"seed": candidate.seed, "by": reasons})
        entry["seed"] = chosen.seed
        log.append(entry)
        out.append(chosen)
    if close:  # False: the caller's make_env lends an environment it closes itself
        for env in envs.values():
            env.close()
    return out, log


def unscreened_tasks(episodes: Iterable[Episode], log: Iterable[Mapping[str, Any]]) -> list[str]:
    """The tasks with an episode the screen could not move to a blind-failing state (``passed``
    False in its log): there the blind success is set by the scene, not the initial state, and the
    counter-measure is to report the task beside the headline rather than in it
    (docs/blind_controls.md)."""
    failed = {entry["episode_id"] for entry in log if not entry["passed"]}
    tasks: list[str] = []
    for episode in episodes:
        if episode.episode_id in failed and episode.tasks[0] not in tasks:
            tasks.append(episode.tasks[0])
    return tasks
