"""Long-horizon task chains, CALVIN-style: sampled on the symbolic state so every task in a chain
is possible when its turn comes, with no task group repeated in a chain.

Each task's effect on the symbolic state is written here; the evaluator runs the chain in one
episode and checks every subtask with the same oracles as single tasks.

`long-horizon` v1/v2 leave the pushes out (``CHAIN_TASKS``): whether one can succeed depends on
where the blocks lie, which the symbolic state does not know. From v3 every task may appear
(``ALL_CHAIN_TASKS``), and a chain is kept only when it is feasible on the realised start
(``envs.tabletop.feasibility``): candidates (``candidate``) are tried in a fixed order (``infeasibility``),
and the candidate it settles on is pinned in ``chains_v3.json``, so that building the suite needs
no simulation.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from envs.episodes import keyed_rng, keyed_seed
from envs.tabletop.scenes import BLOCK_COLOURS
from envs.tabletop.state import InitialStateError, SymbolicState, sample_symbolic_state
from envs.tabletop.tasks import TASKS

CHAIN_LENGTH = 5
# whether these succeed depends on where blocks happen to lie, which the symbolic state does not
# know (a push needs free desk beside the block, push_into_drawer a block in line with the drawer)
GEOMETRY_DEPENDENT = frozenset(
    name for name, task in TASKS.items() if task.category in ("push_block", "push_into_drawer")
)
CHAIN_TASKS = tuple(sorted(set(TASKS) - GEOMETRY_DEPENDENT))
ALL_CHAIN_TASKS = tuple(sorted(TASKS))
MAX_CANDIDATES = 64  # candidate chains tried per pinned chain
V3_KEY = "long-horizon-v3"


def effect(task_name: str, state: SymbolicState) -> SymbolicState:
    """The symbolic state after ``task_name`` succeeds from ``state``."""
    task = TASKS[task_name]
    held = state.grasped
    if task.category == "move_slider":
        return replace(state, slider="left" if task_name.endswith("left") else "right")
    if task.category == "drawer":
        return replace(state, drawer="open" if task_name == "open_drawer" else "closed")
    if task.category == "lightbulb":
        return replace(state, lightbulb=int(task_name == "turn_on_lightbulb"))
    if task.category == "led":
        return replace(state, led=int(task_name == "turn_on_led"))
    if task.category == "lift_block":
        return replace(state, **{task.block: "grasped"})
    if task_name == "place_in_slider":
        return replace(state, **{held: f"slider_{'left' if state.slider == 'right' else 'right'}"})
    if task_name == "place_in_drawer":
        return replace(state, **{held: "drawer"})
    if task_name == "stack_block":
        # the scripted expert stacks onto the first free block on the desk, in colour order
        base = next(c for c in BLOCK_COLOURS if c != held and state.block(c) == "table" and state.free_top(c))
        return replace(state, **{held: f"on_{base}"})
    if task_name == "unstack_block":
        top, _ = state.stacked
        return replace(state, **{top: "table"})
    return state  # rotations leave the symbolic state as it was


def sample_chain(
    rng: np.random.Generator, length: int = CHAIN_LENGTH, tasks: tuple[str, ...] = CHAIN_TASKS
) -> tuple[SymbolicState, tuple[str, ...]]:
    """An initial symbolic state and a chain of ``length`` of ``tasks``, each possible in turn."""
    while True:
        start = sample_symbolic_state(rng)
        state, chain, groups = start, [], set()
        for _ in range(length):
            options = [t for t in tasks if TASKS[t].category not in groups and TASKS[t].precondition(state)]
            if not options:
                break
            name = str(rng.choice(options))
            chain.append(name)
            groups.add(TASKS[name].category)
            state = effect(name, state)
        if len(chain) == length:
            return start, tuple(chain)


@dataclass(frozen=True)
class Candidate:
    """Candidate ``k`` for chain ``index`` of a v3 protocol: its start, tasks, scene and seed."""

    start: SymbolicState
    tasks: tuple[str, ...]
    scene: str
    seed: int


def candidate(protocol: str, index: int, k: int, scenes: tuple[str, ...]) -> Candidate:
    """The ``k``-th candidate chain for chain ``index`` of ``protocol`` (scenes to draw from)."""
    rng = keyed_rng(V3_KEY, protocol, index, k)
    start, chain = sample_chain(rng, tasks=ALL_CHAIN_TASKS)
    scene = scenes[int(rng.integers(len(scenes)))]
    return Candidate(start, chain, scene, keyed_seed(V3_KEY, protocol, index, k))


def realise(env, chain: Candidate):
    """``env`` reset to the chain's realised start, as the evaluator resets it."""
    return env.reset(
        seed=chain.seed,
        options={"task": chain.tasks[0], "scene": chain.scene, "initial_state": chain.start.as_dict()},
    )


def infeasibility(env, chain: Candidate) -> str | None:
    """Why ``chain`` cannot be done from its realised start (``env`` is reset to it), or None."""
    from envs.tabletop.feasibility import chain_infeasibility

    try:
        realise(env, chain)
    except InitialStateError:  # the first task has no realisable start from this symbolic state
        return "the env finds no start for the first task"
    return chain_infeasibility(env, chain.start, chain.tasks)
