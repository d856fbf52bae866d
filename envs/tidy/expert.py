"""Scripted whole-body expert for table tidying: solves every tidy task from privileged state.

For each object still to move (nearest first) it drives the base along the table until the arm on
the destination's side stands in front of the object, reaches above it, comes down, grasps, lifts,
drives to the destination, lowers the object over it and lets go; then it checks what happened and
tries again if the object slipped or missed. It commands the robot like any agent: end-effector
actions (base velocities, relative tool motions), turned into GR-3's joint targets when the
environment runs in ``joint`` mode, so its demonstrations live in the environment's action space.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field

import numpy as np

from envs.robots.bytemini import BASE_MAX_SPEED, SIDES, grasp_orientation
from envs.tidy.env import BASE_X, HOME_CLOSING, HOME_TCP, TidyEnv
from envs.tidy.objects import CLUTTER, KINDS, MIN_GRASP_HEIGHT
from envs.tidy.scenes import DESTINATIONS, TABLE_TOP_Z
from envs.utils.conventions import MAX_REL_ORN, MAX_REL_POS
from envs.utils.rotations import mat_to_euler, rotvec_from_mat

SHOULDER_Y = 0.21  # metres: each shoulder's offset from the base's centre line (bytemini.xml)
TRANSIT_Z = TABLE_TOP_Z + 0.27  # metres: the tool centre point's height when travelling
PRE_GRASP = 0.07  # metres above the grasp point where the descent slows down
DROP_CLEARANCE = 0.04  # metres between a held object's underside and a container's rim
BASE_GAIN = 2.5  # 1/s: base speed per metre of error
BASE_TOLERANCE = 0.01  # metres
ARM_TOLERANCE = 0.01  # metres
ROT_TOLERANCE = 0.08  # radians
GRIPPER_WAIT = 6  # control steps for the fingers to close or open
WAYPOINT_TIMEOUT = 60  # control steps before giving up on reaching a waypoint
MAX_ATTEMPTS = 3  # per object
UPRIGHT = 0.8  # cosine of the tilt beyond which an object counts as lying on its side
FINGER_REACH = 0.08  # metres from the grasp point to the outside of an open finger
# where successive objects are let go over a container, metres from its centre (x, y)
DROP_SPOTS = {
    "tub": [(-0.07, -0.06), (0.07, 0.06), (0.07, -0.06), (-0.07, 0.06), (0.0, 0.0)],
    "bin": [(0.0, 0.0), (-0.05, 0.05), (0.05, -0.05)],
    "tray": [(0.0, 0.0), (-0.07, 0.0), (0.07, 0.0)],
}


@dataclass
class ArmTarget:
    pos: np.ndarray  # metres, in the frame below
    closing: float  # radians: heading of the fingers' closing axis, in the frame below
    frame: str = "world"  # world, or base: the target moves with the base
    open_: bool = True


@dataclass
class Waypoint:
    base_y: float  # metres: where the base should stand along the table (x and yaw stay fixed)
    arms: dict[str, ArmTarget]
    active: str | None = None  # the arm whose target must be reached; None: only the base
    tolerance: float = ARM_TOLERANCE
    wait: int = 0  # control steps to hold once reached
    timeout: int = WAYPOINT_TIMEOUT
    speed: float = 1.0  # fraction of the largest relative step
    steps: int = field(default=0, repr=False)
    held: int = field(default=0, repr=False)


class TidyExpert:
    """Privileged scripted policy: ``reset()`` after the env's reset, then ``act()`` each step.

    An invalid request, or a task it has finished, leaves it holding still."""

    def __init__(self, env):
        self.env: TidyEnv = env.unwrapped
        self._script: Iterator[Waypoint] | None = None
        self._waypoint: Waypoint | None = None

    def reset(self, instruction: str | None = None) -> None:
        if self.env.sim is None:
            raise RuntimeError("reset the environment before the expert")
        self._dropped: Counter = Counter()
        self._script = self._tidy(list(self.env.goals))
        self._waypoint = next(self._script, None)
        self._hold = self._home()

    # --- acting ----------------------------------------------------------------------------
    def act(self, observation=None) -> np.ndarray:
        if self._script is None:
            raise RuntimeError("call reset() before act()")
        wp = self._waypoint
        while wp is not None and self._advance(wp):
            wp = self._waypoint = next(self._script, None)
        return self._action(wp or self._hold)

    def _advance(self, wp: Waypoint) -> bool:
        """Whether ``wp`` is done (reached and held, or timed out)."""
        wp.steps += 1
        if self._reached(wp):
            wp.held += 1
        return wp.held > wp.wait or wp.steps > wp.timeout + wp.wait

    def _reached(self, wp: Waypoint) -> bool:
        sim = self.env.sim
        if abs(sim.robot.base_pose(sim.data)[1] - wp.base_y) > BASE_TOLERANCE:
            return False
        if wp.active is None:
            return True
        pos, mat = sim.robot.arms[wp.active].tcp_pose(sim.data)
        want_pos, want_mat = self._world_target(wp.arms[wp.active])
        rot_error = np.linalg.norm(rotvec_from_mat(want_mat @ mat.T))
        return np.linalg.norm(want_pos - pos) < wp.tolerance and rot_error < ROT_TOLERANCE

    def _world_target(self, target: ArmTarget) -> tuple[np.ndarray, np.ndarray]:
        mat = grasp_orientation(target.closing)
        if target.frame == "world":
            return target.pos, mat
        origin, rot = self.env.sim.robot.base_frame(self.env.sim.data)
        return origin + rot @ target.pos, rot @ mat

    def _action(self, wp: Waypoint) -> np.ndarray:
        env, sim = self.env, self.env.sim
        x, y, yaw = sim.robot.base_pose(sim.data)
        _, rot = sim.robot.base_frame(sim.data)
        world_velocity = BASE_GAIN * np.array([BASE_X - x, wp.base_y - y])
        base = np.r_[rot[:2, :2].T @ world_velocity, BASE_GAIN * -yaw]
        ee = np.zeros(17)
        ee[:3] = np.clip(base, -0.8 * BASE_MAX_SPEED, 0.8 * BASE_MAX_SPEED)
        for i, side in enumerate(SIDES):
            target = wp.arms[side]
            want_pos, want_mat = self._world_target(target)
            pos, mat = sim.robot.arms[side].tcp_pose(sim.data)
            move = rot.T @ (want_pos - pos) / MAX_REL_POS
            turn = mat_to_euler(rot.T @ want_mat @ mat.T @ rot) / MAX_REL_ORN
            ee[3 + 6 * i : 6 + 6 * i] = np.clip(move, -wp.speed, wp.speed)
            ee[6 + 6 * i : 9 + 6 * i] = np.clip(turn, -1.0, 1.0)
            ee[15 + i] = 1.0 if target.open_ else -1.0
        if env.action_mode == "ee":
            return ee
        return np.r_[ee[:3], env.joint_targets(ee), ee[15:]]

    # --- planning --------------------------------------------------------------------------
    def _home(self, arms: dict[str, ArmTarget] | None = None, base_y: float | None = None) -> Waypoint:
        """Both arms at home over the table's edge, moving with the base; ``arms`` overrides."""
        sim = self.env.sim
        targets = {side: ArmTarget(HOME_TCP[side], HOME_CLOSING, frame="base") for side in SIDES}
        targets.update(arms or {})
        y = sim.robot.base_pose(sim.data)[1] if base_y is None else base_y
        return Waypoint(float(y), targets)

    def _tidy(self, goals: list[tuple[str, str]]) -> Iterator[Waypoint]:
        attempts: Counter = Counter()
        while goals:
            kind, dest = self._nearest(goals)
            if self._placed(kind) == dest or attempts[kind] >= MAX_ATTEMPTS or not self._on_table(kind):
                goals.remove((kind, dest))
                continue
            attempts[kind] += 1
            side = "left" if self.env.sim.destination_xy(dest)[1] >= self.env.sim.object_pose(kind)[0][1] else "right"
            yield from self._pick(kind, side)
            if self._held(kind):
                yield from self._place(kind, dest, side)
        yield self._home()

    def _nearest(self, goals: list[tuple[str, str]]) -> tuple[str, str]:
        y = self.env.sim.robot.base_pose(self.env.sim.data)[1]
        return min(goals, key=lambda g: abs(self.env.sim.object_pose(g[0])[0][1] - y))

    def _reach(self, side: str, point: np.ndarray, closing: float, base_y: float, open_: bool, **settings) -> Waypoint:
        """A waypoint for one arm's tool centre point (world frame), the other arm at home."""
        wp = self._home({side: ArmTarget(point, closing, open_=open_)}, base_y)
        wp.active = side
        for key, value in settings.items():
            setattr(wp, key, value)
        return wp

    def _pick(self, kind: str, side: str) -> Iterator[Waypoint]:
        grasp = self._grasp_point(kind)
        closing = self._closing_heading(kind, grasp, side)
        base_y = grasp[1] - (SHOULDER_Y if side == "left" else -SHOULDER_Y)
        transit = np.array([grasp[0], grasp[1], TRANSIT_Z])
        yield self._home(base_y=base_y)
        yield self._reach(side, transit, closing, base_y, True, tolerance=0.02)
        yield self._reach(side, grasp + [0, 0, PRE_GRASP], closing, base_y, True, tolerance=0.015)
        yield self._reach(side, grasp, closing, base_y, True, tolerance=0.006, speed=0.5)
        yield self._reach(side, grasp, closing, base_y, False, wait=GRIPPER_WAIT, tolerance=0.02)
        yield self._reach(side, transit, closing, base_y, False, tolerance=0.03)

    def _place(self, kind: str, dest: str, side: str) -> Iterator[Waypoint]:
        spots = DROP_SPOTS[dest]
        spot = self.env.sim.destination_xy(dest) + spots[self._dropped[dest] % len(spots)]
        self._dropped[dest] += 1
        # the object hangs below the fingers by its grasp height; let go just above the rim
        drop = np.array([*spot, DESTINATIONS[dest].rim_z + KINDS[kind].grasp_height + DROP_CLEARANCE])
        above = np.array([*spot, max(drop[2], TRANSIT_Z - 0.05)])
        base_y = spot[1] - (SHOULDER_Y if side == "left" else -SHOULDER_Y)
        closing = self._held_closing(side)  # carried objects keep their heading
        yield self._home({side: ArmTarget(HOME_TCP[side], closing, frame="base", open_=False)}, base_y)
        yield self._reach(side, above, closing, base_y, False, tolerance=0.02)
        yield self._reach(side, drop, closing, base_y, False, tolerance=0.02)
        yield self._reach(side, drop, closing, base_y, True, tolerance=0.02, wait=GRIPPER_WAIT)
        yield self._reach(side, above + [0, 0, 0.05], closing, base_y, True, tolerance=0.03)

    def _grasp_point(self, kind: str) -> np.ndarray:
        """Where the tool centre point closes: at the grasp height above the underside of an upright
        object; at the centre of a round one, or of one lying on its side."""
        pos, mat = self.env.sim.object_pose(kind)
        spec = KINDS[kind]
        if spec.rolls or mat[2, 2] < UPRIGHT:
            com = self.env.sim.object_com(kind)
            return np.array([com[0], com[1], max(com[2], TABLE_TOP_Z + MIN_GRASP_HEIGHT)])
        return pos + mat @ [0.0, 0.0, spec.grasp_height]

    def _held_closing(self, side: str) -> float:
        """The current heading of an arm's closing axis, world frame."""
        _, mat = self.env.sim.robot.arms[side].tcp_pose(self.env.sim.data)
        return float(np.arctan2(mat[1, 1], mat[0, 1]))

    def _closing_heading(self, kind: str, grasp: np.ndarray, side: str) -> float:
        """Heading of the fingers' closing axis for a top-down grasp: across a long object; for a
        round one, the heading whose open fingers keep furthest from the neighbours. Of the two
        headings half a turn apart (the same for a parallel gripper) the one nearer the hand's."""
        sim = self.env.sim
        current = self._held_closing(side)
        if KINDS[kind].long_axis:
            _, mat = sim.object_pose(kind)
            heading = np.arctan2(mat[1, 1], mat[0, 1])  # the object's y axis
        else:
            neighbours = [(sim.object_pose(k)[0][:2], KINDS[k].footprint) for k in sim.objects if k != kind]
            neighbours += [(np.array([c.x, c.y]), CLUTTER[c.kind].footprint) for c in sim.clutter]

            def clearance(h: float) -> float:
                axis = np.array([np.cos(h), np.sin(h)])
                fingers = [grasp[:2] + s * FINGER_REACH * axis for s in (-1, 1)]
                return min([np.linalg.norm(f - c) - r for f in fingers for c, r in neighbours], default=1.0)

            headings = np.linspace(0, np.pi, 12, endpoint=False)
            # enough clearance is enough; then the least turn of the wrist
            scores = [min(clearance(h), 0.08) - 0.01 * abs(_wrap(h - current)) for h in headings]
            heading = headings[int(np.argmax(scores))]
        return float(current + _wrap(heading - current))

    # --- checks on simulator state ---------------------------------------------------------
    def _held(self, kind: str) -> bool:
        snapshot = self.env.sim.snapshot()
        return snapshot.held(kind) and snapshot.com[kind][2] > TABLE_TOP_Z + 0.05

    def _placed(self, kind: str) -> str | None:
        return self.env.sim.snapshot().placed_in(kind)

    def _on_table(self, kind: str) -> bool:
        snapshot = self.env.sim.snapshot()
        return "table" in snapshot.touching[kind] and snapshot.inside[kind] is None


def _wrap(angle: float) -> float:
    """An angle of a parallel gripper's closing axis, brought into [-pi/2, pi/2)."""
    return (angle + np.pi / 2) % np.pi - np.pi / 2
