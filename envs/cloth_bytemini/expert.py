"""Scripted bimanual expert for ByteMini's cloth tasks, planning from privileged particle positions.

It plans as the Panda's expert (``envs.cloth.expert``: the same choice of which vertex goes where)
and moves with two hands where a task has two corners to carry:

- ``flatten``: undo the start's random folds, last first (one pick-and-place by the hand on the
  pick's side, left: +y, the other waiting at home), then pull edge vertices far from a rigid fit of
  the flat garment, one per side of the centre line with both hands at once where both sides' edges
  lie off the fit (``two_hand_pulls``), until normalised coverage passes the threshold with a margin.
- ``fold_in_half``: among the folds whose corners a hand can pinch (``choose_fold``: a pinch
  beyond reach closes on nothing, a place beyond it only lands short), the one with the shortest
  carry of those whose two corners lie one on each hand's side (any where none does); both hands
  take the moving part's two corners at once and lay them on their mirror vertices together (the
  flap turns over as one), or one at a time where the base must strafe for either; a corner an
  earlier carry moved beyond reach is left out; then, where a soft flap still lies short, one hand
  lays its worst edge vertex down.
- ``fold_diagonally``: the one corner, pinched where it lies nearest the robot and laid on the far
  corner by the hand on the far corner's side (a hand reaches far only on its own side).
- ``hang``: the Panda expert's plan (``envs.cloth.expert.HangPlan``: pinch the middle, lift, carry
  the column across the bar low enough that the bar catches it, balance it across, let go) by the
  hand on the rack's side (left), the other waiting at home.
- invalid requests: hold still.

A hand that stops getting closer to its waypoint (at the edge of its reach) counts as there. The
base stands at the table's edge and cannot come closer, but it strafes: a hand reaches farthest
forward 0.2 m to its own side (``REACH``, measured), so where a carry's picks or places lie less than
3 cm inside what their hands reach from where the base started, the base moves sideways for the
pinch to where they lie deepest inside, and on along the carry to where the places do; otherwise it
stays (or goes back to) where it started. A closing hand follows its vertex until it holds it (the
cloth creeps a few mm between a plan and its pinch; the closed pads take only a vertex within about
3 mm of where they meet, ``envs.cloth_bytemini.sim``). A pinch that closes on nothing drops the rest
of its carry and plans again at once (a hang, which has one attempt, then holds still); flatten
pulls no vertex a pinch missed, and none whose pick or place lies beyond the farthest reach.

It commands the robot like any agent: end-effector motions turned into GR-3's joint targets when
the environment runs in ``joint`` mode (as the tidying expert), so its demonstrations live in the
environment's action space.
"""

from __future__ import annotations

from collections.abc import Callable, Set
from dataclasses import dataclass, field

import numpy as np

from envs.cloth.expert import (
    ARC_HEIGHT,
    ARC_POINTS,
    HANG_LOWER,
    HANG_SETTLE,
    HANG_SPEED,
    HANG_TIMEOUT,
    MAX_FIXES,
    STRETCH,
    FlattenSchedule,
    HangPlan,
    carry_distance,
    fit_flat,
    flatten_pull,
    fold_corners,
    fold_fix,
)
from envs.cloth_bytemini.env import HOME_CLOSING, HOME_TCP
from envs.cloth_bytemini.sim import TABLE_Z
from envs.robots.bytemini import SIDES, grasp_orientation
from envs.utils.conventions import MAX_REL_ORN, MAX_REL_POS
from envs.utils.rotations import mat_to_euler, rotvec_from_mat

