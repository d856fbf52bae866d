"""The 34 CALVIN tasks: preconditions on the symbolic state and success oracles on simulator state.

An oracle compares the snapshot taken when the task started with the current one, as CALVIN's task
checker does. Thresholds follow CALVIN's: 60 degrees of rotation, 10 cm of pushing, 15 cm of
slider travel, 12 cm of drawer travel, 5 cm of lift.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from envs.errors import unknown_name_error
from envs.tabletop.scenes import BLOCK_COLOURS
from envs.tabletop.sim import SceneSnapshot
from envs.tabletop.state import SymbolicState
from envs.utils.rotations import mat_to_euler

ROTATE_MIN = np.deg2rad(60)  # radians about the vertical
ROTATE_MAX_TILT = np.deg2rad(30)  # radians about the horizontal axes
PUSH_MIN = 0.10  # metres along x
SLIDER_MIN = 0.15  # metres of door travel
DRAWER_MIN = 0.12  # metres of drawer travel
LIFT_MIN = 0.05  # metres up
STACK_MIN_HEIGHT = 0.02  # metres: the top block's centre above the bottom one's

Oracle = Callable[[SceneSnapshot, SceneSnapshot], bool]
Precondition = Callable[[SymbolicState], bool]


@dataclass(frozen=True)
class Task:
    name: str
    category: str  # one of CALVIN's 11 task groups; a chain never repeats a group
    precondition: Precondition = field(repr=False)
    success: Oracle = field(repr=False)
    # colour of the block the task is about, when it names one
    block: str | None = None

    def check(self, start: SceneSnapshot, now: SceneSnapshot) -> bool:
        return bool(self.success(start, now))


def _idle(state: SymbolicState) -> bool:
    return state.grasped is None


# --- oracles ----------------------------------------------------------------------------------
def _rotated(colour: str, sign: int) -> Oracle:
    def success(start: SceneSnapshot, now: SceneSnapshot) -> bool:
        relative = now.block_mat[colour] @ start.block_mat[colour].T
        tilt_x, tilt_y, yaw = mat_to_euler(relative)
        upright = abs(tilt_x) < ROTATE_MAX_TILT and abs(tilt_y) < ROTATE_MAX_TILT
        on_table = "table" in now.touching[colour] and not now.held(colour)
        return upright and on_table and sign * yaw > ROTATE_MIN

    return success


def _pushed(colour: str, sign: int) -> Oracle:
    def success(start: SceneSnapshot, now: SceneSnapshot) -> bool:
        dx = now.block_pos[colour][0] - start.block_pos[colour][0]
        on_table = "table" in now.touching[colour] and not now.held(colour)
        return "table" in start.touching[colour] and on_table and sign * dx > PUSH_MIN

    return success


def _slider_moved(sign: int) -> Oracle:
    return lambda start, now: sign * (now.slider - start.slider) > SLIDER_MIN


def _drawer_moved(sign: int) -> Oracle:
    return lambda start, now: sign * (now.drawer - start.drawer) > DRAWER_MIN


def _lifted(colour: str, surface: str) -> Oracle:
    def success(start: SceneSnapshot, now: SceneSnapshot) -> bool:
        was_on = surface in start.touching[colour] and "gripper" not in start.touching[colour]
        rise = now.block_pos[colour][2] - start.block_pos[colour][2]
        return was_on and now.held(colour) and rise > LIFT_MIN

    return success


def _placed(surface: str) -> Oracle:
    def success(start: SceneSnapshot, now: SceneSnapshot) -> bool:
        return any(start.held(c) and now.resting_on(c, surface) for c in BLOCK_COLOURS)

    return success


def _pushed_into_drawer(start: SceneSnapshot, now: SceneSnapshot) -> bool:
    return any(
        "table" in start.touching[c] and not start.held(c) and "drawer" in now.touching[c] and not now.held(c)
        for c in BLOCK_COLOURS
    )


def _stack_pairs(snapshot: SceneSnapshot) -> set[tuple[str, str]]:
    """(top, bottom) pairs where the top block rests on the bottom one and nothing else."""
    pairs = set()
    for top in BLOCK_COLOURS:
        for bottom in BLOCK_COLOURS:
            if top == bottom or f"block_{bottom}" not in snapshot.touching[top]:
                continue
            above = snapshot.block_pos[top][2] - snapshot.block_pos[bottom][2] > STACK_MIN_HEIGHT
            supported_only_by_blocks = not (snapshot.touching[top] - {f"block_{c}" for c in BLOCK_COLOURS})
            if above and supported_only_by_blocks:
                pairs.add((top, bottom))
    return pairs


def _stacked(start: SceneSnapshot, now: SceneSnapshot) -> bool:
    return bool(_stack_pairs(now) - _stack_pairs(start))


def _unstacked(start: SceneSnapshot, now: SceneSnapshot) -> bool:
    for top, bottom in _stack_pairs(start):
        apart = f"block_{bottom}" not in now.touching[top]
        if apart and not now.held(top) and now.touching[top] and "gripper" not in now.touching[top]:
            return True
    return False


def _light(attribute: str, value: int) -> Oracle:
    return lambda start, now: getattr(start, attribute) != value and getattr(now, attribute) == value


# --- the task list ---------------------------------------------------------------------------
def _build_tasks() -> dict[str, Task]:
    tasks: list[Task] = []
    for colour in BLOCK_COLOURS:
        on_table = lambda s, c=colour: _idle(s) and s.block(c) == "table" and s.free_top(c)  # noqa: E731
        for direction, sign in (("left", 1), ("right", -1)):
            tasks.append(
                Task(f"rotate_{colour}_block_{direction}", "rotate_block", on_table, _rotated(colour, sign), colour)
            )
        for direction, sign in (("left", -1), ("right", 1)):
            tasks.append(
                Task(f"push_{colour}_block_{direction}", "push_block", on_table, _pushed(colour, sign), colour)
            )
    tasks += [
        Task("move_slider_left", "move_slider", lambda s: _idle(s) and s.slider == "right", _slider_moved(1)),
        Task("move_slider_right", "move_slider", lambda s: _idle(s) and s.slider == "left", _slider_moved(-1)),
        Task("open_drawer", "drawer", lambda s: _idle(s) and s.drawer == "closed", _drawer_moved(1)),
        Task("close_drawer", "drawer", lambda s: _idle(s) and s.drawer == "open", _drawer_moved(-1)),
    ]
    for surface, location in (("table", "table"), ("slider", "slider_"), ("drawer", "drawer")):
        for colour in BLOCK_COLOURS:

            def pre(s: SymbolicState, c=colour, loc=location) -> bool:
                return _idle(s) and s.block(c).startswith(loc) and s.reachable(c)

            tasks.append(Task(f"lift_{colour}_block_{surface}", "lift_block", pre, _lifted(colour, surface), colour))
    tasks += [
        Task(
            "place_in_slider",
            "place_block",
            lambda s: s.grasped is not None and s.open_compartment_free,
            _placed("slider"),
        ),
        Task(
            "place_in_drawer", "place_block", lambda s: s.grasped is not None and s.drawer == "open", _placed("drawer")
        ),
        Task(
            "push_into_drawer",
            "push_into_drawer",
            lambda s: (
                _idle(s) and s.drawer == "open" and any(s.block(c) == "table" and s.free_top(c) for c in BLOCK_COLOURS)
            ),
            _pushed_into_drawer,
        ),
        Task(
            "stack_block",
            "stack_block",
            lambda s: s.grasped is not None and any(s.block(c) == "table" and s.free_top(c) for c in BLOCK_COLOURS),
            _stacked,
        ),
        Task("unstack_block", "unstack_block", lambda s: _idle(s) and s.stacked is not None, _unstacked),
        Task("turn_on_lightbulb", "lightbulb", lambda s: _idle(s) and s.lightbulb == 0, _light("lightbulb", 1)),
        Task("turn_off_lightbulb", "lightbulb", lambda s: _idle(s) and s.lightbulb == 1, _light("lightbulb", 0)),
        Task("turn_on_led", "led", lambda s: _idle(s) and s.led == 0, _light("led", 1)),
        Task("turn_off_led", "led", lambda s: _idle(s) and s.led == 1, _light("led", 0)),
    ]
    return {t.name: t for t in tasks}


TASKS: dict[str, Task] = _build_tasks()


def get_task(name: str) -> Task:
    if name not in TASKS:
        raise unknown_name_error("task", name, TASKS)
    return TASKS[name]


# --- geometric feasibility of a sampled initial state -----------------------------------------
DESK_HALF_WIDTH = 0.43  # metres, usable half width of the desk top
PUSH_TRAVEL = 0.24  # metres of free desk a push needs beyond the block
LANE_HALF_WIDTH = 0.07  # metres


def _lane_clear(
    snapshot: SceneSnapshot, scene, colour: str, x_range: tuple[float, float], y_range: tuple[float, float]
) -> bool:
    lo_x, hi_x = x_range
    lo_y, hi_y = y_range
    obstacles = [np.array(scene.button_xy), np.array(scene.switch_xy)]
    obstacles += [snapshot.block_pos[c][:2] for c in BLOCK_COLOURS if c != colour]
    return not any(lo_x - 0.06 < o[0] < hi_x + 0.06 and lo_y - 0.06 < o[1] < hi_y + 0.06 for o in obstacles)


def feasible(task: Task, snapshot: SceneSnapshot, scene) -> bool:
    """Whether a physical initial state leaves room to do the task (beyond its precondition)."""
    if task.category == "push_block":
        x, y = snapshot.block_pos[task.block][:2]
        sign = 1 if task.name.endswith("right") else -1
        end = x + sign * PUSH_TRAVEL
        if abs(end) > DESK_HALF_WIDTH:
            return False
        return _lane_clear(
            snapshot, scene, task.block, (min(x, end), max(x, end)), (y - LANE_HALF_WIDTH, y + LANE_HALF_WIDTH)
        )
    if task.name == "push_into_drawer":
        return push_into_drawer_block(snapshot, scene) is not None
    return True


PUSHER_ROOM = 0.035  # metres behind a block for the closed fingers to stand before pushing it
DOOR_HANDLE_FRONT_Y = 0.0  # metres: the cabinet door's handle reaches forward to about this line


def footprint_y(snapshot: SceneSnapshot, scene, colour: str) -> float:
    """Half the block's extent along the desk's y axis, metres."""
    half = scene.half_extents(colour)
    mat = snapshot.block_mat[colour]
    return float(abs(half[0] * mat[1, 0]) + abs(half[1] * mat[1, 1]))


def push_into_drawer_block(snapshot: SceneSnapshot, scene) -> str | None:
    """A block on the desk, in line with the open drawer, with room behind it for the fingers
    (clear of the cabinet door) and a clear way to the desk's edge."""
    for colour in BLOCK_COLOURS:
        x, y = snapshot.block_pos[colour][:2]
        if not snapshot.resting_on(colour, "table") or abs(x - scene.drawer_x) > 0.06:
            continue
        if y + footprint_y(snapshot, scene, colour) + PUSHER_ROOM > DOOR_HANDLE_FRONT_Y:
            continue
        if _lane_clear(snapshot, scene, colour, (x - 0.03, x + 0.03), (-0.2, y - 0.04)):
            return colour
    return None
