"""Scripted expert for the cloth tasks, planning from privileged particle positions.

Everything is pick-and-place of one pinch at a time (a single Panda and the grasp rule), the
carried vertex following a half circle about the middle of the carry (``pick_and_place``):

- ``flatten``: undo the start's random folds, last first (privileged: the episode's recorded
  start, ``unfold_moves``), two pulls of each flap's edge onto where it lay before that fold; then,
  while coverage is short, pull the edge vertex farthest from a rigid fit of the flat garment to
  the vertices already lying flat (RANSAC over vertex pairs, ``flatten_move``). It stops once
  normalised coverage passes the task's threshold with a margin.
- ``fold_in_half`` / ``fold_diagonally``: choose the fold with the shortest carry, then lay each
  corner of the moving part (and the middle of a long edge) on its mirror vertex, farthest first,
  one at a time from where it lies after the last.
- ``hang``: pinch the garment at its middle and lift it (it hangs as a column below the pinch),
  carry the column across the bar low enough that the bar catches its lower part, which folds over
  it, then move the hand away from the bar or back until about half the garment lies beyond it
  (privileged: the particles say), let go and hold still while it settles (``hang_moves``).
- invalid requests: hold still.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from envs.cloth.garments import Garment
from envs.cloth.sim import Rack
from envs.cloth.tasks import FLATTEN_SUCCESS
from envs.utils.conventions import MAX_REL_ORN, MAX_REL_POS
from envs.utils.rotations import mat_to_euler, rotvec_from_mat, topdown_mat

POS_TOLERANCE = 0.008  # metres
ROT_TOLERANCE = 0.08  # radians
GRIPPER_WAIT = 3  # control steps for the fingers to close or open (they take 2; measured)
WAYPOINT_TIMEOUT = 40  # control steps before giving up on reaching a waypoint
APPROACH_Z = 0.06  # metres: above a pick or place point
GRASP_Z = 0.008  # metres: TCP height for a pinch at the table (the pads reach 9 mm below it)
PLACE_Z = 0.025  # metres: where a carried vertex is let go
FLATTEN_MARGIN = 0.05  # the expert stops when normalised coverage passes the threshold by this
MAX_MOVES = 8  # pick-and-place moves before the flatten expert gives up
INLIER = 0.015  # metres: a vertex within this of the fit lies as the flat garment would
SETTLED = 0.03  # metres: a flap whose edge lies this close to where it should is left alone
STRETCH = 0.015  # metres a corner is laid beyond where the flat garment puts it, to pull wrinkles out
FAR_ENOUGH = 0.7  # a flap's pinch: any edge vertex at least this fraction as far off as the farthest
YAW = np.pi / 2  # the gripper's heading throughout (fingers close along world x)
ARC_POINTS = 5  # waypoints along a carry's half circle
CARRY_SPEED = 0.7  # of the largest step, while carrying cloth
LONG_EDGE = 0.32  # metres: a flap edge longer than this is also laid down at its middle
MAX_FIXES = 2  # extra moves of a fold's flap after its corners, where it still lies short
FIX_BELOW = 0.6  # ... until its mean landing distance is under this fraction of the tolerance
HANG_LIFT_Z = 0.5  # metres above the table: the hand's height carrying the garment (the Panda's workspace top)
# carried across the bar, the hand is this fraction of the column hanging below it above the bar's
# axis: the bar catches the rest, which then hangs on the near side (docs/cloth.md, "Hanging")
HANG_CROSS = 0.6
HANG_NEAR = 0.10  # metres short of the bar (the garment's side) where the hand comes down to that height
HANG_FAR = 0.06  # metres past the bar where the carry across ends
HANG_GAIN = 0.05  # metres a step the hand moves away from the bar per unit of the garment short beyond it
HANG_REACH = (0.03, 0.25)  # metres past the bar the hand stays within, balancing
HANG_EVEN = 0.06  # the share on either side may be this far from a half
HANG_TIMEOUT = 160  # control steps the hand may take balancing it across the bar
HANG_SETTLE = 15  # control steps it must lie evenly across the bar before the hand lets go
HANG_SPEED = 0.3  # of the largest step, carrying the hanging garment to the bar: faster, it swings
HANG_LOWER = 0.2  # ... and lowering it and carrying it across the bar
ARC_HEIGHT = 0.8  # the half circle's height as a fraction of its radius: some slack in the flap
# (the carried vertex stays inside the circle about the fold line, so the flap never pulls the rest)


@dataclass
class Waypoint:
    # world (m); None: where the hand is when the waypoint begins; or a function of the hand's
    # position and the particles, followed every step
    pos: np.ndarray | Callable[[np.ndarray, np.ndarray], np.ndarray] | None
    gripper_open: bool
    tolerance: float = POS_TOLERANCE
    # a pinch: reached when within this across (m) and ``tolerance`` in height; the pad tips stop
    # on the table near GRASP_Z, so height is loose and the aim across is tight
    across: float | None = None
    vertex: int | None = None  # follow this vertex across (a pinch aims at where it lies now)
    wait: int = 0
    speed: float = 1.0
    # also reached (and left at once) when this is true of the particles
    until: Callable[[np.ndarray], bool] | None = None
    timeout: int = WAYPOINT_TIMEOUT  # control steps before giving up on it (past its wait)


class ClothExpert:
    """Privileged scripted policy: ``reset()`` after the env's reset, then ``act()`` each step."""

    def __init__(self, env):
        self.env = env.unwrapped
        self.plan: list[Waypoint] = []

    def reset(self, instruction: str | None = None) -> None:
        if self.env.sim is None:
            raise RuntimeError("reset the environment before the expert")
        self.plan, self._index, self._steps_here, self._held = [], 0, 0, 0
        self._moves = 0  # a hang's
        self._corners: list[tuple[int, int]] | None = None
        self._fold: str | None = None
        self._fixes = 0
        self._flatten = FlattenSchedule(self.env)

    def act(self, observation=None) -> np.ndarray:
        env, sim = self.env, self.env.sim
        if self._index >= len(self.plan):
            self.plan, self._index = self._next_moves(), 0
        if not self.plan:
            return env.no_op_action()
        wp = self.plan[self._index]
        pos, mat = sim.arm.tcp_pose(sim.data)
        if wp.pos is None:
            wp.pos = pos.copy()
        # a callable aim follows the hand and the particles, every step
        particles = sim.particles()
        aim = np.asarray(wp.pos(pos.copy(), particles), dtype=float) if callable(wp.pos) else wp.pos
        if wp.vertex is not None:
            aim[:2] = particles[wp.vertex, :2]
        target = topdown_mat(YAW)
        error = aim - pos
        if wp.across is None:
            close = np.linalg.norm(error) < wp.tolerance
        else:
            close = np.linalg.norm(error[:2]) < wp.across and abs(error[2]) < wp.tolerance
        reached = close and np.linalg.norm(rotvec_from_mat(target @ mat.T)) < ROT_TOLERANCE
        if wp.until is not None and wp.until(particles):
            reached, self._held = True, wp.wait
        self._steps_here += 1
        self._held += reached
        if (reached and self._held > wp.wait) or self._steps_here > wp.timeout + wp.wait:
            self._index += 1
            self._steps_here = self._held = 0
        action = np.zeros(7)
        action[:3] = np.clip(error / MAX_REL_POS, -wp.speed, wp.speed)
        action[3:6] = np.clip(mat_to_euler(target @ mat.T) / MAX_REL_ORN, -1, 1)
        action[6] = 1.0 if wp.gripper_open else -1.0
        return action

    # --- planning -------------------------------------------------------------------------------
    def _next_moves(self) -> list[Waypoint]:
        env = self.env
        task, garment = env.task, env.garment
        particles = env.sim.particles()
        if task.category == "flatten":
            if self._flatten.finished():
                return []
            pick, place = self._flatten.unfold(particles) or flatten_move(garment, particles)
            return pick_and_place(particles[pick], place, vertex=pick)
        if task.category == "hang":
            if self._moves:
                return []  # let go: hold still while it settles
            self._moves += 1
            return hang_moves(HangPlan(particles, env.sim.rack, env.sim.table_z))
        if task.category == "fold":
            if self._corners is None:
                self._fold = min(task.folds(garment), key=lambda f: carry_distance(garment, particles, f))
                self._corners = fold_corners(garment, self._fold)
            if self._corners:
                # one corner at a time, from where it lies now: the first flap moves the others
                corner, onto = self._corners.pop(0)
                return pick_and_place(particles[corner], particles[onto], vertex=corner)
            fix = None
            if self._fixes < MAX_FIXES:
                fix = fold_fix(env.garment, self._fold, particles, env.scorer.fold_tolerance)
            if fix is not None:
                # a soft sheet's flap sags behind its corners: lay its worst edge vertex down too
                self._fixes += 1
                vertex, onto = fix
                return pick_and_place(particles[vertex], particles[onto], vertex=vertex)
        return []