CLOSING = 0.0  # radians: the fingers close along world x throughout
POS_TOLERANCE = 0.01  # metres
ROT_TOLERANCE = 0.1  # radians
GRIPPER_WAIT = 4  # control steps for the fingers to close or open
TIMEOUT = 50  # control steps before giving up on a waypoint
STALL_STEPS = 8  # ... or once every hand it moves has come less than STALL_DISTANCE closer in this many steps
STALL_DISTANCE = 0.002  # metres (a hand held at the edge of its reach: the unreachable rest is skipped)
APPROACH_Z = TABLE_Z + 0.08  # metres: the tool centre point above a pick or place point
GRASP_Z = TABLE_Z + 0.024  # ... for a pinch: the pads reach 22 mm past it (bytemini.xml)
PLACE_Z = TABLE_Z + 0.045  # ... where a carried vertex is let go
CARRY_SPEED = 0.7  # of the largest step, carrying cloth
PULL_AT_LEAST = 0.02  # metres off the flat fit: an edge worth a hand's pull in a two-hand flatten step
# How far forward (base frame, m) the left hand's tool centre point gets at pinch height, by how far
# to its side (base frame y, m; the right hand's mirrored): measured by driving it at a far aim (the
# lift at 0.1 m): farthest 0.2 m to its own side, 7.9 cm less 0.1 m across the robot's centre line.
REACH = (
    np.array([-0.10, 0.0, 0.10, 0.20, 0.25, 0.30, 0.35, 0.40, 0.45]),
    np.array([0.676, 0.721, 0.746, 0.755, 0.754, 0.749, 0.740, 0.727, 0.710]),
)
REACH_MARGIN = 0.03  # metres inside the measured reach: where a hand gets to its aim without the base
PINCH_STEPS = 3  # waypoints of ``pinch`` at the start of ``carry``'s
PLACE_STEPS = 3  # ... and of laying down and leaving at its end
PINCH_MARGIN = 0.01  # metres inside the measured reach for a pinch (pinches closer to its edge missed)
REACH_SLACK = 0.01  # metres short of the farthest reach: where flatten pulls no vertex from or to
BASE_SHIFT = 0.3  # metres: the farthest the base strafes from where it starts
BASE_GAIN = 10.0  # 1/s: strafing speed per metre off the base's aim
BASE_SPEED = 0.3  # m/s: strafing at most
BASE_TOLERANCE = 0.01  # metres: the base is where a waypoint wants it


@dataclass
class Hand:
    """One hand's aim in a waypoint: world position (None: stay where it is; or a function of the
    hand's position and the particles, followed every step), gripper, and the vertex it follows
    across (a pinch aims at where that vertex lies now)."""

    pos: np.ndarray | Callable[[np.ndarray, np.ndarray], np.ndarray] | None
    open_: bool
    vertex: int | None = None


@dataclass
class Waypoint:
    hands: dict[str, Hand]  # side -> aim; a side not named waits at home, open
    tolerance: float = POS_TOLERANCE
    across: float | None = None  # a pinch: reached when this close across and ``tolerance`` in height
    wait: int = 0
    speed: float = 1.0
    until: Callable[[np.ndarray], bool] | None = None  # also done (at once) when this is true of the particles
    timeout: int = TIMEOUT  # control steps before giving up on it (past its wait)
    stall: bool = True  # a hand that stops getting closer counts as there (off: an aim that moves with the hand)
    base: float | None = None  # where the base stands (world y, m) for it; None: where it stands now
    grasps: bool = False  # a pinch's closing: a hand that closed on nothing drops the rest of the plan
    steps: int = field(default=0, repr=False)
    held: int = field(default=0, repr=False)
    errors: list = field(default_factory=list, repr=False)  # the hands' largest distance to their aims, per step


