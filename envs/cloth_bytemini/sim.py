"""The cloth room's simulation: ByteMini at a table with one garment, its particles, two hands' grasps.

The garment is the Panda cloth table's flex (``envs.cloth.sim.flex_xml``: same elasticity, same
integrator, same grasp rule), lying on a table 0.74 m high in front of ByteMini
(``envs/assets/cloth_room.xml``). Each hand has its own set of grasp constraints, one per vertex.

**The grasp rule**, per hand (as the Panda's, ``envs.cloth.sim``): when that gripper is commanded
closed and its pads have closed to at most ``PINCH_WIDTH``, every vertex inside the box between its
pads (in the tool frame: ``PAD_HALF_X`` across the pads, the pads' opening along the closing axis,
``PAD_Z`` along the fingers plus ``TIP_REACH`` past their tips, each grown by the vertex radius)
that lies, on the flat garment, within 1.5 grid spacings of the pinched vertex nearest the
fingers' axis is attached to the hand where it is; opening lets go. An open gripper, or one closed
away from the cloth, attaches nothing. Both hands may hold the garment at once (two corners).
"""

from __future__ import annotations

import mujoco
import numpy as np

from envs.assets import asset_path
from envs.cloth.garments import Garment
from envs.cloth.sim import (
    PINCH_WIDTH,
    SAME_SHEET,
    TIP_REACH,
    VERTEX_RADIUS,
    ClothSheet,
    ClothSnapshot,
    Rack,
    flex_xml,
    grasps_xml,
)
from envs.robots.bytemini import SIDES, ByteMini
from envs.robots.bytemini_control import robot_state

PHYSICS_DT = 0.01  # seconds (cloth_room.xml): the cloth's integrator, which ByteMini holds under
N_SUBSTEPS = 5  # physics steps per control step (as the Panda's cloth table: ClothSheet.step)
CONTROL_DT = PHYSICS_DT * N_SUBSTEPS  # seconds: 20 Hz control, as the tidying room's
TABLE_Z = 0.74  # metres: the table top (cloth_room.xml)
# the hang task's rack (cloth_room.xml): a bar along x on the robot's left (+y), beside where the
# garment lies, 0.25 m above the table as the Panda's; the left hand carries the garment over it
ROOM_RACK = Rack(centre=np.array([0.40, 0.34, TABLE_Z + 0.25]), along=0, beyond=1.0, half_length=0.22)
CLOTH_BITS = 4  # the cloth's contype and conaffinity: the table plane and the rack only, never the robot
# the box between a ByteMini hand's pads, tool frame (bytemini.xml: pads 24 mm wide, 62 mm long,
# reaching 22 mm past the tool centre point); across the closing axis it is the pads' opening
PAD_HALF_X = 0.012
PAD_Z = (-0.04, 0.022)
VISUAL_FIELDS = ("flex_rgba", "geom_rgba", "light_diffuse", "light_dir")


def build_model(garment: Garment) -> mujoco.MjModel:
    """Compile the cloth room with ``garment`` (its geometry; the material is set per episode)."""
    # held vertices hang on the hand (the wrist body), not a finger: opening would drag them along
    grasps = "".join(grasps_xml(garment, f"{side}_wrist", f"grasp_{side}") for side in SIDES)
    text = asset_path("cloth_room.xml").read_text()
    text = text.replace("<!-- cloth -->", flex_xml(garment, TABLE_Z, CLOTH_BITS, CLOTH_BITS))
    text = text.replace("<!-- grasps -->", grasps)
    return mujoco.MjModel.from_xml_string(text, {"bytemini.xml": asset_path("bytemini.xml").read_bytes()})


class ClothRoomSim(ClothSheet):
    """One garment geometry in the cloth room: model, data, ByteMini, the particles, the grasps."""

    table_z = TABLE_Z
    rack = ROOM_RACK

    def __init__(self, garment: Garment):
        self._init_sheet(garment, build_model(garment), VISUAL_FIELDS)
        m = self.model
        self.robot = ByteMini(m)
        self.grasp_eq = {side: np.array([m.equality(f"grasp_{side}_{k}").id for k in range(self.n)]) for side in SIDES}
        self._hand = {side: m.body(f"{side}_wrist").id for side in SIDES}
        self.last_gripper_action = {side: 1.0 for side in SIDES}

    # --- the grasp rule -------------------------------------------------------------------------
    def held(self, side: str | None = None) -> np.ndarray:
        """Indices of the vertices attached to one hand (``side``) or to either."""
        sides = SIDES if side is None else (side,)
        return np.unique(np.concatenate([np.flatnonzero(self.data.eq_active[self.grasp_eq[s]]) for s in sides]))

    def pinched(self, side: str) -> np.ndarray:
        """Indices of the vertices inside the box between one hand's pads, now."""
        arm = self.robot.arms[side]
        pos, rot = arm.tcp_pose(self.data)
        local = (self.particles() - pos) @ rot  # tool frame: y closes, z points out of the hand
        half_gap = 0.5 * arm.gripper_width(self.data)
        r = VERTEX_RADIUS
        inside = (
            (np.abs(local[:, 0]) <= PAD_HALF_X + r)
            & (np.abs(local[:, 1]) <= half_gap + r)
            & (local[:, 2] >= PAD_Z[0] - r)
            & (local[:, 2] <= PAD_Z[1] + r + TIP_REACH)
        )
        return np.flatnonzero(inside)

    def update_grasp(self, side: str, closed: bool) -> None:
        """Apply the grasp rule to one hand after a control step: attach what its closed pads
        pinch, or let go."""
        d, m = self.data, self.model
        eq = self.grasp_eq[side]
        if not closed:
            d.eq_active[eq] = 0
            return
        if self.held(side).size or self.robot.arms[side].gripper_width(d) > PINCH_WIDTH:
            return
        pinched = self.pinched(side)
        if not pinched.size:
            return
        pos, rot = self.robot.arms[side].tcp_pose(d)
        across = ((self.particles()[pinched] - pos) @ rot)[:, :2]  # off the fingers' axis
        nearest = pinched[np.argmin(np.linalg.norm(across, axis=1))]
        rest = self.garment.points
        pinched = pinched[np.linalg.norm(rest[pinched] - rest[nearest], axis=1) <= SAME_SHEET * self.garment.spacing]
        body = self._hand[side]
        frame = d.xmat[body].reshape(3, 3)
        m.eq_data[eq[pinched], 0:3] = (self.particles()[pinched] - d.xpos[body]) @ frame  # in the hand's frame
        m.eq_data[eq[pinched], 3:6] = 0.0
        d.eq_active[eq[pinched]] = 1

    def release(self) -> None:
        for side in SIDES:
            self.data.eq_active[self.grasp_eq[side]] = 0

    def grasp_anchors(self) -> dict[str, np.ndarray]:
        """Where each vertex would hang on each hand (the grasp constraints' anchors; pickling)."""
        return {side: self.model.eq_data[self.grasp_eq[side]].copy() for side in SIDES}

    def set_grasp_anchors(self, anchors: dict[str, np.ndarray]) -> None:
        for side in SIDES:
            self.model.eq_data[self.grasp_eq[side]] = anchors[side]

    # --- state ----------------------------------------------------------------------------------
    def snapshot(self) -> ClothSnapshot:
        return ClothSnapshot(self.particles(), frozenset(int(k) for k in self.held()))

    def robot_obs(self) -> np.ndarray:
        """Proprioception, 39 numbers: the tidying room's layout (``envs.tidy.sim.TidySim.robot_obs``)."""
        return robot_state(self.robot, self.data, self.last_gripper_action)