def pick_and_place(pick: np.ndarray, place: np.ndarray, vertex: int | None = None) -> list[Waypoint]:
    """Waypoints that pinch the cloth at ``pick`` (world, m; or wherever ``vertex`` lies when the
    hand gets there), carry it over and lay it at ``place``.

    The carried vertex follows a half circle over the middle of the carry, as a corner does when
    its flap turns over about the fold line; a flap lifted straight up drags the rest along."""
    pick, place = np.asarray(pick, float), np.asarray(place, float)
    xy0, xy1 = pick[:2], place[:2]
    radius = 0.5 * float(np.linalg.norm(xy1 - xy0))
    arc = [
        Waypoint(
            np.r_[xy0 + (xy1 - xy0) * (1 - np.cos(a)) / 2, PLACE_Z + (ARC_HEIGHT * radius - PLACE_Z) * np.sin(a)],
            False,
            tolerance=0.02,
            speed=CARRY_SPEED,
        )
        for a in np.linspace(0, np.pi, ARC_POINTS + 2)[1:-1]
    ]
    return [
        *pinch(xy0, vertex),
        Waypoint(np.r_[xy0, PLACE_Z + 0.01], False, tolerance=0.01, speed=CARRY_SPEED),
        *arc,
        Waypoint(np.r_[xy1, PLACE_Z], False, tolerance=0.01, speed=CARRY_SPEED),
        Waypoint(np.r_[xy1, PLACE_Z], True, tolerance=0.02, wait=GRIPPER_WAIT),
        Waypoint(np.r_[xy1, APPROACH_Z], True, tolerance=0.02),
    ]