class ClothByteMiniExpert:
    """Privileged scripted policy: ``reset()`` after the env's reset, then ``act()`` each step."""

    def __init__(self, env):
        self.env = env.unwrapped
        self.plan: list[Waypoint] = []

    def reset(self, instruction: str | None = None) -> None:
        if self.env.sim is None:
            raise RuntimeError("reset the environment before the expert")
        self.plan, self._moves, self._fixes = [], 0, 0  # a hang's moves; a fold's fixes
        self._flatten = FlattenSchedule(self.env)
        self._corners: list[tuple[int, int]] | None = None
        self._fold: str | None = None
        self._carrying: dict[str, int] = {}  # side -> the vertex the carry under way pinches
        self._missed: set[int] = set()  # vertices a pinch closed on nothing at: flatten pulls no more of them
        self._start_base = self.env.sim.robot.base_pose(self.env.sim.data)

    def act(self, observation=None) -> np.ndarray:
        while self.plan and self._done(self.plan[0]):
            done = self.plan.pop(0)
            missed = [side for side in done.hands if done.grasps and not self.env.sim.held(side).size]
            if missed:  # plan again from where the garment lies, and pull elsewhere
                self._missed.update(self._carrying[side] for side in missed if side in self._carrying)
                self.plan = []
        if not self.plan:
            self.plan = self._next_moves()
        if not self.plan:
            return self.env.no_op_action()
        return self._action(self.plan[0])

    # --- following waypoints ---------------------------------------------------------------------
    def _aims(self, wp: Waypoint) -> dict[str, tuple[np.ndarray, np.ndarray, bool]]:
        sim = self.env.sim
        origin, rot = sim.robot.base_frame(sim.data)
        particles = sim.particles()
        aims = {}
        for side in SIDES:
            hand = wp.hands.get(side)
            pos, _ = sim.robot.arms[side].tcp_pose(sim.data)
            if hand is None:
                aim, open_ = origin + rot @ HOME_TCP[side], True
            else:
                if hand.pos is None:
                    hand.pos = pos.copy()
                aim = hand.pos(pos.copy(), particles) if callable(hand.pos) else hand.pos
                aim, open_ = np.array(aim, dtype=float), hand.open_
                holds = not open_ and sim.held(side).size > 0
                if hand.vertex is not None and not holds:  # follow it; a closing hand until it holds it
                    aim[:2] = particles[hand.vertex, :2]
                    if not open_:
                        hand.pos = aim.copy()  # where the hand stays once it holds it
            mat = rot @ grasp_orientation(HOME_CLOSING if hand is None else CLOSING)
            aims[side] = (aim, mat, open_)
        return aims

    def _done(self, wp: Waypoint) -> bool:
        sim = self.env.sim
        wp.steps += 1
        reached = True
        farthest = 0.0
        for side, (aim, mat, _) in self._aims(wp).items():
            if side not in wp.hands:
                continue
            pos, now = sim.robot.arms[side].tcp_pose(sim.data)
            error = aim - pos
            farthest = max(farthest, float(np.linalg.norm(error)))
            close = (
                np.linalg.norm(error) < wp.tolerance
                if wp.across is None
                else np.linalg.norm(error[:2]) < wp.across and abs(error[2]) < wp.tolerance
            )
            reached &= bool(close and np.linalg.norm(rotvec_from_mat(mat @ now.T)) < ROT_TOLERANCE)
        if wp.base is not None:
            off = abs(wp.base - sim.robot.base_pose(sim.data)[1])
            reached &= off < BASE_TOLERANCE
            farthest = max(farthest, off)
        wp.errors.append(farthest)
        if wp.until is not None and wp.until(sim.particles()):
            return True
        stalled = wp.stall and len(wp.errors) > STALL_STEPS and wp.errors[-1 - STALL_STEPS] - farthest < STALL_DISTANCE
        wp.held += reached or stalled  # as close as it gets: a gripper's wait starts there
        return wp.held > wp.wait or wp.steps > wp.timeout + wp.wait

    def _action(self, wp: Waypoint) -> np.ndarray:
        env, sim = self.env, self.env.sim
        _, rot = sim.robot.base_frame(sim.data)
        ee = np.zeros(17)
        if wp.base is not None:  # strafe, holding the base's distance to the table and its heading
            x, y, yaw = sim.robot.base_pose(sim.data)
            aim = np.array([self._start_base[0] - x, wp.base - y])
            ee[:2] = np.clip(rot[:2, :2].T @ (BASE_GAIN * aim), -BASE_SPEED, BASE_SPEED)
            ee[2] = np.clip(-BASE_GAIN * yaw, -BASE_SPEED, BASE_SPEED)
        for i, (side, (aim, mat, open_)) in enumerate(self._aims(wp).items()):
            pos, now = sim.robot.arms[side].tcp_pose(sim.data)
            move = rot.T @ (aim - pos) / MAX_REL_POS
            turn = mat_to_euler(rot.T @ mat @ now.T @ rot) / MAX_REL_ORN
            ee[3 + 6 * i : 6 + 6 * i] = np.clip(move, -wp.speed, wp.speed)
            ee[6 + 6 * i : 9 + 6 * i] = np.clip(turn, -1.0, 1.0)
            ee[15 + i] = 1.0 if open_ else -1.0
        if env.action_mode == "ee":
            return ee
        return np.r_[ee[:3], env.joint_targets(ee), ee[15:]]

    # --- planning ------------------------------------------------------------------------------
    def _next_moves(self) -> list[Waypoint]:
        env = self.env
        task, garment = env.task, env.garment
        particles = env.sim.particles()
        if task.category == "flatten":
            if self._flatten.finished():
                return []
            move = self._flatten.unfold(particles)
            if move is not None:
                pick, place = move
                return self._carry({_side(particles[pick]): (pick, place[:2])}, particles)
            reach = self._start_base[0] + REACH[1].max() - REACH_SLACK
            return self._carry(two_hand_pulls(garment, particles, reach, self._missed), particles)
        if task.category == "hang":
            if self._moves:
                return []  # let go: hold still while it settles
            self._moves += 1
            return hang(HangPlan(particles, env.sim.rack, env.sim.table_z))
        if task.category == "fold":
            if self._corners is None:
                self._fold = choose_fold(garment, task.folds(garment), particles, self._start_base)
                self._corners = fold_corners(garment, self._fold)
                # two corners at once, one per hand, where the fold has two on either side and both
                # hands reach theirs from one place of the base (else one hand at a time, the base strafing)
                pair = _one_per_side(self._corners, particles)
                if pair and reachable([(side, particles[c]) for side, (c, _) in pair.items()], self._start_base):
                    self._corners = [c for c in self._corners if c not in pair.values()]
                    return self._carry({side: (c, particles[o, :2]) for side, (c, o) in pair.items()}, particles)
            while self._corners:  # the next corner a hand reaches now (an earlier carry may have moved it)
                corner, onto = self._corners.pop(0)
                hand = _reach_side(particles[corner], particles[onto])
                if reachable([(hand, particles[corner])], self._start_base):
                    return self._carry({hand: (corner, particles[onto, :2])}, particles)
            fix = None
            if self._fixes < MAX_FIXES:
                fix = fold_fix(garment, self._fold, particles, env.scorer.fold_tolerance)
            if fix is not None:
                self._fixes += 1
                vertex, onto = fix
                return self._carry({_side(particles[vertex]): (vertex, particles[onto, :2])}, particles)
        return []

    def _carry(self, moves: dict[str, tuple[int, np.ndarray]], particles: np.ndarray) -> list[Waypoint]:
        """``carry``'s waypoints, with the base strafing where a hand would not reach: to where the
        picks lie well inside reach for the pinch, to where the places do for the laying down, and
        from one to the other along the carry."""
        self._carrying = {side: v for side, (v, _) in moves.items()}
        now, home = self.env.sim.robot.base_pose(self.env.sim.data), self._start_base
        plan = carry(moves, particles)
        picks = [(side, particles[v, :2]) for side, (v, _) in moves.items()]
        places = [(side, np.asarray(p)[:2]) for side, (_, p) in moves.items()]
        pick_y, place_y = strafe_for(picks, home[:2]), strafe_for(places, home[:2])
        if pick_y == place_y == home[1] and abs(now[1] - home[1]) < BASE_TOLERANCE:
            return plan  # the base stays where it started
        n = len(plan) - PINCH_STEPS - PLACE_STEPS  # the lift and the arc, between
        for i, wp in enumerate(plan):
            share = min(max(i - PINCH_STEPS + 1, 0), n + 1) / (n + 1)
            wp.base = float(pick_y + (place_y - pick_y) * share)
        return plan


