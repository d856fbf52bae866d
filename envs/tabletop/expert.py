"""Scripted expert for the play table: solves every task from privileged simulator state.

At reset the expert plans a list of waypoints for the task from the true scene state (block poses,
handle positions); at each step it moves the TCP towards the current waypoint with CALVIN-style
relative actions, so its demonstrations live in the same action space as a learned policy's.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from envs.tabletop.env import TabletopEnv
from envs.tabletop.feasibility import DOOR_STRIP_Y
from envs.tabletop.scenes import BLOCK_COLOURS, CABINET_Y
from envs.tabletop.state import HOME_TCP, HOME_YAW, TABLE_X, TABLE_Y
from envs.tabletop.tasks import PUSHER_ROOM, Task, footprint_y, push_into_drawer_block
from envs.utils.conventions import MAX_REL_ORN, MAX_REL_POS
from envs.utils.rotations import mat_to_euler, rotvec_from_mat, topdown_mat

POS_TOLERANCE = 0.008  # metres
ROT_TOLERANCE = 0.06  # radians
GRIPPER_WAIT = 8  # control steps for the fingers to close or open
WAYPOINT_TIMEOUT = 45  # control steps before giving up on reaching a waypoint
REPLANS = 2  # fresh plans after the first, when a plan ran out with the task not done
APPROACH_HEIGHT = 0.1  # metres above a grasp point
ROTATE_ANGLE = np.deg2rad(80)  # radians the block is turned for a rotate task
ROTATE_LIFT = 0.05  # metres the block is raised while it is turned
PUSH_DISTANCE = 0.17  # metres a block is pushed
PUSH_SPEED = 0.4  # of the largest step: a block pushed off the desk drops instead of flying
# the TCP sits this far above a block's centre when grasping: the pads reach 9 mm below the TCP
GRASP_OFFSET = 0.004  # metres
MAX_GRASP_WIDTH = 0.07  # metres: widest block side the fingers close across reliably
WIDE_GRASP_COST = 0.35  # radians of palm misalignment a grasp across the wider side is worth
# metres in front of the cabinet where the palm turns to point into it: more than half the palm
CABINET_STANDOFF = 0.12


@dataclass
class Waypoint:
    pos: np.ndarray  # metres, world frame
    yaw: float  # radians, heading of the top-down gripper
    gripper_open: bool
    tolerance: float = POS_TOLERANCE
    wait: int = 0  # control steps to hold the pose once reached
    timeout: int = WAYPOINT_TIMEOUT
    speed: float = 1.0  # fraction of the largest relative step; pushes go slower so blocks do not fly


class ScriptedExpert:
    """Privileged scripted policy: ``reset()`` after the env's reset, then ``act()`` each step.

    When the scene does not allow the task (a chain left no stack to unstack, say), the plan only
    returns home and the expert then holds still: the task fails, the expert does not crash. When a
    plan runs out and the task is not done (a pushed block that turned on its corner and slid
    aside), it goes home and plans again from the scene as it is now, up to ``REPLANS`` times.
    """

    def __init__(self, env):
        self.env: TabletopEnv = env.unwrapped
        self.plan: list[Waypoint] = []

    def reset(self, instruction: str | None = None) -> None:
        env = self.env
        if env.sim is None:
            raise RuntimeError("reset the environment before the expert")
        # the task's own waypoints are planned once the hand is home: in a chain, what the last
        # task moved (a block riding in a drawer just pulled open) has settled by then
        self.plan = _return_home(env)
        self._home_steps = len(self.plan)  # where the task's own waypoints begin
        self._planned = False
        self._replans = 0
        self._index = 0
        self._steps_here = 0
        self._held = 0

    def act(self, observation=None) -> np.ndarray:
        sim = self.env.sim
        env = self.env
        exhausted = self._index >= len(self.plan) and self._planned and len(self.plan) > self._home_steps
        if exhausted and self._replans < REPLANS and not env.task.check(env._start, sim.snapshot()):
            self._replans += 1
            self.plan += _return_home(env)
            self._planned = False
        if self._index >= len(self.plan) and not self._planned:
            self._home_steps = len(self.plan)
            self.plan += _plan(env)
            self._planned = True
        if self._index >= len(self.plan):
            return np.r_[np.zeros(6), 1.0 if self.plan and self.plan[-1].gripper_open else -1.0]
        wp = self.plan[self._index]
        pos, mat = sim.arm.tcp_pose(sim.data)
        target = topdown_mat(wp.yaw)
        pos_error = wp.pos - pos
        rot_error = rotvec_from_mat(target @ mat.T)
        reached = np.linalg.norm(pos_error) < wp.tolerance and np.linalg.norm(rot_error) < ROT_TOLERANCE
        self._steps_here += 1
        if reached:
            self._held += 1
        if (reached and self._held > wp.wait) or self._steps_here > wp.timeout + wp.wait:
            self._index += 1
            self._steps_here = 0
            self._held = 0
        action = np.zeros(7)
        action[:3] = np.clip(pos_error / MAX_REL_POS, -wp.speed, wp.speed)
        action[3:6] = np.clip(mat_to_euler(target @ mat.T) / MAX_REL_ORN, -1, 1)
        action[6] = 1.0 if wp.gripper_open else -1.0
        return action


# --- planning ---------------------------------------------------------------------------------
def _block_yaw(mat: np.ndarray) -> float:
    return float(np.arctan2(mat[1, 0], mat[0, 0]))


def _grasp_yaw(block_yaw: float, half_extents, turn: float = 0.0, palm_heading: float = HOME_YAW) -> float:
    """Gripper heading for a top-down grasp of a block.

    The fingers may close across the block's y axis, or across its x axis when that side fits the
    gripper's stroke. Of those headings (each repeats every pi) the one that keeps the palm
    closest to lying along the desk's x axis through a turn of ``turn`` radians is chosen: it
    keeps the palm clear of the cabinet and the wrist joint inside its range.
    """
    # (heading, cost): a grasp across the block's wider x side holds less surely, so it is only
    # chosen when it turns the palm clearly closer to the wanted heading
    bases = [(block_yaw, 0.0)]
    if 2 * half_extents[0] < MAX_GRASP_WIDTH:
        bases.append((block_yaw + np.pi / 2, WIDE_GRASP_COST))
    candidates = [(b + k * np.pi, cost) for b, cost in bases for k in range(-2, 3)]
    return min(candidates, key=lambda c: abs(c[0] + turn / 2 - palm_heading) + c[1])[0]


def _pick(pos: np.ndarray, yaw: float, lift: float = 0.1) -> list[Waypoint]:
    above = pos + [0, 0, APPROACH_HEIGHT]
    grasp = pos + [0, 0, GRASP_OFFSET]
    return [
        Waypoint(above, yaw, True, tolerance=0.02),
        Waypoint(grasp, yaw, True, tolerance=0.006),
        Waypoint(grasp, yaw, False, wait=GRIPPER_WAIT, tolerance=0.02),
        Waypoint(grasp + [0, 0, lift], yaw, False, tolerance=0.015),
    ]


def _stroke(start, end, approach, retreat, start_tolerance=0.008, end_tolerance=0.01, speed=1.0) -> list[Waypoint]:
    """Move the closed gripper, palm along the desk's x axis, from ``start`` to ``end`` (a push, a
    pull with the fingers hooked behind a handle, a slide): come in from ``start + approach`` and
    leave to ``end + retreat``."""
    return [
        Waypoint(start + np.asarray(approach), HOME_YAW, False, tolerance=0.02),
        Waypoint(start, HOME_YAW, False, tolerance=start_tolerance),
        Waypoint(end, HOME_YAW, False, tolerance=end_tolerance, speed=speed),
        Waypoint(end + np.asarray(retreat), HOME_YAW, False),
    ]


def _release(pos: np.ndarray, yaw: float) -> list[Waypoint]:
    return [
        Waypoint(pos, yaw, False, tolerance=0.008),
        Waypoint(pos, yaw, True, wait=GRIPPER_WAIT, tolerance=0.03),
        Waypoint(pos + [0, 0, APPROACH_HEIGHT], yaw, True, tolerance=0.02),
    ]


def _held_block(sim) -> str | None:
    snapshot = sim.snapshot()
    return next((c for c in BLOCK_COLOURS if snapshot.held(c)), None)


def _return_home(env: TabletopEnv) -> list[Waypoint]:
    """Rise clear of whatever the hand is in, then go to the home pose: every plan starts from
    there, so a task that follows another in a chain starts like a task after a reset."""
    sim = env.sim
    tcp, tcp_mat = sim.arm.tcp_pose(sim.data)
    if np.linalg.norm(tcp - HOME_TCP) < 0.03:
        return []
    holding = any(sim.snapshot().held(c) for c in BLOCK_COLOURS)
    up = np.array([tcp[0], tcp[1], max(tcp[2], HOME_TCP[2])])
    return [
        Waypoint(up, _block_yaw(tcp_mat), not holding, tolerance=0.03),
        Waypoint(HOME_TCP.copy(), HOME_YAW, not holding, tolerance=0.03),
    ]


def _plan(env: TabletopEnv) -> list[Waypoint]:
    """The task's waypoints from the scene as it is now: the planner of the task's name, else of its
    category (``PLANNERS``)."""
    task = env.task
    planner = PLANNERS.get(task.name) or PLANNERS.get(task.category)
    if planner is None:
        raise ValueError(f"the scripted expert has no plan for task {task.name!r}")
    return planner(env.sim, task)


def _rotate_block(sim, task) -> list[Waypoint]:
    pos, mat = sim.block_pose(task.block)
    half = sim.scene.half_extents(task.block)
    turn = ROTATE_ANGLE if task.name.endswith("left") else -ROTATE_ANGLE
    g = _grasp_yaw(_block_yaw(mat), half, turn)
    # turn it in the air, high enough that the sweeping palm clears the cabinet's door handle
    return [
        *_pick(pos, g, lift=ROTATE_LIFT),
        Waypoint(pos + [0, 0, GRASP_OFFSET + ROTATE_LIFT], g + turn, False, tolerance=0.01),
        *_release(pos + [0, 0, GRASP_OFFSET + 0.005], g + turn),
    ]


def _lift_block(sim, task) -> list[Waypoint]:
    pos, mat = sim.block_pose(task.block)
    half = sim.scene.half_extents(task.block)
    yaw = _block_yaw(mat)
    if task.name.endswith("slider"):
        g = _grasp_yaw(yaw, half, palm_heading=0.0)
        # reach into the cabinet from the front, below its roof
        front = np.array([pos[0], sim.cabinet_front_y - CABINET_STANDOFF, pos[2] + 0.08])
        inside = np.array([pos[0], pos[1], pos[2] + 0.08])
        return [
            Waypoint(front, g, True, tolerance=0.02),
            Waypoint(inside, g, True, tolerance=0.01),
            *_pick(pos, g, lift=0.07)[1:],
        ]
    return _pick(pos, _grasp_yaw(yaw, half), lift=0.1)


def _push_block(sim, task) -> list[Waypoint]:
    pos, mat = sim.block_pose(task.block)
    half = sim.scene.half_extents(task.block)
    yaw = _block_yaw(mat)
    sign = 1 if task.name.endswith("right") else -1
    extent = abs(half[0] * np.cos(yaw)) + abs(half[1] * np.sin(yaw))
    start = np.array([pos[0] - sign * (extent + 0.03), pos[1], 0.018])
    end = start + [sign * (PUSH_DISTANCE + 0.0), 0, 0]
    # the palm along x keeps it clear of the cabinet behind; the leading finger pushes
    return _stroke(start, end, approach=[0, 0, 0.08], retreat=[0, 0, 0.08])


def _move_slider(sim, task) -> list[Waypoint]:
    handle = sim.geom_pos("slider_handle")
    sign = 1 if task.name.endswith("left") else -1  # +1: push the handle towards -x
    side = handle + [sign * 0.035, -0.005, -0.005]
    end = side - [sign * 0.2, 0, 0]
    return _stroke(side, end, approach=[0, 0, 0.1], retreat=[0, -0.1, 0])


def _open_drawer(sim, task) -> list[Waypoint]:
    handle = sim.geom_pos("drawer_handle")
    hook = handle + [0, 0.028, 0.005]
    pulled = hook - [0, 0.16, 0]
    return _stroke(hook, pulled, approach=[0, 0, 0.1], retreat=[0, 0, 0.12], start_tolerance=0.006)


def _close_drawer(sim, task) -> list[Waypoint]:
    handle = sim.geom_pos("drawer_handle")
    start = handle + [0, -0.03, 0.0]
    end = start + [0, sim.joint("drawer") + 0.01, 0]
    return _stroke(start, end, approach=[0, 0, 0.1], retreat=[0, -0.05, 0.12])


def _holding(sim) -> tuple[str, np.ndarray, Waypoint] | None:
    """For a task that puts the held block somewhere: the block, its half extents and the first
    waypoint, lifting it straight up; None with nothing in the hand (say, it was dropped earlier in
    a chain): no plan."""
    held = _held_block(sim)
    if held is None:
        return None
    tcp, tcp_mat = sim.arm.tcp_pose(sim.data)
    return held, sim.scene.half_extents(held), Waypoint(tcp + [0, 0, 0.05], _block_yaw(tcp_mat), False, tolerance=0.02)


def _place_in_slider(sim, task) -> list[Waypoint]:
    if (holding := _holding(sim)) is None:
        return []
    _, half, lift = holding
    side = sim.open_compartment()
    x = sim.compartment_x(side)
    z = sim.slider_surface_z() + half[2] + GRASP_OFFSET + 0.01
    front = np.array([x, sim.cabinet_front_y - CABINET_STANDOFF, z + 0.06])
    inside = np.array([x, CABINET_Y - 0.03, z])
    # the palm points into the compartment, which is barely wider than the palm is long
    return [
        lift,
        Waypoint(front, 0.0, False, tolerance=0.02),
        Waypoint(inside + [0, 0, 0.06], 0.0, False, tolerance=0.01),
        *_release(inside, 0.0)[:2],
        Waypoint(front, 0.0, True),
    ]


def _place_in_drawer(sim, task) -> list[Waypoint]:
    if (holding := _holding(sim)) is None:
        return []
    _, half, lift = holding
    floor = sim.geom_pos("drawer_floor")
    target = np.array([floor[0], floor[1] - 0.07, sim.drawer_surface_z() + half[2] + GRASP_OFFSET + 0.01])
    return [lift, Waypoint(target + [0, 0, 0.12], HOME_YAW, False, tolerance=0.02), *_release(target, HOME_YAW)]


def _stack_block(sim, task) -> list[Waypoint]:
    """Onto the first block on the desk, in colour order, with nothing on it (as chains.effect assumes)."""
    if (holding := _holding(sim)) is None:
        return []
    held, half, lift = holding
    snapshot = sim.snapshot()

    def free_top(c: str) -> bool:
        return not any(
            f"block_{c}" in snapshot.touching[o] and snapshot.block_pos[o][2] > snapshot.block_pos[c][2] + 0.015
            for o in BLOCK_COLOURS
            if o not in (c, held)
        )

    base = next((c for c in BLOCK_COLOURS if c != held and snapshot.resting_on(c, "table") and free_top(c)), None)
    if base is None:
        return []
    base_pos, base_mat = sim.block_pose(base)
    base_half = sim.scene.half_extents(base)
    target = base_pos + [0, 0, base_half[2] + half[2] + GRASP_OFFSET + 0.008]
    yaw = _grasp_yaw(_block_yaw(base_mat), base_half)
    return [lift, Waypoint(target + [0, 0, 0.08], yaw, False, tolerance=0.01), *_release(target, yaw)]


def _push_into_drawer(sim, task) -> list[Waypoint]:
    snapshot = sim.snapshot()
    colour = push_into_drawer_block(snapshot, sim.scene)
    if colour is None:
        return []
    pos, _ = sim.block_pose(colour)
    start = np.array([pos[0], pos[1] + footprint_y(snapshot, sim.scene, colour) + PUSHER_ROOM - 0.01, 0.018])
    # just far enough that the block tips over the desk edge and drops into the middle of the drawer
    end = np.array([pos[0], -0.16, 0.018])
    return _stroke(start, end, approach=[0, 0, 0.08], retreat=[0, 0, 0.1], speed=PUSH_SPEED)


def _unstack_block(sim, task) -> list[Waypoint]:
    """Take the top block of a stack and set it down on a free spot of the desk."""
    snapshot = sim.snapshot()
    top = next(
        (
            c
            for c in BLOCK_COLOURS
            if any(
                f"block_{b}" in snapshot.touching[c] and snapshot.block_pos[b][2] < snapshot.block_pos[c][2]
                for b in BLOCK_COLOURS
            )
        ),
        None,
    )
    if top is None:
        return []
    pos, mat = sim.block_pose(top)
    half = sim.scene.half_extents(top)
    g = _grasp_yaw(_block_yaw(mat), half)
    spot = _free_spot(snapshot, sim.scene, top)
    down = np.array([spot[0], spot[1], half[2] + GRASP_OFFSET + 0.006])
    return [*_pick(pos, g, lift=0.06), Waypoint(down + [0, 0, 0.06], g, False, tolerance=0.015), *_release(down, g)]


def _lightbulb(sim, task) -> list[Waypoint]:
    knob = sim.body_pos("switch")
    sign = 1 if task.name == "turn_on_lightbulb" else -1  # +1: push the knob away from the robot
    start = np.array([knob[0], knob[1] - sign * 0.03, 0.03])
    travel = (0.08 - sim.joint("switch")) if sign > 0 else sim.joint("switch")
    end = start + [0, sign * (travel + 0.005), 0]
    # travel low and in front of the knob: the switch stands beside the cabinet, and a wrist
    # passing high over the desk's back would hit the cabinet's side
    front = np.array([knob[0], knob[1] - 0.06, 0.11])
    return [
        Waypoint(front, HOME_YAW, False, tolerance=0.02),
        *_stroke(start, end, [0, 0, 0.08], [0, 0, 0.08], start_tolerance=0.006, end_tolerance=0.006),
    ]


def _led(sim, task) -> list[Waypoint]:
    """Press the button (either way: it toggles)."""
    button = sim.geom_pos("button")
    top = button[2] + sim.model.geom("button").size[1]
    press = np.array([button[0], button[1], top + 0.009 - 0.014])
    return [
        Waypoint(press + [0, 0, 0.08], HOME_YAW, False, tolerance=0.02),
        Waypoint(press, HOME_YAW, False, tolerance=0.004, wait=2),
        Waypoint(press + [0, 0, 0.1], HOME_YAW, False),
    ]


# task name or task category -> planner (sim, task) -> waypoints; a name is looked up first, so a
# category can have a default and named exceptions
PLANNERS: dict[str, Callable[[Any, Task], list[Waypoint]]] = {
    "rotate_block": _rotate_block,
    "lift_block": _lift_block,
    "push_block": _push_block,
    "move_slider": _move_slider,
    "open_drawer": _open_drawer,
    "close_drawer": _close_drawer,
    "place_in_slider": _place_in_slider,
    "place_in_drawer": _place_in_drawer,
    "stack_block": _stack_block,
    "push_into_drawer": _push_into_drawer,
    "unstack_block": _unstack_block,
    "lightbulb": _lightbulb,
    "led": _led,
}


def _free_spot(snapshot, scene, moving: str) -> np.ndarray:
    """A place on the desk away from the other blocks and fixtures, for setting a block down."""
    others = [snapshot.block_pos[c][:2] for c in BLOCK_COLOURS if c != moving]
    others += [np.array(scene.button_xy), np.array(scene.switch_xy)]
    start = snapshot.block_pos[moving][:2]
    best, best_score = None, -np.inf
    for x in np.linspace(*TABLE_X, 15):
        for y in np.linspace(TABLE_Y[0], DOOR_STRIP_Y - 0.015, 4):  # never under the sliding door
            spot = np.array([x, y])
            clearance = min(np.linalg.norm(spot - o) for o in others)
            score = min(clearance, 0.16) - 0.1 * np.linalg.norm(spot - start)
            if clearance > 0.11 and score > best_score:
                best, best_score = spot, score
    return best if best is not None else start + np.array([0.0, -0.05])