def pinch(xy: np.ndarray, vertex: int | None = None) -> list[Waypoint]:
    """Waypoints that come down open over ``xy`` (or wherever ``vertex`` lies) and close on it."""
    return [
        Waypoint(np.r_[xy, APPROACH_Z], True, tolerance=0.015, vertex=vertex),
        Waypoint(np.r_[xy, GRASP_Z], True, tolerance=0.012, across=0.003, speed=0.5, vertex=vertex),
        Waypoint(np.r_[xy, GRASP_Z], False, tolerance=0.01, wait=GRIPPER_WAIT),
    ]


class HangPlan:
    """The hang's geometry from where the garment lies, whatever robot carries it (``hang_moves``
    for the Panda; ByteMini's expert uses the same with one hand): the vertex to pinch, and the
    hand's aims as functions of where the hand and the particles are now. ``rack``: the table's
    bar; ``table_z``: its table top's height."""

    def __init__(self, particles: np.ndarray, rack: Rack, table_z: float):
        self.rack = rack
        centre = particles.mean(axis=0)
        self.pick = int(np.argmin(np.linalg.norm(particles[:, :2] - centre[:2], axis=1)))
        self.start = particles[self.pick].copy()
        a = rack.along
        self.along = float(np.clip(self.start[a], rack.centre[a] - 0.1, rack.centre[a] + 0.1))
        self.lift_z = table_z + HANG_LIFT_Z
        self._column: list[float] = []  # its length below the hand, measured once, lifted and still
        self._steady: list[bool] = []

    def share(self, now: np.ndarray) -> float:
        """The share of the garment's vertices beyond the bar."""
        return float(np.mean(self.rack.past(now)))

    def cross_height(self, hand: np.ndarray, now: np.ndarray) -> float:
        if not self._column:
            self._column.append(float(hand[2] - now[:, 2].min()))
        return self.rack.centre[2] + HANG_CROSS * self._column[0]

    def lifted(self) -> np.ndarray:
        """Above the pinch, as high as the carry goes."""
        return np.r_[self.start[:2], self.lift_z]

    def short_high(self) -> np.ndarray:
        """``HANG_NEAR`` short of the bar, as high as the carry goes."""
        return self.rack.at(-HANG_NEAR, self.along, self.lift_z)

    def short_low(self, hand: np.ndarray, now: np.ndarray) -> np.ndarray:
        """... lowered to ``HANG_CROSS`` column lengths above the bar's axis."""
        return self.rack.at(-HANG_NEAR, self.along, self.cross_height(hand, now))

    def across(self, hand: np.ndarray, now: np.ndarray) -> np.ndarray:
        """``HANG_FAR`` beyond the bar at that height: the bar catches the column."""
        return self.rack.at(HANG_FAR, self.along, self.cross_height(hand, now))

    def balance(self, hand: np.ndarray, now: np.ndarray) -> np.ndarray:
        """Away from the bar while less than half the garment lies beyond it, back while more,
        within ``HANG_REACH`` beyond it."""
        rack = self.rack
        offset = hand[rack.across] + rack.beyond * (HANG_GAIN * (0.5 - self.share(now)))
        limits = sorted(rack.centre[rack.across] + rack.beyond * r for r in HANG_REACH)
        point = rack.at(0.0, self.along, self.cross_height(hand, now))
        point[rack.across] = np.clip(offset, *limits)
        return point

    def even(self, now: np.ndarray) -> bool:
        """About half beyond the bar for ``HANG_SETTLE`` steps running."""
        self._steady.append(abs(self.share(now) - 0.5) <= HANG_EVEN)
        return len(self._steady) >= HANG_SETTLE and all(self._steady[-HANG_SETTLE:])

    def up(self, hand: np.ndarray, now: np.ndarray) -> np.ndarray:
        """Straight up from where the hand let go, as high as the carry goes."""
        point = self.rack.at(0.0, self.along, self.lift_z)
        point[self.rack.across] = hand[self.rack.across]
        return point


