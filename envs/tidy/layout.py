"""Setting the table for an episode: which objects are out, and where they and the clutter stand.

Objects stand apart enough for open fingers to pass between them (13 cm between the pads), and far
enough from the dish tub and the tray for the hand to come down beside their walls; clutter keeps
further off, so that it is avoided rather than squeezed past. Everything is drawn from the episode's random generator.
"""

from __future__ import annotations

import numpy as np

from envs.tidy.objects import CLUTTER, KINDS, TRAIN_KINDS, UNSEEN_KINDS
from envs.tidy.scenes import DESTINATIONS, OBJECT_X, TABLE_HALF_Y, TABLE_X, Scene
from envs.tidy.sim import MAX_OBJECTS, Placement
from envs.tidy.tasks import TidyTask

OBJECT_GAP = 0.05  # metres between the footprints of two objects
CLUTTER_GAP = 0.02  # metres between a clutter item and a hand (or a wider object) or another item
HAND_HALF_SPAN = 0.09  # metres: the palm and open fingers reach this far from a grasp point
CONTAINER_MARGIN = 0.02  # metres between the hand (or a wider footprint) and the tub's or tray's outside
CONTAINER_WALL = 0.01  # metres: the tub's and tray's walls stand this far outside their insides
CLUTTER_X = (0.3, 0.75)  # metres: clutter may also stand at the back of the table
MAX_TRIES = 200  # random positions tried per item
MAX_RESTARTS = 50


class LayoutError(RuntimeError):
    """No room on the table for what the episode asks for."""


def choose_objects(task: TidyTask, count: int, unseen_fraction: float, rng: np.random.Generator) -> tuple[str, ...]:
    """The kinds on the table, in a random order: those the task names, then others up to ``count``,
    ``unseen_fraction`` of them (rounded) from the kinds never seen in training when there are enough."""
    named = list(task.named_kinds)
    total = max(count, len(named))
    if total > MAX_OBJECTS:
        raise ValueError(f"at most {MAX_OBJECTS} objects fit the table, the episode asks for {total}")
    want_unseen = int(round(unseen_fraction * total)) - sum(k in UNSEEN_KINDS for k in named)
    unseen_pool = [k for k in UNSEEN_KINDS if k not in named]
    extra = list(rng.choice(unseen_pool, size=min(max(want_unseen, 0), len(unseen_pool)), replace=False))
    seen_pool = [k for k in TRAIN_KINDS if k not in named]
    need = total - len(named) - len(extra)
    if need > len(seen_pool):
        unseen_left = [k for k in unseen_pool if k not in extra]
        extra += list(rng.choice(unseen_left, size=need - len(seen_pool), replace=False))
        need = len(seen_pool)
    extra += list(rng.choice(seen_pool, size=need, replace=False))
    kinds = named + [str(k) for k in extra]
    return tuple(str(k) for k in rng.permutation(kinds))


def _keep_out(scene: Scene, tray: bool) -> list[tuple[np.ndarray, np.ndarray]]:
    """(centre, half extents) of the containers standing on the table."""
    boxes = []
    for name in ("tub", "tray") if tray else ("tub",):
        half = np.array(DESTINATIONS[name].inner_half) + CONTAINER_WALL
        boxes.append((scene.destination_xy(name), half))
    return boxes


def _clear_of_boxes(xy: np.ndarray, radius: float, boxes) -> bool:
    return all(np.any(np.abs(xy - centre) >= half + radius) for centre, half in boxes)


def _sample(rng, x_range, y_range, radius, placed, boxes, box_clearance) -> np.ndarray | None:
    """A random point at least ``radius`` plus each placed item's own distance from every placed
    item, and ``box_clearance`` from the containers' outsides."""
    for _ in range(MAX_TRIES):
        xy = np.array([rng.uniform(*x_range), rng.uniform(*y_range)])
        if not _clear_of_boxes(xy, box_clearance, boxes):
            continue
        if all(np.linalg.norm(xy - other) >= radius + keep for other, keep in placed):
            return xy
    return None


def place_objects(scene: Scene, kinds: tuple[str, ...], tray: bool, rng: np.random.Generator) -> list[Placement]:
    """Random positions and headings for the objects, largest footprint placed first."""
    boxes = _keep_out(scene, tray)
    order = sorted(kinds, key=lambda k: -KINDS[k].footprint)
    for _ in range(MAX_RESTARTS):
        placed: list[tuple[np.ndarray, float]] = []
        poses: dict[str, Placement] = {}
        for kind in order:
            radius = KINDS[kind].footprint
            y_range = (max(scene.object_y[0], -TABLE_HALF_Y + radius), min(scene.object_y[1], TABLE_HALF_Y - radius))
            x_range = (max(OBJECT_X[0], TABLE_X[0] + radius + 0.05), OBJECT_X[1])
            xy = _sample(rng, x_range, y_range, radius, placed, boxes, max(radius, HAND_HALF_SPAN) + CONTAINER_MARGIN)
            if xy is None:
                break
            placed.append((xy, radius + OBJECT_GAP))
            poses[kind] = Placement(kind, float(xy[0]), float(xy[1]), float(rng.uniform(-np.pi, np.pi)))
        else:
            return [poses[k] for k in kinds]
    raise LayoutError(f"could not find room on the table for {len(kinds)} objects ({', '.join(kinds)})")


def place_clutter(
    scene: Scene, clutter: list[str], objects: list[Placement], tray: bool, rng: np.random.Generator
) -> list[Placement]:
    """Positions for the clutter items among and behind the objects, clear of every hand that comes
    down on an object."""
    boxes = _keep_out(scene, tray)
    placed = [
        (np.array([p.x, p.y]), max(KINDS[p.kind].footprint + CLUTTER_GAP, HAND_HALF_SPAN + CLUTTER_GAP))
        for p in objects
    ]
    poses = []
    for name in clutter:
        radius = CLUTTER[name].footprint
        x_range = (CLUTTER_X[0], CLUTTER_X[1] - radius - 0.01)
        y_range = (-TABLE_HALF_Y + radius + 0.01, TABLE_HALF_Y - radius - 0.01)
        xy = _sample(rng, x_range, y_range, radius, placed, boxes, radius + CONTAINER_MARGIN)
        if xy is None:
            raise LayoutError(f"no room on the table for the clutter item {name!r} among {len(objects)} objects")
        placed.append((xy, radius + CLUTTER_GAP))
        poses.append(Placement(name, float(xy[0]), float(xy[1]), float(rng.uniform(-np.pi, np.pi))))
    return poses
