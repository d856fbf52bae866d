"""Vision-language questions about a tabletop scene, answered from the simulator's privileged state.

GR-3 keeps its VLM's grasp of images and language by co-training on vision-language data (captions,
visual question answering, grounding). With no web data offline, gr-bench writes such data from its
own scenes: every answer here is read off the symbolic state the scene was built from and the
simulator's geometry, so it is right by construction.

Kinds of question (``QUESTION_KINDS``):
- ``caption``: the desk (drawer, door, lights) or the blocks, in a few clauses;
- ``state``: the drawer, the sliding door, the two lights;
- ``location``: where a block is (table, drawer, a cabinet compartment, the gripper, on another block);
- ``colour``: which block is in the drawer / the cabinet / the gripper;
- ``size``: which block is the largest / smallest (scenes give the colours different sizes);
- ``spatial``: is one block left of another in the static camera's image;
- ``grounding``: a block's bounding box in the static camera's image, as four numbers 0-99
  (left, top, right, bottom, in hundredths of the image width and height).
"""

from __future__ import annotations

from typing import Any

import mujoco
import numpy as np

from envs.tabletop.scenes import BLOCK_COLOURS

QUESTION_KINDS = ("caption", "state", "location", "colour", "size", "spatial", "grounding")
GROUNDING_CAMERA = "static"

_PLACE = {
    "table": "on the table",
    "slider_left": "in the left part of the cabinet",
    "slider_right": "in the right part of the cabinet",
    "drawer": "in the drawer",
    "grasped": "in the gripper",
}
_CONTAINERS = {location: words for location, words in _PLACE.items() if location != "table"}


def place(location: str) -> str:
    """A block location of ``SymbolicState`` in words."""
    if location.startswith("on_"):
        return f"on the {location[3:]} block"
    return _PLACE[location]


def _yes(flag: bool) -> str:
    return "yes" if flag else "no"


def project(model: mujoco.MjModel, data: mujoco.MjData, camera: str, points: np.ndarray, height: int, width: int):
    """World points (N, 3) -> pixel coordinates (N, 2) as (column, row) in a ``height`` x ``width``
    image of ``camera``, and whether each point is in front of the camera."""
    cam = model.camera(camera).id
    rotation = data.cam_xmat[cam].reshape(3, 3)  # columns: the camera's x (right), y (up), z (backwards)
    local = (np.asarray(points) - data.cam_xpos[cam]) @ rotation
    depth = -local[:, 2]
    focal = 0.5 * height / np.tan(np.deg2rad(model.cam_fovy[cam]) / 2)
    with np.errstate(divide="ignore", invalid="ignore"):
        column = width / 2 + focal * local[:, 0] / depth
        row = height / 2 - focal * local[:, 1] / depth
    return np.stack([column, row], axis=1), depth > 0


def block_box(sim, colour: str, camera: str = GROUNDING_CAMERA, size: tuple[int, int] = (100, 100)):
    """The pixel box (left, top, right, bottom) of a block's eight corners in ``camera``'s image, or
    None when a corner is behind the camera or the box leaves the image."""
    geom = sim.model.geom(f"block_{colour}").id
    half = sim.model.geom_size[geom]
    signs = np.array([[sx, sy, sz] for sx in (-1, 1) for sy in (-1, 1) for sz in (-1, 1)], dtype=float)
    corners = sim.data.geom_xpos[geom] + (signs * half) @ sim.data.geom_xmat[geom].reshape(3, 3).T
    height, width = size
    pixels, in_front = project(sim.model, sim.data, camera, corners, height, width)
    if not in_front.all():
        return None
    left, top = pixels.min(axis=0)
    right, bottom = pixels.max(axis=0)
    if left < 0 or top < 0 or right > width or bottom > height:
        return None
    return left, top, right, bottom


