"""What can be on the table: the objects to tidy away and the clutter that stays.

Every object is a few primitives (cylinders, boxes, spheres, capsules) chosen so that a parallel
gripper coming from above can hold it: its side across the fingers is at most 11 cm, it is at least
1.8 cm tall, and it is grasped no lower than 3.5 cm below its top, where the palm would meet it.
Dishes and cutlery belong in the dish tub; rubbish and leftover food in the bin.
``TRAIN_KINDS`` appear in training scenes; ``UNSEEN_KINDS`` only under the ``object_set`` variation
or when a task names them.

Sizes are in metres: a geom's ``size`` is MuJoCo's (half extents, radius and half length); ``pos``
is relative to the object's origin, which lies on the object's underside (the table, when it rests).
"""

from __future__ import annotations

from dataclasses import dataclass

from envs.errors import unknown_name_error

DESTINATIONS = ("bin", "tub", "tray")
CATEGORY_DESTINATION = {"dish": "tub", "cutlery": "tub", "rubbish": "bin", "food": "bin"}


@dataclass(frozen=True)
class Part:
    shape: str  # box, cylinder, sphere, capsule or ellipsoid
    size: tuple[float, ...]  # MuJoCo's half sizes, metres
    pos: tuple[float, float, float]  # metres, from the object's origin on its underside
    rgba: tuple[float, float, float, float]
    collides: bool = True  # False: only seen (a handle, a bowl's dark inside)
    euler: tuple[float, float, float] = (0.0, 0.0, 0.0)  # radians, extrinsic xyz


@dataclass(frozen=True)
class ObjectKind:
    name: str
    category: str  # dish, cutlery, rubbish or food
    parts: tuple[Part, ...]
    mass: float  # kg
    height: float  # metres, when resting on its underside
    grasp_height: float  # metres above the underside where the tool centre point closes
    grasp_width: float  # metres between the finger pads when closed on it
    footprint: float  # metres: radius of a circle round its footprint
    # False: round, any heading will do; True: the gripper's closing axis must lie along the object's
    # y axis (a long thing is grasped across)
    long_axis: bool = False
    rolls: bool = False  # round: rolling friction keeps it from rolling away

    @property
    def destination(self) -> str:
        """Where tidying puts it."""
        return CATEGORY_DESTINATION[self.category]


def _rgba(r: float, g: float, b: float, a: float = 1.0) -> tuple[float, float, float, float]:
    return (r, g, b, a)


WHITE = _rgba(0.95, 0.95, 0.93)
STEEL = _rgba(0.72, 0.74, 0.78)
FINGER_TIP = 0.022  # metres the finger pads reach below the tool centre point (bytemini.xml)
MIN_GRASP_HEIGHT = FINGER_TIP + 0.004  # metres: the pads stay clear of the table

