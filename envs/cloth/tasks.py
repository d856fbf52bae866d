"""Cloth tasks and their oracles, all read off particle positions (``ClothSnapshot``).

- ``flatten``: normalised coverage ``(A_t - A_0) / (A_max - A_0)`` of the garment's top-down
  projection (``coverage``), success at ``FLATTEN_SUCCESS`` (0.85, DeformableRavens' threshold).
- ``fold_in_half`` / ``fold_diagonally``: for each fold the garment has (``Garment.folds``), the mean
  distance between each vertex of the moving part and the vertex it must land on; success when
  some fold gets it under ``FOLD_TOLERANCE`` while the other part's vertices moved on average less
  than ``FIXED_TOLERANCE`` (the fixed half is not dragged along); both in proportion to the
  garment's size against its scene's (``Scorer(scale=...)``: a 1.3x square's flap is laid 1.3x as
  far, and lands 1.3x as loosely). Progress: the best fold's ``1 - d_t / d_0``.
- ``hang``: hang the garment over the rack's bar (``HangMilestones``): grasped -> lifted ->
  over the bar -> released and hanging still for 2 s; progress = milestones reached / 4, success
  the last.
- invalid requests (``absent_garment``, ``impossible_fold``): success while the garment is
  untouched; never terminates.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from envs.cloth.garments import Garment
from envs.cloth.sim import CONTROL_DT, PANDA_RACK, ClothSnapshot, Rack
from envs.errors import unknown_name_error

FLATTEN_SUCCESS = 0.85  # normalised coverage
# metres, at the scene's own garment size: mean distance of the moving part's vertices to where they must land
FOLD_TOLERANCE = 0.04
# (a clean single-arm fold of the 0.3 m square, laid by its corners, measures 0.028-0.039 m)
FIXED_TOLERANCE = 0.03  # metres, at the scene's own size: mean displacement of the part a fold keeps in place
UNTOUCHED_MOVE = 0.02  # metres any vertex may shift (settling) and still count as untouched
LIFTED = 0.1  # metres: the garment's mean height above the table that counts as lifted
ON_BAR = 0.03  # metres from the bar's surface that a vertex resting on it may be
STILL_SPEED = 0.02  # m/s: the mean speed of the vertices of a garment hanging still (single
# vertices jitter at a few cm/s on the bar for seconds after the sheet has stopped swinging)
STILL_SECONDS = 2.0
COVERAGE_CELL = 0.005  # metres: the top-down raster's cell
_SAMPLES = np.array(  # barycentric samples per triangle, so thin folded layers still fill cells
    [(a / 4, b / 4, 1 - a / 4 - b / 4) for a in range(5) for b in range(5 - a)]
)


@dataclass(frozen=True)
class ClothTask:
    name: str
    category: str  # "flatten", "fold", "hang" or "invalid"
    steps: int  # control steps before the episode is truncated

    def folds(self, garment: Garment) -> tuple[str, ...]:
        if self.name == "fold_in_half":
            return tuple(f for f in garment.folds if not f.startswith("diagonal"))
        if self.name == "fold_diagonally":
            return tuple(f for f in garment.folds if f.startswith("diagonal"))
        return ()

    def feasible(self, garment: Garment) -> bool:
        """Whether the garment allows the task: a T-shirt has no diagonal fold, and is not hung
        over a bar (hung from its middle it reaches the table from a bar the arm can reach over)."""
        if self.category == "hang":
            return garment.shape != "tshirt"
        return self.category != "fold" or bool(self.folds(garment))


TASKS: dict[str, ClothTask] = {
    t.name: t
    for t in (
        ClothTask("flatten", "flatten", 400),
        ClothTask("fold_in_half", "fold", 300),
        ClothTask("fold_diagonally", "fold", 200),
        ClothTask("hang", "hang", 400),
        ClothTask("absent_garment", "invalid", 150),
        ClothTask("impossible_fold", "invalid", 150),
    )
}
CATEGORIES = ("flatten", "fold", "hang", "invalid")


def get_task(name: str) -> ClothTask:
    if name not in TASKS:
        raise unknown_name_error("cloth task", name, tuple(TASKS))
    return TASKS[name]


def coverage(garment: Garment, particles: np.ndarray) -> float:
    """Square metres the garment covers seen from above (its triangles rasterised on a 5 mm grid)."""
    tri = particles[garment.triangles][:, :, :2]  # (M, 3, 2)
    samples = np.einsum("sk,mkd->msd", _SAMPLES, tri).reshape(-1, 2)
    cells = np.floor(samples / COVERAGE_CELL).astype(np.int64)
    keys = cells[:, 0] * 1_000_003 + cells[:, 1]
    return float(np.unique(keys).size * COVERAGE_CELL**2)


def max_coverage(garment: Garment) -> float:
    """The coverage of the garment lying flat (measured the same way, so a flat one scores 1)."""
    return coverage(garment, np.c_[garment.points, np.zeros(len(garment.points))])


def fold_errors(
    garment: Garment, task: ClothTask, start: np.ndarray, now: np.ndarray
) -> dict[str, tuple[float, float]]:
    """Per fold the task allows: (mean distance moving -> landing vertex, mean displacement of the
    vertices the fold keeps in place), metres."""
    out = {}
    for fold in task.folds(garment):
        moving, onto = garment.mirror(fold)
        fixed = _fixed(garment, fold)
        landing = np.linalg.norm(now[moving] - now[onto], axis=1).mean()
        dragged = np.linalg.norm(now[fixed, :2] - start[fixed, :2], axis=1).mean()
        out[fold] = (float(landing), float(dragged))
    return out


def _fixed(garment: Garment, fold: str) -> np.ndarray:
    """The vertices a fold keeps in place (cached per garment and fold)."""
    key = (garment.geometry_key, fold)
    if key not in _FIXED:
        _FIXED[key] = np.setdiff1d(np.arange(len(garment.points)), garment.mirror(fold)[0])
    return _FIXED[key]


_FIXED: dict[tuple, np.ndarray] = {}


def over_bar(particles: np.ndarray, rack: Rack) -> dict[str, bool]:
    """Whether the garment lies over the rack's bar: some vertex resting on it, and vertices
    below it on both sides (a garment draped over it, not beside it)."""
    rel = particles - rack.centre
    along = np.abs(rel[:, rack.along]) <= rack.half_length
    across = np.hypot(rel[:, rack.across], rel[:, 2])  # from the bar's axis
    touching = bool(np.any(along & (across <= rack.radius + ON_BAR)))
    below = rel[:, 2] < -rack.radius
    near, far = below & (rel[:, rack.across] > 0), below & (rel[:, rack.across] < 0)
    return {"on_bar": touching, "both_sides": bool(near.any() and far.any())}


class HangMilestones:
    """The hang task's milestones, latched as they are reached; ``update`` once per control step
    (stillness is measured between consecutive steps). ``rack``: where the bar is; ``table_z``:
    the table top's height, which "lifted" is measured from."""

    NAMES = ("grasped", "lifted", "over_bar", "hanging")

    def __init__(self, rack: Rack, table_z: float, state: dict | None = None):
        self.rack, self.table_z = rack, table_z
        state = state or {}
        self.reached: dict[str, bool] = {n: bool(state.get("reached", {}).get(n, False)) for n in self.NAMES}
        self.still_steps = int(state.get("still_steps", 0))
        last = state.get("last")
        self.last = None if last is None else np.asarray(last, dtype=float)

    def state(self) -> dict:
        """Plain data to rebuild these milestones from (pickling the environment)."""
        return {
            "reached": dict(self.reached),
            "still_steps": self.still_steps,
            "last": None if self.last is None else self.last.tolist(),
        }

    def update(self, now: ClothSnapshot) -> dict:
        p = now.particles
        over = over_bar(p, self.rack)
        held = bool(now.held)
        speed = np.inf if self.last is None else float(np.linalg.norm(p - self.last, axis=1).mean() / CONTROL_DT)
        self.last = p.copy()
        hanging = over["on_bar"] and over["both_sides"] and not held
        self.still_steps = self.still_steps + 1 if hanging and speed <= STILL_SPEED else 0
        reached = self.reached
        reached["grasped"] |= held
        reached["lifted"] |= held and float(p[:, 2].mean()) - self.table_z >= LIFTED
        reached["over_bar"] |= over["on_bar"] and over["both_sides"]
        reached["hanging"] |= self.still_steps * CONTROL_DT >= STILL_SECONDS
        return {**over, "held": held, "still_s": round(self.still_steps * CONTROL_DT, 2), **reached}