def hang_moves(plan: HangPlan) -> list[Waypoint]:
    """Waypoints that hang the garment over the rack's bar from where it lies: pinch the vertex
    nearest its centre of mass and lift it (it hangs as a column of length L below the pinch),
    carry it to ``HANG_NEAR`` short of the bar and lower the hand to ``HANG_CROSS`` L above the
    bar's axis, then carry it across: the bar catches the column's lower part, which folds over
    it and hangs on the near side. Beyond the bar, move the hand away from it (pulling more of the
    garment over) or back towards it until half of its vertices, give or take ``HANG_EVEN``, have
    lain beyond the bar for ``HANG_SETTLE`` steps running; then let go: the part in the hand drops
    and hangs on the far side. The garment hangs folded about a line across its column, so it
    reaches about half as far below the bar as when hung from its middle (a square 1.4x the
    training size clears the table from the 0.25 m bar)."""
    return [
        *pinch(plan.start[:2], plan.pick),
        Waypoint(plan.lifted(), False, tolerance=0.02, speed=CARRY_SPEED),
        # short of the bar, waiting for the swing to die down
        Waypoint(plan.short_high(), False, tolerance=0.015, speed=HANG_SPEED, wait=HANG_SETTLE),
        Waypoint(plan.short_low, False, tolerance=0.01, speed=HANG_LOWER, wait=5),
        Waypoint(plan.across, False, tolerance=0.01, speed=HANG_LOWER, wait=5),
        # balance across the bar: never "reached" (tolerance 0), ended by ``even`` or the timeout
        Waypoint(plan.balance, False, tolerance=0.0, speed=HANG_LOWER, until=plan.even, timeout=HANG_TIMEOUT),
        Waypoint(None, True, tolerance=0.02, wait=GRIPPER_WAIT),  # open where the hand is
        Waypoint(plan.up, True, tolerance=0.02),
    ]