KINDS: dict[str, ObjectKind] = {
    k.name: k
    for k in (
        # --- seen in training -------------------------------------------------------------------
        ObjectKind(
            "cup",
            "dish",
            (
                Part("cylinder", (0.034, 0.045), (0, 0, 0.045), WHITE),
                Part("box", (0.01, 0.004, 0.02), (0.042, 0, 0.05), WHITE, collides=False),
                Part("cylinder", (0.029, 0.001), (0, 0, 0.09), _rgba(0.35, 0.2, 0.1), collides=False),
            ),
            mass=0.12,
            height=0.09,
            grasp_height=0.055,
            grasp_width=0.068,
            footprint=0.045,
        ),
        ObjectKind(
            "bowl",
            "dish",
            (
                Part("cylinder", (0.049, 0.025), (0, 0, 0.025), _rgba(0.93, 0.88, 0.74)),
                Part("cylinder", (0.041, 0.001), (0, 0, 0.05), _rgba(0.6, 0.52, 0.38), collides=False),
            ),
            mass=0.2,
            height=0.05,
            grasp_height=0.03,
            grasp_width=0.098,
            footprint=0.05,
        ),
        ObjectKind(
            "plate",
            "dish",
            (
                Part("cylinder", (0.052, 0.009), (0, 0, 0.009), _rgba(0.98, 0.98, 1.0)),
                Part("cylinder", (0.036, 0.0005), (0, 0, 0.018), _rgba(0.7, 0.8, 0.92), collides=False),
            ),
            mass=0.2,
            height=0.018,
            grasp_height=MIN_GRASP_HEIGHT,
            grasp_width=0.104,
            footprint=0.053,
        ),
        ObjectKind(
            "fork",
            "cutlery",
            (
                Part("box", (0.08, 0.011, 0.009), (0, 0, 0.009), STEEL),
                Part("box", (0.025, 0.002, 0.0015), (0.06, 0.006, 0.0185), _rgba(0.4, 0.42, 0.46), collides=False),
                Part("box", (0.025, 0.002, 0.0015), (0.06, -0.006, 0.0185), _rgba(0.4, 0.42, 0.46), collides=False),
            ),
            mass=0.04,
            height=0.018,
            grasp_height=MIN_GRASP_HEIGHT,
            grasp_width=0.022,
            footprint=0.08,
            long_axis=True,
        ),
        ObjectKind(
            "spoon",
            "cutlery",
            (
                Part("box", (0.055, 0.008, 0.009), (-0.025, 0, 0.009), STEEL),
                Part("ellipsoid", (0.028, 0.016, 0.009), (0.055, 0, 0.009), STEEL),
            ),
            mass=0.04,
            height=0.018,
            grasp_height=MIN_GRASP_HEIGHT,
            grasp_width=0.016,
            footprint=0.083,
            long_axis=True,
        ),
        ObjectKind(
            "can",
            "rubbish",
            (
                Part("cylinder", (0.031, 0.055), (0, 0, 0.055), _rgba(0.85, 0.1, 0.12)),
                Part("cylinder", (0.026, 0.001), (0, 0, 0.11), STEEL, collides=False),
            ),
            mass=0.04,
            height=0.11,
            grasp_height=0.075,
            grasp_width=0.062,
            footprint=0.035,
        ),
        ObjectKind(
            "paper_ball",
            "rubbish",
            (Part("sphere", (0.03,), (0, 0, 0.03), _rgba(0.9, 0.9, 0.8)),),
            mass=0.03,
            height=0.06,
            grasp_height=0.03,
            grasp_width=0.06,
            footprint=0.032,
            rolls=True,
        ),
        ObjectKind(
            "wrapper",
            "rubbish",
            (Part("box", (0.05, 0.03, 0.011), (0, 0, 0.011), _rgba(0.95, 0.55, 0.05)),),
            mass=0.03,
            height=0.022,
            grasp_height=MIN_GRASP_HEIGHT,
            grasp_width=0.06,
            footprint=0.058,
            long_axis=True,
        ),
        ObjectKind(
            "apple",
            "food",
            (
                Part("sphere", (0.036,), (0, 0, 0.036), _rgba(0.75, 0.12, 0.1)),
                Part("cylinder", (0.003, 0.008), (0, 0, 0.076), _rgba(0.35, 0.22, 0.1), collides=False),
            ),
            mass=0.15,
            height=0.072,
            grasp_height=0.036,
            grasp_width=0.072,
            footprint=0.038,
            rolls=True,
        ),
        ObjectKind(
            "banana",
            "food",
            (
                Part("capsule", (0.018, 0.06), (0, 0, 0.018), _rgba(0.96, 0.85, 0.2), euler=(0, 1.5708, 0)),
                Part("sphere", (0.008,), (0.078, 0, 0.02), _rgba(0.3, 0.25, 0.1), collides=False),
            ),
            mass=0.12,
            height=0.036,
            grasp_height=MIN_GRASP_HEIGHT,
            grasp_width=0.036,
            footprint=0.08,
            long_axis=True,
        ),
        ObjectKind(
            "bread",
            "food",
            (Part("box", (0.05, 0.035, 0.022), (0, 0, 0.022), _rgba(0.82, 0.6, 0.32)),),
            mass=0.06,
            height=0.044,
            grasp_height=0.028,
            grasp_width=0.07,
            footprint=0.062,
            long_axis=True,
        ),
        # --- never seen in training --------------------------------------------------------------
        ObjectKind(
            "mug",
            "dish",
            (
                Part("cylinder", (0.04, 0.048), (0, 0, 0.048), _rgba(0.15, 0.35, 0.75)),
                Part("box", (0.012, 0.005, 0.022), (0.05, 0, 0.05), _rgba(0.15, 0.35, 0.75), collides=False),
            ),
            mass=0.2,
            height=0.096,
            grasp_height=0.062,
            grasp_width=0.08,
            footprint=0.052,
        ),
        ObjectKind(
            "glass",
            "dish",
            (Part("cylinder", (0.028, 0.055), (0, 0, 0.055), _rgba(0.7, 0.85, 0.95, 0.6)),),
            mass=0.15,
            height=0.11,
            grasp_height=0.075,
            grasp_width=0.056,
            footprint=0.03,
        ),
        ObjectKind(
            "knife",
            "cutlery",
            (
                Part("box", (0.05, 0.009, 0.009), (-0.04, 0, 0.009), _rgba(0.15, 0.12, 0.1)),
                Part("box", (0.045, 0.008, 0.004), (0.05, 0, 0.004), STEEL),
            ),
            mass=0.05,
            height=0.018,
            grasp_height=MIN_GRASP_HEIGHT,
            grasp_width=0.018,
            footprint=0.095,
            long_axis=True,
        ),
        ObjectKind(
            "bottle",
            "rubbish",
            (
                Part("cylinder", (0.032, 0.065), (0, 0, 0.065), _rgba(0.2, 0.6, 0.3, 0.85)),
                Part("cylinder", (0.013, 0.025), (0, 0, 0.155), _rgba(0.2, 0.6, 0.3, 0.85)),
            ),
            mass=0.08,
            height=0.18,
            grasp_height=0.15,
            grasp_width=0.026,
            footprint=0.035,
        ),
        ObjectKind(
            "juice_box",
            "rubbish",
            (
                Part("box", (0.03, 0.022, 0.05), (0, 0, 0.05), _rgba(0.95, 0.85, 0.2)),
                Part("cylinder", (0.003, 0.015), (0.01, 0, 0.11), WHITE, collides=False),
            ),
            mass=0.05,
            height=0.1,
            grasp_height=0.065,
            grasp_width=0.044,
            footprint=0.038,
            long_axis=True,
        ),
        ObjectKind(
            "orange",
            "food",
            (Part("sphere", (0.037,), (0, 0, 0.037), _rgba(0.98, 0.5, 0.05)),),
            mass=0.15,
            height=0.074,
            grasp_height=0.037,
            grasp_width=0.074,
            footprint=0.039,
            rolls=True,
        ),
    )
}
TRAIN_KINDS = ("cup", "bowl", "plate", "fork", "spoon", "can", "paper_ball", "wrapper", "apple", "banana", "bread")
UNSEEN_KINDS = ("mug", "glass", "knife", "bottle", "juice_box", "orange")
# index of each kind in scene_obs; new kinds go at the end so that indices never change
KIND_INDEX = {name: i for i, name in enumerate(TRAIN_KINDS + UNSEEN_KINDS)}
# things an invalid request names: never on the table
ABSENT_THINGS = ("teapot", "laptop", "phone", "wine_bottle", "newspaper", "toy_car", "pizza_box", "sunglasses")