def reach_slack(side: str, point: np.ndarray, base: np.ndarray) -> float:
    """How far (m) inside its hand's reach a world point (xy) lies with the base standing at
    ``base`` (world xy, heading along +x); negative beyond it."""
    rel = point[:2] - base[:2]
    across = rel[1] if side == "left" else -rel[1]
    return float(np.interp(across, *REACH, left=-np.inf, right=-np.inf) - rel[0])


def strafe_for(points: list[tuple[str, np.ndarray]], home: np.ndarray) -> float:
    """Where the base should stand (world y) for some of a carry's points (side -> the world xy its
    hand goes to): where it started (``home``, world xy) if every point lies ``REACH_MARGIN``
    inside its hand's reach from there; else the y within ``BASE_SHIFT`` of it where the worst
    point lies deepest inside (the nearest such y to home)."""

    def worst(y: float) -> float:
        return min(reach_slack(side, p, np.array([home[0], y])) for side, p in points)

    if worst(home[1]) >= REACH_MARGIN:
        return float(home[1])
    ys = home[1] + np.arange(-BASE_SHIFT, BASE_SHIFT + 1e-9, 0.01)
    scores = np.array([worst(y) for y in ys])
    best = ys[np.isclose(scores, scores.max(), atol=1e-3)]
    return float(best[np.argmin(np.abs(best - home[1]))])