def fold_fix(garment: Garment, fold: str, particles: np.ndarray, tolerance: float) -> tuple[int, int] | None:
    """After the corners: (vertex, the vertex it lands on) for the moving part's edge vertex
    farthest from where it must land, or None when the flap lies well enough (mean landing
    distance under ``FIX_BELOW`` of the task's ``tolerance``)."""
    moving, onto = garment.mirror(fold)
    error = np.linalg.norm(particles[moving] - particles[onto], axis=1)
    if error.mean() < FIX_BELOW * tolerance:
        return None
    edge = np.isin(moving, garment.boundary)
    worst = int(np.argmax(np.where(edge, error, -1.0)))
    return int(moving[worst]), int(onto[worst])


def carry_distance(garment: Garment, particles: np.ndarray, fold: str) -> float:
    return max(float(np.linalg.norm(particles[c, :2] - particles[o, :2])) for c, o in fold_corners(garment, fold))


def fold_corners(garment: Garment, fold: str) -> list[tuple[int, int]]:
    """(vertex, the vertex it lands on) for the points a fold lays over, farthest from the fold
    line first: the outline's corners in the moving part at least half as far as the farthest,
    then, along an edge longer than ``LONG_EDGE``, the edge vertex midway between two of them."""
    moving, onto = garment.mirror(fold)
    target = dict(zip(moving.tolist(), onto.tolist(), strict=True))
    rest = garment.points
    reach = {c: float(np.linalg.norm(rest[c] - rest[target[c]])) for c in garment.corners if c in target}
    far = max(reach.values())
    chosen = sorted((c for c in reach if reach[c] >= 0.5 * far - 1e-9), key=lambda c: -reach[c])
    edge = [int(v) for v in garment.boundary if v in target]
    for a, b in [(a, b) for i, a in enumerate(chosen) for b in chosen[i + 1 :]]:
        if np.linalg.norm(rest[a] - rest[b]) > LONG_EDGE and abs(reach[a] - reach[b]) < 1e-6:
            middle = 0.5 * (rest[a] + rest[b])
            chosen.append(min(edge, key=lambda v: np.linalg.norm(rest[v] - middle)))
    return [(c, target[c]) for c in chosen]


class FlattenSchedule:
    """The flatten task's course, as both tables' experts run it: undo the start's folds, last first
    (``unfold``: ``unfold_moves``' pulls), then whatever pulls the expert chooses, until normalised
    coverage passes the threshold by ``FLATTEN_MARGIN`` or ``MAX_MOVES`` moves are made."""

    def __init__(self, env):
        self.env, self.moves = env, 0
        self._unfold: list | None = None  # made at the first move: the episode's start is set by then

    def finished(self) -> bool:
        _, _, details = self.env.scorer.evaluate(self.env.sim.snapshot())
        return self.moves >= MAX_MOVES or details["normalised"] >= FLATTEN_SUCCESS + FLATTEN_MARGIN

    def unfold(self, particles: np.ndarray) -> tuple[int, np.ndarray] | None:
        """Count a move and return the next unfold pull (vertex, where to lay it) still wanted;
        None once the folds are undone (the expert's own pull then)."""
        self.moves += 1
        if self._unfold is None:
            self._unfold = unfold_moves(self.env)
        move = None
        while self._unfold and move is None:
            move = self._unfold.pop(0)(particles)  # None: that flap already lies where it should
        return move


def unfold_moves(env) -> list:
    """The moves that undo the start's random folds, last fold first: for each fold, up to two
    pulls of the flap's corners onto where they lay before it (that stage of the start, fitted to
    where the rest of the sheet lies now). Each is a function of the particles now, so it reads
    the sheet as the previous move left it."""
    from envs.cloth.env import crumple_stages

    garment = env.garment
    stages = crumple_stages(garment, env.initial_state)
    moves = []
    for k in range(len(stages) - 1, 0, -1):
        before, after = stages[k - 1], stages[k]
        flap = np.flatnonzero(np.linalg.norm(after[:, :2] - before[:, :2], axis=1) > 1e-6)
        if flap.size == 0 or flap.size == len(before):
            continue
        moves += [_unfold_pull(garment, before, flap)] * 2
    return moves


