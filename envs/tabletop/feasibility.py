"""Feasibility of a long-horizon chain on the realised physical start, not only the symbolic one.

A symbolic state says where each block is (``table``, ``slider_left``, ...); the simulator then
places it somewhere in that region. Some placements make a task impossible for any policy: a block
so far under the cabinet that the hand cannot come down over it without the wrist meeting the
sliding door, a block pressed against the light switch, a push with no free desk. Checks here look
at the realised start (after ``env.reset``) and say whether a chain can be done from it:

- every block on the desk rests on the desk (or its stack) and touches no furniture;
- no block on the desk lies in the strip under the cabinet's sliding door (``DOOR_STRIP_Y``): a
  chain may move the door over it, and the hand coming down there meets the door's lower edge;
- a push later in a chain is judged on the start too, so the pushed block must lie where the start
  put it: no earlier task of the chain moves it or puts a block on the desk (``stack_block``,
  ``unstack_block``); ``envs.tabletop.tasks.feasible`` then says whether the push has room;
- where a pushed block comes to rest depends on the push, so no later task of the chain may move
  it or build on it (nor put a block in the drawer a push filled).

Chains of a released suite are drawn once with these checks and pinned (``tracks.py``); a test
re-checks the pins.
"""

from __future__ import annotations

from collections.abc import Sequence

from envs.tabletop.scenes import BLOCK_COLOURS
from envs.tabletop.state import SymbolicState
from envs.tabletop.tasks import TASKS, feasible, push_into_drawer_block

DESK_PLACING = frozenset({"stack_block", "unstack_block"})  # tasks that set a block down on the desk
# metres: a block whose centre lies behind this line (closer to the cabinet) can sit under the
# sliding door, whose lower edge (3 cm above the desk) is then where the hand must come down. Measured
# in scene D with the scripted expert, a block placed under the door (4 x positions, 2 headings):
# rotations succeeded in 16 of 16 starts at y = -0.05 and in 7 of 16 at y = -0.04.
DOOR_STRIP_Y = -0.045


def _moves(task_name: str, colour: str, state: SymbolicState) -> bool:
    """Whether ``task_name``, done from ``state``, moves or builds on the block ``colour``."""
    task = TASKS[task_name]
    if task.block == colour:
        return True
    if task_name in ("place_in_slider", "place_in_drawer"):
        return state.grasped == colour
    if task_name == "stack_block":  # the held block, and the desk block it goes onto (chains.effect)
        from envs.tabletop.chains import effect

        return state.grasped == colour or effect(task_name, state).block(state.grasped) == f"on_{colour}"
    if task_name == "unstack_block":
        return state.stacked is not None and colour in state.stacked
    return False


def chain_infeasibility(env, start: SymbolicState, chain: Sequence[str]) -> str | None:
    """Why ``chain`` cannot be done from the realised start ``env`` was just reset to, or None."""
    from envs.tabletop.chains import effect

    sim = env.sim
    snapshot = sim.snapshot()
    for colour in BLOCK_COLOURS:
        where = start.block(colour)
        if where == "table" or where.startswith("on_"):
            below = "table" if where == "table" else f"block_{where[3:]}"
            others = set(snapshot.touching[colour]) - {"table", below} - {f"block_{c}" for c in BLOCK_COLOURS}
            if others:
                return f"the {colour} block touches {sorted(others)}"
            if snapshot.block_pos[colour][1] > DOOR_STRIP_Y:
                return f"the {colour} block lies in the strip under the cabinet's sliding door"
    state = start
    for index, name in enumerate(chain):
        task = TASKS[name]
        if task.category in ("push_block", "push_into_drawer") and index > 0:
            earlier = chain[:index]
            if any(t in DESK_PLACING for t in earlier):
                return f"{name} follows a task that sets a block down on the desk"
            pushed = [task.block] if task.block else [c for c in BLOCK_COLOURS if start.block(c) == "table"]
            replay = start
            for t in earlier:
                if any(_moves(t, c, replay) for c in pushed):
                    return f"{name} follows {t}, which moves a block it may push"
                replay = effect(t, replay)
        if task.category in ("push_block", "push_into_drawer"):
            if not feasible(task, snapshot, sim.scene):
                return f"{name} has no room on the realised start"
            # where a pushed block comes to rest depends on the push: no later task may need it
            pushed = task.block or push_into_drawer_block(snapshot, sim.scene)
            replay = effect(name, state)
            for later in chain[index + 1 :]:
                if _moves(later, pushed, replay) or (name == "push_into_drawer" and later == "place_in_drawer"):
                    return f"{later} follows {name} and needs the pushed block (or the drawer it filled)"
                replay = effect(later, replay)
        state = effect(name, state)
    return None