def choose_fold(garment, folds: tuple[str, ...], particles: np.ndarray, home: np.ndarray) -> str:
    """The fold to make: among those whose corners a hand can pinch (the base strafing; a pinch
    beyond reach closes on nothing, a place beyond it only lands short), the shortest carry of
    those whose two farthest corners lie one on each hand's side (a carry along the hands, not
    across the robot's centre line), else the one whose first corner lies nearest the robot; if
    no fold's corners are all within reach, the one whose worst corner lies least beyond it."""

    def worst_pick(fold: str) -> float:  # metres inside reach, at the worst corner
        return min(
            pinch_slack([(_reach_side(particles[c], particles[o]), particles[c])], home)
            for c, o in fold_corners(garment, fold)
        )

    pickable = [f for f in folds if worst_pick(f) >= PINCH_MARGIN]
    if not pickable:
        return max(folds, key=worst_pick)
    paired = [f for f in pickable if _one_per_side(fold_corners(garment, f), particles)]
    if paired:
        return min(paired, key=lambda f: carry_distance(garment, particles, f))
    return min(pickable, key=lambda f: particles[fold_corners(garment, f)[0][0], 0])


def pinch_slack(points: list[tuple[str, np.ndarray]], home: np.ndarray) -> float:
    """How far (m) inside its hand's reach the worst of the points (side -> world xy) lies with the
    base where ``strafe_for`` puts it for them."""
    base = np.array([home[0], strafe_for(points, home[:2])])
    return min(reach_slack(side, p, base) for side, p in points)


def reachable(points: list[tuple[str, np.ndarray]], home: np.ndarray) -> bool:
    """Whether every hand pinches at its point (side -> world xy): ``PINCH_MARGIN`` inside its
    reach, the base strafing."""
    return pinch_slack(points, home) >= PINCH_MARGIN


def two_hand_pulls(
    garment, particles: np.ndarray, reach: float = np.inf, skip: Set[int] = frozenset()
) -> dict[str, tuple[int, np.ndarray]]:
    """Once the folds are undone: on each side of the centre line, the Panda expert's pull among
    that side's edge vertices (side -> (vertex, where to lay it)), for both hands at once; a side
    whose edge lies within ``PULL_AT_LEAST`` of where it should gets none (the one pull left is
    the single-hand expert's, on the whole edge). Only vertices whose pick and place lie short of
    ``reach`` (world x, m) are pulled, where any do: a hand cannot pinch beyond it wherever the
    base stands; and none in ``skip`` (where a pinch closed on nothing before)."""
    flat = fit_flat(garment, particles)
    edge = garment.boundary
    outward = flat[edge] - flat.mean(axis=0)
    place = flat[edge] + STRETCH * outward / np.maximum(np.linalg.norm(outward, axis=1, keepdims=True), 1e-9)
    within = (np.maximum(particles[edge, 0], place[:, 0]) <= reach) & ~np.isin(edge, list(skip))
    if within.any():
        edge = edge[within]
    left = particles[edge, 1] >= 0.0
    pulls: dict[str, tuple[int, np.ndarray, float]] = {}
    for side, mine in (("left", edge[left]), ("right", edge[~left])):
        if len(mine):
            pulls[side] = flatten_pull(garment, particles, flat, mine)
    both = {side: (pick, place[:2]) for side, (pick, place, error) in pulls.items() if error >= PULL_AT_LEAST}
    if len(both) == 2:
        return both
    pick, place, _ = flatten_pull(garment, particles, flat, edge)  # the single-hand expert's pull
    return {_side(particles[pick]): (pick, place[:2])}


def _side(point: np.ndarray) -> str:
    """The hand on the point's side of the garment's centre line (left: +y)."""
    return "left" if point[1] >= 0.0 else "right"


def _reach_side(pick: np.ndarray, place: np.ndarray) -> str:
    """The hand for a carry: the one on the side of its far end (the pick or the place farther
    from the robot), which a hand reaches only on its own side; the near end it reaches across."""
    return _side(pick if pick[0] >= place[0] else place)


def _one_per_side(corners: list[tuple[int, int]], particles: np.ndarray) -> dict[str, tuple[int, int]]:
    """The fold's two farthest corners as (side -> corner), when they lie on opposite sides of the
    robot's centre line (one per hand); else nothing."""
    if len(corners) < 2:
        return {}
    a, b = corners[0], corners[1]
    sides = {_side(particles[a[0]]): a, _side(particles[b[0]]): b}
    return sides if len(sides) == 2 else {}