class Scorer:
    """Success and progress of one task on one garment, from the snapshot the task began with.
    ``scale``: the garment's size as a multiple of its scene's; the fold tolerances scale with it.
    ``rack`` and ``table_z``: the hang task's bar and the table top's height (the Panda cloth
    table's by default; an environment passes its own sim's)."""

    def __init__(
        self,
        task: ClothTask,
        garment: Garment,
        start: ClothSnapshot,
        scale: float = 1.0,
        hang: dict | None = None,
        rack: Rack = PANDA_RACK,
        table_z: float = 0.0,
    ):
        self.task, self.garment, self.start = task, garment, start
        # the hang task's milestones (``hang``: their saved state); its evaluate() is once per step
        self.hang = HangMilestones(rack, table_z, hang) if task.category == "hang" else None
        self.fold_tolerance, self.fixed_tolerance = FOLD_TOLERANCE * scale, FIXED_TOLERANCE * scale
        self.a_max = max_coverage(garment)
        self.a_0 = coverage(garment, start.particles)
        self.d_0 = {f: e[0] for f, e in fold_errors(garment, task, start.particles, start.particles).items()}

    def evaluate(self, now: ClothSnapshot) -> tuple[bool, float, dict]:
        """(success, progress in [0, 1], details) of the garment as it is now."""
        task = self.task
        if task.category == "invalid":
            ok = untouched(self.start, now)
            return ok, float(ok), {"untouched": ok}
        if self.hang is not None:
            details = self.hang.update(now)
            progress = sum(details[n] for n in HangMilestones.NAMES) / len(HangMilestones.NAMES)
            return bool(details["hanging"]), float(progress), details
        if task.category == "flatten":
            a_t = coverage(self.garment, now.particles)
            norm = (a_t - self.a_0) / max(self.a_max - self.a_0, 1e-9)
            done = norm >= FLATTEN_SUCCESS and not now.held
            return bool(done), float(np.clip(norm, 0.0, 1.0)), {"coverage": a_t / self.a_max, "normalised": norm}
        errors = fold_errors(self.garment, task, self.start.particles, now.particles)
        progress = max(np.clip(1 - errors[f][0] / max(self.d_0[f], 1e-9), 0.0, 1.0) for f in errors)
        folded = [
            f for f, (land, drag) in errors.items() if land <= self.fold_tolerance and drag <= self.fixed_tolerance
        ]
        folded.sort(key=lambda f: sum(errors[f]))
        best = min(errors, key=lambda f: sum(errors[f]))
        details = {"fold": folded[0] if folded else best, "landing": errors[best][0], "dragged": errors[best][1]}
        return bool(folded) and not now.held, float(progress), details


def untouched(start: ClothSnapshot, now: ClothSnapshot) -> bool:
    """Nothing held and no vertex moved more than ``UNTOUCHED_MOVE`` since ``start``."""
    moved = np.linalg.norm(now.particles - start.particles, axis=1).max()
    return not now.held and bool(moved <= UNTOUCHED_MOVE)