@dataclass(frozen=True)
class ClutterKind:
    """Something that belongs on the table and stays there: it is never tidied, only avoided."""

    name: str
    parts: tuple[Part, ...]
    footprint: float  # metres


CLUTTER: dict[str, ClutterKind] = {
    c.name: c
    for c in (
        ClutterKind(
            "vase",
            (
                Part("cylinder", (0.04, 0.06), (0, 0, 0.06), _rgba(0.3, 0.55, 0.6)),
                Part("sphere", (0.025,), (0, 0, 0.13), _rgba(0.9, 0.3, 0.5), collides=False),
            ),
            0.045,
        ),
        ClutterKind("salt", (Part("cylinder", (0.018, 0.04), (0, 0, 0.04), WHITE),), 0.02),
        ClutterKind("pepper", (Part("cylinder", (0.018, 0.04), (0, 0, 0.04), _rgba(0.15, 0.15, 0.15)),), 0.02),
        ClutterKind("napkin_holder", (Part("box", (0.05, 0.02, 0.04), (0, 0, 0.04), _rgba(0.55, 0.4, 0.25)),), 0.055),
        ClutterKind("candle", (Part("cylinder", (0.025, 0.05), (0, 0, 0.05), _rgba(0.95, 0.92, 0.8)),), 0.03),
    )
}


def get_kind(name: str) -> ObjectKind:
    if name not in KINDS:
        raise unknown_name_error("object", name, KINDS)
    return KINDS[name]