def carry(moves: dict[str, tuple[int, np.ndarray]], particles: np.ndarray) -> list[Waypoint]:
    """Waypoints that pinch each named hand's vertex (side -> (vertex, where to lay it, world xy)),
    carry them together along half circles (a corner's path as its flap turns over) and lay them
    down; the hands not named wait at home."""
    picks = {side: particles[v, :2] for side, (v, _) in moves.items()}
    places = {side: np.asarray(p, dtype=float)[:2] for side, (_, p) in moves.items()}
    radius = max(0.5 * float(np.linalg.norm(places[s] - picks[s])) for s in moves)

    def at(z: dict[str, float] | float, xy: dict[str, np.ndarray], open_: bool, follow: bool = False):
        return {
            side: Hand(
                np.r_[xy[side], z[side] if isinstance(z, dict) else z], open_, moves[side][0] if follow else None
            )
            for side in moves
        }

    arc = []
    for a in np.linspace(0, np.pi, ARC_POINTS + 2)[1:-1]:
        xy = {s: picks[s] + (places[s] - picks[s]) * (1 - np.cos(a)) / 2 for s in moves}
        z = PLACE_Z + (ARC_HEIGHT * radius) * np.sin(a)
        arc.append(Waypoint(at(z, xy, False), tolerance=0.02, speed=CARRY_SPEED))
    return [
        *pinch({side: (v, picks[side]) for side, (v, _) in moves.items()}),
        Waypoint(at(PLACE_Z + 0.01, picks, False), tolerance=0.015, speed=CARRY_SPEED),
        *arc,
        Waypoint(at(PLACE_Z, places, False), tolerance=0.012, speed=CARRY_SPEED),
        Waypoint(at(PLACE_Z, places, True), tolerance=0.03, wait=GRIPPER_WAIT),
        Waypoint(at(APPROACH_Z, places, True), tolerance=0.02),
    ]


def pinch(picks: dict[str, tuple[int, np.ndarray]]) -> list[Waypoint]:
    """Waypoints that bring each named hand down open over its vertex (side -> (vertex, where it
    lies, world xy); the hand follows the vertex across) and close them on it."""

    def at(z: float, open_: bool, follow: bool) -> dict[str, Hand]:
        return {side: Hand(np.r_[xy, z], open_, v if follow else None) for side, (v, xy) in picks.items()}

    return [
        Waypoint(at(APPROACH_Z, True, True), tolerance=0.015),
        Waypoint(at(GRASP_Z, True, True), tolerance=0.012, across=0.004, speed=0.5),
        Waypoint(at(GRASP_Z, False, True), tolerance=0.02, wait=GRIPPER_WAIT, grasps=True),
    ]


def hang(plan: HangPlan) -> list[Waypoint]:
    """The Panda expert's hang (``envs.cloth.expert.hang_moves``: pinch the middle, lift, carry the
    column across the bar low enough that the bar catches it, balance it, let go) by the hand on
    the rack's side; the other waits at home."""
    side = _side(plan.rack.centre)

    def one(pos, open_: bool) -> dict[str, Hand]:
        return {side: Hand(pos, open_)}

    return [
        *pinch({side: (plan.pick, plan.start[:2])}),
        Waypoint(one(plan.lifted(), False), tolerance=0.02, speed=CARRY_SPEED),
        # short of the bar, waiting for the swing to die down
        Waypoint(one(plan.short_high(), False), tolerance=0.015, speed=HANG_SPEED, wait=HANG_SETTLE),
        Waypoint(one(plan.short_low, False), tolerance=0.01, speed=HANG_LOWER, wait=5),
        Waypoint(one(plan.across, False), tolerance=0.01, speed=HANG_LOWER, wait=5),
        # balance across the bar: never reached (tolerance 0, no stall rule), ended by ``even`` or the timeout
        Waypoint(
            one(plan.balance, False),
            tolerance=0.0,
            speed=HANG_LOWER,
            until=plan.even,
            timeout=HANG_TIMEOUT,
            stall=False,
        ),
        Waypoint(one(None, True), tolerance=0.02, wait=GRIPPER_WAIT),  # open where the hand is
        Waypoint(one(plan.up, True), tolerance=0.02),
    ]
