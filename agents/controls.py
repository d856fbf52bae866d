"""Scripted controls that never look: how much of a task is solvable without seeing anything.

``NoOpAgent`` (``--agent noop``) keeps the robot as it is every step; ``ReplayAgent`` (``--agent
replay --set data=PATH``) replays, open-loop, the mean demonstration action sequence of the
episode's task from a dataset written by ``gr-bench collect``. A task either of them solves often
rewards a memorised motion, not perception (``scripts/blind_controls.py``, docs/blind_controls.md).
The image-blanking control for any policy is ``agents/blind.py`` (``--set blind=true``).

Both are ``privileged`` only to receive the environment (``bind``), as the oracle does, and read
nothing of it but its ``no_op_action()`` (the action that keeps the robot as it is, part of every
family's contract); they ignore observations and the task the evaluator binds, so the evaluator
also skips rendering for them.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from agents.data.lerobot_format import ACTION_KEY, read_episodes, read_frames, read_info

TASK_NAME_COLUMN = "task_name"  # gr-bench's task name per episode, in meta/episodes (as agents.data.windows)
UNKNOWN_INSTRUCTION = ("nearest", "error")  # what ReplayAgent does with an instruction its dataset never had


def _no_op(env) -> np.ndarray:
    return np.asarray(env.unwrapped.no_op_action() if hasattr(env, "unwrapped") else env.no_op_action())


class NoOpAgent:
    """The robot stays as it is every step: it returns the environment's own ``no_op_action()``.

    It reads nothing: no observation, no instruction, no state; the environment is bound only so
    that it can ask for the no-op action (which, for a joint-position robot, is its current joint
    targets)."""

    privileged = True  # to be given the environment (bind); it reads only env.no_op_action()

    def __init__(self):
        self._env = None

    def bind(self, env, task: str, instruction_category: str) -> None:
        self._env = env  # the task and category are ignored

    def reset(self, instruction: str) -> None:
        if self._env is None:
            raise RuntimeError("the no-op control needs the environment: the evaluator calls bind() before reset()")

    def act(self, observation: dict[str, Any]) -> np.ndarray:
        return _no_op(self._env)


class ReplayAgent:
    """The mean demonstration action sequence of the instruction's task, replayed open-loop.

    From the dataset at ``data`` (LeRobot v3, written by ``gr-bench collect``: each episode's task
    name in meta/episodes' ``task_name``, its instruction in ``tasks``): per task, the action at
    step t is the mean over the task's demonstrations that last longer than t, for t below the
    median demonstration length; after that the agent holds the environment's no-op action.

    The task is found from the instruction alone, through the dataset's own instruction -> task
    table (every instruction of every episode; an instruction recorded for several tasks goes to
    the one with most episodes). An instruction the dataset never had: with
    ``unknown_instruction="nearest"`` (the default) the known instruction sharing the most words
    with it (Jaccard similarity of lower-case word sets, each word weighted by its inverse frequency
    among the dataset's instructions, so object names count more than a phrasing's template words;
    ties to the earliest in the dataset) names the task, as a reader of the request would; with
    ``"error"`` the episode fails with one line.

    Privileged only to receive the environment for its no-op action (``bind``); it ignores the task
    the evaluator binds and every observation.
    """

    privileged = True  # to be given the environment (bind); it reads only env.no_op_action()

    def __init__(self, data: str | None = None, unknown_instruction: str = "nearest"):
        if not data:
            raise ValueError("the replay control needs a dataset: --set data=PATH (a dataset of gr-bench collect)")
        if unknown_instruction not in UNKNOWN_INSTRUCTION:
            raise ValueError(f"unknown_instruction must be one of {UNKNOWN_INSTRUCTION}, got {unknown_instruction!r}")
        self.data = str(data)
        self.unknown_instruction = unknown_instruction
        self.sequences, self.lengths, self.instructions = load_mean_sequences(data)
        self._env = None
        self._sequence: np.ndarray | None = None
        self._step = 0
        self.task: str | None = None  # the task the current instruction was read as
        self.matched: str | None = None  # the dataset instruction it was matched to

    def bind(self, env, task: str, instruction_category: str) -> None:
        self._env = env  # the task and category are ignored: the task comes from the instruction

    def reset(self, instruction: str) -> None:
        self.task, self.matched = self.task_of(instruction)
        self._sequence = self.sequences[self.task]
        self._step = 0

    def task_of(self, instruction: str) -> tuple[str, str]:
        """(task, the dataset instruction it was read from) for ``instruction``."""
        text = " ".join(instruction.split()).lower()
        if text in self.instructions:
            return self.instructions[text], text
        if self.unknown_instruction == "error":
            raise ValueError(
                f"instruction {instruction!r} is not in the replay dataset {self.data} "
                f"({len(self.instructions)} instructions of {len(self.sequences)} tasks); "
                "--set unknown_instruction=nearest reads it as the closest one"
            )
        words = _words(text)
        weight = self._idf()
        best = max(self.instructions, key=lambda known: _jaccard(words, _words(known), weight))  # max keeps the first
        return self.instructions[best], best

    def _idf(self) -> dict[str, float]:
        """Each word's inverse document frequency over the dataset's instructions (rare words, such as
        object names, weigh more than the words of a phrasing template)."""
        if not hasattr(self, "_idf_cache"):
            counts: dict[str, int] = {}
            for known in self.instructions:
                for word in _words(known):
                    counts[word] = counts.get(word, 0) + 1
            n = len(self.instructions)
            self._idf_cache = {word: math.log((1 + n) / (1 + c)) + 1.0 for word, c in counts.items()}
        return self._idf_cache

    def act(self, observation: dict[str, Any]) -> np.ndarray:
        if self._sequence is None:
            raise RuntimeError("reset() before act()")
        step, self._step = self._step, self._step + 1
        if step < len(self._sequence):
            return self._sequence[step].copy()
        if self._env is None:
            raise RuntimeError("the replay control holds the no-op after its sequence: bind() gives it the environment")
        return _no_op(self._env)


def load_mean_sequences(
    root: str | Path, keep: Callable[[int], bool] | None = None
) -> tuple[dict[str, np.ndarray], dict[str, list[int]], dict[str, str]]:
    """From a ``gr-bench collect`` dataset: task -> its mean action sequence (median length, float64),
    task -> its demonstrations' lengths, and normalised instruction -> task. ``keep(episode_index)``
    selects the demonstrations (all by default; e.g. one half, to check a screen on the other)."""
    root = Path(root)
    if not root.is_dir():
        raise ValueError(f"the replay dataset {root} is not a folder (--set data=PATH: a dataset of gr-bench collect)")
    info = read_info(root)
    if ACTION_KEY not in info["features"]:
        raise ValueError(f"the replay dataset {root} records no {ACTION_KEY!r} feature")
    episodes = read_episodes(root)
    if any(TASK_NAME_COLUMN not in e for e in episodes):
        raise ValueError(
            f"the replay dataset {root} does not record gr-bench task names (no {TASK_NAME_COLUMN!r} in meta/episodes)"
        )
    frames = read_frames(root, info, ["index", "episode_index", ACTION_KEY])
    demos: dict[str, list[np.ndarray]] = {}
    votes: dict[str, dict[str, int]] = {}
    for episode in episodes:
        if keep is not None and not keep(int(episode["episode_index"])):
            continue
        rows = slice(int(episode["dataset_from_index"]), int(episode["dataset_to_index"]))
        if not np.all(frames["episode_index"][rows] == episode["episode_index"]):
            raise ValueError(f"{root}: episode {episode['episode_index']} is not where meta/episodes says")
        task = episode[TASK_NAME_COLUMN]
        demos.setdefault(task, []).append(frames[ACTION_KEY][rows].astype(np.float64))
        for text in episode.get("tasks") or []:
            counts = votes.setdefault(" ".join(str(text).split()).lower(), {})
            counts[task] = counts.get(task, 0) + 1
    sequences = {task: mean_sequence(runs) for task, runs in demos.items()}
    lengths = {task: [len(r) for r in runs] for task, runs in demos.items()}
    instructions = {text: max(counts, key=lambda t: counts[t]) for text, counts in votes.items()}
    if not instructions:
        raise ValueError(f"the replay dataset {root} records no instructions (meta/episodes 'tasks')")
    return sequences, lengths, instructions


def mean_sequence(runs: list[np.ndarray]) -> np.ndarray:
    """Per time step the mean of the runs that last that long, for the median run length (rounded
    down to a whole step; at least 1)."""
    if not runs:
        raise ValueError("no demonstrations to average")
    length = max(1, int(np.median([len(r) for r in runs])))
    width = runs[0].shape[1:]
    total, count = np.zeros((length, *width)), np.zeros(length)
    for run in runs:
        n = min(len(run), length)
        total[:n] += run[:n]
        count[:n] += 1
    return total / count.reshape(-1, *([1] * len(width)))


def _words(text: str) -> frozenset[str]:
    return frozenset(re.findall(r"[a-z0-9]+", text.lower()))


def _jaccard(a: frozenset[str], b: frozenset[str], weight: dict[str, float]) -> float:
    """Weighted Jaccard similarity of two word sets (a word the dataset never had weighs the most)."""
    top = max(weight.values(), default=1.0)
    union = sum(weight.get(w, top) for w in a | b)
    return sum(weight.get(w, top) for w in a & b) / union if union else 0.0