def _unfold_pull(garment: Garment, before: np.ndarray, flap: np.ndarray):
    def move(particles: np.ndarray) -> tuple[int, np.ndarray] | None:
        base = np.setdiff1d(np.arange(len(before)), flap)
        rot, shift = _rigid(before[base, :2], particles[base, :2])
        target = before[:, :2] @ rot.T + shift
        edge = np.intersect1d(flap, garment.boundary)
        error = np.linalg.norm(particles[edge, :2] - target[edge], axis=1)
        if error.max() < SETTLED:
            return None
        # among the edge vertices nearly as far off as the farthest, the one with the most room
        # from every other part of the sheet: the pinch must take the flap, not what lies under it
        far = edge[error >= FAR_ENOUGH * error.max()]
        pick = int(far[np.argmax(clearance(garment, particles, far))])
        return pick, np.r_[target[pick], 0.0]

    return move


def flatten_move(garment: Garment, particles: np.ndarray, rng_seed: int = 0) -> tuple[int, np.ndarray]:
    """The vertex to pick and where to lay it, once the folds are undone: an edge vertex about as
    far as the farthest from where the best rigid fit of the flat garment puts it (the one with
    the most room from the rest of the sheet, so the pinch takes it alone), laid a little beyond that
    (``STRETCH``, outwards from the garment's centre), so the wrinkles between it and the rest
    pull out."""
    flat = fit_flat(garment, particles, rng_seed)
    pick, place, _ = flatten_pull(garment, particles, flat, garment.boundary)
    return pick, place


def flatten_pull(
    garment: Garment, particles: np.ndarray, flat: np.ndarray, edge: np.ndarray
) -> tuple[int, np.ndarray, float]:
    """``flatten_move``'s choice among the edge vertices ``edge`` (a non-empty subset of the
    boundary), given the flat garment's fit ``flat``: the vertex, where to lay it (x, y, 0), and
    how far (metres) it lies from where it should."""
    error = np.linalg.norm(particles[edge, :2] - flat[edge], axis=1)
    far = edge[error >= FAR_ENOUGH * error.max()]
    pick = int(far[np.argmax(clearance(garment, particles, far))])
    outward = flat[pick] - flat.mean(axis=0)
    place = flat[pick] + STRETCH * outward / max(np.linalg.norm(outward), 1e-9)
    return pick, np.r_[place, 0.0], float(error.max())


def clearance(garment: Garment, particles: np.ndarray, vertices: np.ndarray) -> np.ndarray:
    """For each of ``vertices``: metres across to the nearest vertex of another part of the sheet
    (more than 2.5 grid spacings away on the flat garment)."""
    xy, rest = particles[:, :2], garment.points
    across = np.linalg.norm(xy[vertices][:, None] - xy[None], axis=2)
    apart = np.linalg.norm(rest[vertices][:, None] - rest[None], axis=2) > 2.5 * garment.spacing
    return np.where(apart, across, np.inf).min(axis=1)


def fit_flat(garment: Garment, particles: np.ndarray, rng_seed: int = 0, trials: int = 60) -> np.ndarray:
    """(N, 2) where each vertex would lie if the garment were flat, posed to agree with as many
    vertices as lie flat already (RANSAC on pairs of vertices, least squares on the inliers)."""
    rng = np.random.default_rng(rng_seed)
    rest, now = garment.points, particles[:, :2]
    n = len(rest)
    best, best_count = None, -1
    for _ in range(trials):
        i, j = rng.choice(n, 2, replace=False)
        if np.linalg.norm(rest[i] - rest[j]) < 0.3 * garment.width:
            continue
        rot, shift = _rigid(rest[[i, j]], now[[i, j]])
        count = int((np.linalg.norm(rest @ rot.T + shift - now, axis=1) < INLIER).sum())
        if count > best_count:
            best, best_count = (rot, shift), count
    rot, shift = best if best is not None else _rigid(rest, now)
    inliers = np.linalg.norm(rest @ rot.T + shift - now, axis=1) < INLIER
    if inliers.sum() >= 3:
        rot, shift = _rigid(rest[inliers], now[inliers])
    return rest @ rot.T + shift


def _rigid(a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Rotation and shift that best map points ``a`` onto ``b`` (2-D Kabsch, no reflection)."""
    ca, cb = a.mean(axis=0), b.mean(axis=0)
    u, _, vt = np.linalg.svd((a - ca).T @ (b - cb))
    d = np.sign(np.linalg.det(vt.T @ u.T))
    rot = vt.T @ np.diag([1.0, d]) @ u.T
    return rot, cb - ca @ rot.T