def scene_questions(env, rng: np.random.Generator, per_scene: int) -> list[dict[str, str]]:
    """``per_scene`` question-answer pairs about the scene ``env`` (a reset TabletopEnv) shows now,
    kinds drawn in turn from ``QUESTION_KINDS`` (a kind with nothing to ask about is skipped).

    Returns dicts with ``kind``, ``question`` and ``answer`` (lower case, short)."""
    env = env.unwrapped
    sim, state = env.sim, env.symbolic_state
    mujoco.mj_forward(sim.model, sim.data)
    candidates: dict[str, list[tuple[str, str]]] = {kind: [] for kind in QUESTION_KINDS}

    furniture = [
        f"the drawer is {state.drawer}",
        f"the sliding door is on the {state.slider}",
        f"the led is {'on' if state.led else 'off'}",
        f"the light bulb is {'on' if state.lightbulb else 'off'}",
    ]
    blocks = [f"the {c} block is {place(state.block(c))}" for c in BLOCK_COLOURS]
    # two short captions rather than one long one: the longest answer sets a batch's padded length
    candidates["caption"] += [
        ("describe the desk.", ", ".join(furniture) + "."),
        ("describe the blocks.", ", ".join(blocks) + "."),
    ]

    candidates["state"] += [
        ("is the drawer open?", _yes(state.drawer == "open")),
        ("is the drawer closed?", _yes(state.drawer == "closed")),
        ("where is the sliding door?", state.slider),
        ("is the led on?", _yes(bool(state.led))),
        ("is the light bulb on?", _yes(bool(state.lightbulb))),
    ]
    for colour in BLOCK_COLOURS:
        candidates["location"].append((f"where is the {colour} block?", place(state.block(colour))))

    for location, words in _CONTAINERS.items():
        inside = [c for c in BLOCK_COLOURS if state.block(c) == location]
        if len(inside) == 1:
            candidates["colour"].append((f"which block is {words}?", f"the {inside[0]} block"))
    for colour in BLOCK_COLOURS:
        below = f"on_{colour}"
        above = [c for c in BLOCK_COLOURS if state.block(c) == below]
        if above:
            candidates["colour"].append((f"which block is on the {colour} block?", f"the {above[0]} block"))

    volume = {c: float(np.prod(sim.scene.half_extents(c))) for c in BLOCK_COLOURS}
    order = sorted(BLOCK_COLOURS, key=volume.get)
    if len(set(volume.values())) == len(BLOCK_COLOURS):
        candidates["size"] += [
            ("which block is the largest?", f"the {order[-1]} block"),
            ("which block is the smallest?", f"the {order[0]} block"),
        ]
        a, b = rng.choice(BLOCK_COLOURS, size=2, replace=False)
        candidates["size"].append((f"is the {a} block bigger than the {b} block?", _yes(volume[a] > volume[b])))

    on_table = [c for c in BLOCK_COLOURS if state.block(c) == "table"]
    boxes = {c: block_box(sim, c) for c in on_table}
    boxes = {c: b for c, b in boxes.items() if b is not None}
    visible = sorted(boxes)
    if len(visible) >= 2:
        a, b = rng.choice(visible, size=2, replace=False)
        centre = {c: (boxes[c][0] + boxes[c][2]) / 2 for c in visible}
        if abs(centre[a] - centre[b]) > 3:  # hundredths of the width: no question about a near tie
            candidates["spatial"] += [
                (f"is the {a} block left of the {b} block?", _yes(centre[a] < centre[b])),
                (f"is the {a} block right of the {b} block?", _yes(centre[a] > centre[b])),
            ]
        leftmost = min(visible, key=centre.get)
        candidates["spatial"].append(("which block on the table is furthest left?", f"the {leftmost} block"))
    for colour in visible:
        numbers = " ".join(str(int(np.clip(round(v), 0, 99))) for v in boxes[colour])
        candidates["grounding"].append((f"where is the {colour} block in the image?", numbers))

    kinds = [k for k in QUESTION_KINDS if candidates[k]]
    out: list[dict[str, Any]] = []
    start = int(rng.integers(len(kinds)))
    for i in range(per_scene):
        kind = kinds[(start + i) % len(kinds)]
        question, answer = candidates[kind][int(rng.integers(len(candidates[kind])))]
        out.append({"kind": kind, "question": question, "answer": answer})
    return out
