"""The cloth table's simulation: one compiled model per garment geometry, its particles, the grasp.

The garment is a MuJoCo flex (``flexcomp type="direct"``: one body with three slide joints per
vertex) with membrane and bending elasticity, integrated by MuJoCo 4's ``discrete`` integrator:
the only one that still integrates flex elasticity implicitly (``scripts/cloth_models.py``
measures the alternatives). Self-collision is off: on a folded sheet it costs 14x the step time (measured there),
so a folded layer lies through the one under it instead of on it; every score reads particle
positions, which this does not change.

**Contacts.** The cloth touches the table only (collision bits): the robot passes through it.
With the pads colliding with a folded sheet, a pinch of the top flap lifted the layer under it
too (docs/cloth.md has the measurement).

**The grasp rule** (as SoftGym's pickers): when the gripper is commanded closed and its pads
have closed to at most ``PINCH_WIDTH``, every vertex inside the
box between the pads (grown by the vertex radius) that lies, on the flat garment, within 1.5 grid
spacings of the pinched vertex nearest the fingers' axis is attached to the hand where it is,
by an equality constraint (so a pinch takes one sheet of a pile, not every layer under the pads);
opening the gripper lets every attached vertex go. An open gripper, or one closed away from the
cloth, attaches nothing.
"""

from __future__ import annotations

from dataclasses import dataclass

import mujoco
import numpy as np

from envs.assets import asset_path
from envs.cloth.garments import Garment
from envs.errors import PhysicsError
from envs.robots.panda import PandaArm
from envs.utils.appearance import Appearance

PHYSICS_DT = 0.01  # seconds (cloth_table.xml)
N_SUBSTEPS = 5  # physics steps per control step
CONTROL_DT = PHYSICS_DT * N_SUBSTEPS  # seconds: 20 Hz control
VERTEX_RADIUS = 0.003  # metres: a vertex's collision sphere, half the sheet's thickness
REFERENCE_YOUNG = 5e3  # Pa: the modulus models are compiled with; a garment's own is a rescale
GARMENT_MASS = 0.1  # kg for a 0.09 m^2 garment; scaled with its area
PINCH_WIDTH = 0.03  # metres between the pads at most, for a closed gripper to attach vertices
SAME_SHEET = 1.5  # grid spacings (on the flat garment) from the nearest pinched vertex that a pinch also takes
MAX_VERTICES = 400  # scene_obs has room for this many particles
MAX_QVEL = 1e3  # anything faster than this is a physics blow-up
# the box between the finger pads, hand frame (metres): pads 18 mm wide (x), from 64 to 112 mm past
# the hand (z); across y it is the pads' opening, read each time
PAD_HALF_X = 0.009
PAD_Z = (0.0644, 0.1124)
# how far past the pad tips a pinch still takes cloth: pads pressed onto a sheet on the table stop
# a few millimetres above the vertices under them
TIP_REACH = 0.006
PAD_INNER = 0.002  # metres from a finger's joint position to its pad's inner face
VISUAL_FIELDS = ("flex_rgba", "geom_rgba", "light_diffuse", "light_dir")  # every field an axis writes
RACK_PARKED = np.array([0.0, 0.0, -3.0])  # world (m): the hang task's rack when it is not in place


@dataclass(frozen=True)
class Rack:
    """The hang task's rack: a horizontal bar (a capsule) on two posts standing on the table, a
    mocap body ``rack`` in the model, parked below the floor except for ``hang``. Where it stands
    is the cloth table's: ``centre`` of the bar (world, m) when in place, ``along`` the horizontal
    axis the bar lies along (0: x, 1: y), and ``beyond`` the direction across the bar (+1 or -1
    along the other horizontal axis) that points away from where the garment lies."""

    centre: np.ndarray
    along: int
    beyond: float
    half_length: float = 0.24  # metres either way along the bar
    radius: float = 0.012

    @property
    def across(self) -> int:
        """The horizontal axis across the bar."""
        return 1 - self.along

    def past(self, points: np.ndarray) -> np.ndarray:
        """Which of ``points`` (N, 3) lie beyond the bar (on the far side from the garment's)."""
        offset = points[:, self.across] - self.centre[self.across]
        return offset < 0 if self.beyond < 0 else offset > 0

    def at(self, across: float, along: float, z: float) -> np.ndarray:
        """The world point ``across`` metres beyond the bar's axis (negative: short of it, on the
        garment's side), at ``along`` on the bar's axis and height ``z``."""
        point = np.empty(3)
        point[self.across] = self.centre[self.across] + self.beyond * across
        point[self.along], point[2] = along, z
        return point


# the Panda cloth table's rack (cloth_table.xml): a bar along y, left of the garment, 0.25 m above the table
PANDA_RACK = Rack(centre=np.array([-0.3, -0.1, 0.25]), along=1, beyond=-1.0)


def flex_xml(garment: Garment, z: float = 0.0, contype: int = 2, conaffinity: int = 2) -> str:
    """The ``flexcomp`` of ``garment`` lying flat ``z`` above the world's origin (its vertices a
    radius higher), colliding by the given bits with whatever surfaces let it (the cloth table's
    plane and rack; never the robot)."""
    points = np.c_[garment.points, np.zeros(len(garment.points))]
    mass = GARMENT_MASS * garment.area / 0.09
    return (
        f'<flexcomp name="cloth" type="direct" dim="2" radius="{VERTEX_RADIUS}" mass="{mass:.6g}" '
        f'pos="0 0 {z + VERTEX_RADIUS:g}" rgba="0.2 0.4 0.8 1" '
        f'point="{" ".join(f"{v:.6f}" for v in points.ravel())}" '
        f'element="{" ".join(str(int(k)) for k in garment.triangles.ravel())}">'
        # the contact takes the surface's friction (its priority is higher), which set_material writes
        f'<contact condim="1" priority="2" solref="0.01 1" selfcollide="none" contype="{contype}" '
        f'conaffinity="{conaffinity}"/>'
        f'<elasticity young="{REFERENCE_YOUNG:g}" poisson="0.2" thickness="0.002" elastic2d="both"/>'
        "</flexcomp>"
    )


def grasps_xml(garment: Garment, hand: str, prefix: str = "grasp") -> str:
    """One inactive ``connect`` constraint per vertex of ``garment`` to the body ``hand``: the grasp
    rule switches them on (``{prefix}_{k}``)."""
    return "".join(
        f'<connect name="{prefix}_{k}" body1="{hand}" body2="cloth_{k}" anchor="0 0 0" active="false" '
        'solref="0.005 1"/>'
        for k in range(len(garment.points))
    )


def build_model(garment: Garment) -> mujoco.MjModel:
    """Compile the cloth table with ``garment`` (its geometry; the material is set per episode)."""
    # the cloth collides with the table only (bits 2; the robot's geoms are 1)
    text = asset_path("cloth_table.xml").read_text()
    text = text.replace("<!-- cloth -->", flex_xml(garment))
    text = text.replace("<!-- grasps -->", grasps_xml(garment, "panda_hand"))
    assets = {"panda.xml": asset_path("panda.xml").read_bytes()}
    return mujoco.MjModel.from_xml_string(text, assets)


@dataclass(frozen=True)
class ClothSnapshot:
    """What the task oracles look at: where every particle is and which ones the hand holds."""

    particles: np.ndarray  # (N, 3) world frame, metres
    held: frozenset[int]


class ClothSheet(Appearance):
    """What every cloth table's simulation shares, whatever robot stands at it: the compiled model
    with one garment geometry, the sheet's vertices, its material, its privileged observation, and
    the checked step, the hang task's rack. A subclass builds ``model`` (``build``), adds its robot
    and grasp rule, and says where its table top and rack are (``table_z``, ``rack``)."""

    table_z: float  # metres: the table top's height, world frame
    rack: Rack

    def _init_sheet(self, garment: Garment, model: mujoco.MjModel, visual_fields: tuple[str, ...]) -> None:
        self.garment = garment
        self.model = m = model
        self.data = mujoco.MjData(m)
        self.n = len(garment.points)
        if self.n > MAX_VERTICES:
            raise ValueError(f"a garment of {self.n} vertices does not fit scene_obs (at most {MAX_VERTICES})")
        self.flex_id = mujoco.mj_name2id(m, mujoco.mjtObj.mjOBJ_FLEX, "cloth")
        start = int(m.flex_vertadr[self.flex_id])
        self._vert_bodies = m.flex_vertbodyid[start : start + self.n].copy()
        joints = [m.body_jntadr[b] for b in self._vert_bodies]
        self._qadr = np.array([[m.jnt_qposadr[j + a] for a in range(3)] for j in joints])
        self._dadr = np.array([[m.jnt_dofadr[j + a] for a in range(3)] for j in joints])
        self._table = m.geom("table_surface").id
        self._rack = int(m.body("rack").mocapid[0])
        self._stiffness = m.flex_stiffness.copy()
        self._bending = m.flex_bending.copy()
        self.scene = _SceneName(garment.shape)
        self._remember_appearance(visual_fields)

    # --- material ---------------------------------------------------------------------------
    def set_material(self, garment: Garment) -> None:
        """Write a garment's stiffness, friction and colour into the model (geometry must match)."""
        if garment.geometry_key != self.garment.geometry_key:
            raise ValueError(f"garment {garment.geometry_key} does not match this model's {self.garment.geometry_key}")
        scale = garment.young / REFERENCE_YOUNG
        self.model.flex_stiffness[:] = self._stiffness * scale
        self.model.flex_bending[:] = self._bending * scale
        self.model.geom_friction[self._table, 0] = garment.friction  # the table's contact decides
        self.model.flex_rgba[self.flex_id] = [*garment.rgb, 1.0]
        self.garment = garment

    # --- the hang task's rack ----------------------------------------------------------------------
    def place_rack(self, in_place: bool) -> None:
        """Put the hang task's rack on the table, or park it out of sight and reach."""
        self.data.mocap_pos[self._rack] = self.rack.centre if in_place else RACK_PARKED

    @property
    def rack_in_place(self) -> bool:
        return bool(self.data.mocap_pos[self._rack, 2] > RACK_PARKED[2] + 1.0)

    # --- particles ----------------------------------------------------------------------------
    def particles(self) -> np.ndarray:
        """(N, 3) vertex positions, world frame, metres."""
        return self.data.xpos[self._vert_bodies].copy()

    def set_particles(self, positions: np.ndarray) -> None:
        """Put every vertex at ``positions`` (N, 3), at rest."""
        # vertex bodies hang off the world; their slide joints move them from where they were built
        rest = self.model.body_pos[self._vert_bodies]
        self.data.qpos[self._qadr] = positions - rest
        self.data.qvel[self._dadr] = 0.0

    def scene_obs(self, garment_index: int) -> np.ndarray:
        """Privileged: the garment's kind index, its vertex count, then every vertex's xyz (zeros
        past the count, up to ``MAX_VERTICES``)."""
        out = np.zeros(2 + 3 * MAX_VERTICES, dtype=np.float32)
        out[0], out[1] = garment_index, self.n
        out[2 : 2 + 3 * self.n] = self.particles().ravel()
        return out

    # --- stepping -------------------------------------------------------------------------------
    def forward(self) -> None:
        mujoco.mj_forward(self.model, self.data)

    def step(self, n_substeps: int = N_SUBSTEPS) -> None:
        step_cloth(self.model, self.data, n_substeps)


class ClothSim(ClothSheet):
    """One garment geometry on the cloth table: model, data, the Panda, the particles, the grasp."""

    table_z = 0.0
    rack = PANDA_RACK

    def __init__(self, garment: Garment):
        self._init_sheet(garment, build_model(garment), VISUAL_FIELDS)
        m = self.model
        self.arm = PandaArm(m)
        self.grasp_eq = np.array([m.equality(f"grasp_{k}").id for k in range(self.n)])
        self._hand = m.body("panda_hand").id
        self.last_gripper_action = 1.0

    # --- the grasp rule -------------------------------------------------------------------------
    def held(self) -> np.ndarray:
        """Indices of the vertices attached to the hand."""
        return np.flatnonzero(self.data.eq_active[self.grasp_eq])

    def pinched(self) -> np.ndarray:
        """Indices of the vertices inside the box between the pads, now."""
        d = self.data
        rot = d.xmat[self._hand].reshape(3, 3)
        local = (self.particles() - d.xpos[self._hand]) @ rot  # hand frame
        half_gap = 0.5 * self.arm.gripper_width(d) + PAD_INNER
        r = VERTEX_RADIUS
        inside = (
            (np.abs(local[:, 0]) <= PAD_HALF_X + r)
            & (np.abs(local[:, 1]) <= half_gap + r)
            & (local[:, 2] >= PAD_Z[0] - r)
            & (local[:, 2] <= PAD_Z[1] + r + TIP_REACH)
        )
        return np.flatnonzero(inside)

    def update_grasp(self, closed: bool) -> None:
        """Apply the grasp rule after a control step: attach what the closed pads pinch, or let go."""
        d, m = self.data, self.model
        if not closed:
            d.eq_active[self.grasp_eq] = 0
            return
        if self.held().size or self.arm.gripper_width(d) > PINCH_WIDTH:
            return
        pinched = self.pinched()
        if not pinched.size:
            return
        # one sheet only: the vertex nearest the point between the pads and those of the pinch
        # next to it on the garment itself (layers do not collide, so "the top one" is not defined)
        rot = d.xmat[self._hand].reshape(3, 3)
        across = ((self.particles()[pinched] - d.xpos[self._hand]) @ rot)[:, :2]  # off the fingers' axis
        nearest = pinched[np.argmin(np.linalg.norm(across, axis=1))]
        rest = self.garment.points
        pinched = pinched[np.linalg.norm(rest[pinched] - rest[nearest], axis=1) <= SAME_SHEET * self.garment.spacing]
        rot = d.xmat[self._hand].reshape(3, 3)
        local = (self.particles()[pinched] - d.xpos[self._hand]) @ rot
        eq = self.grasp_eq[pinched]
        m.eq_data[eq, 0:3] = local  # anchor in the hand's frame
        m.eq_data[eq, 3:6] = 0.0  # at the vertex body's origin
        d.eq_active[eq] = 1

    def release(self) -> None:
        self.data.eq_active[self.grasp_eq] = 0

    def grasp_anchors(self) -> np.ndarray:
        """Where each vertex would hang on the hand (the grasp constraints' anchors; pickling)."""
        return self.model.eq_data[self.grasp_eq].copy()

    def set_grasp_anchors(self, anchors: np.ndarray) -> None:
        self.model.eq_data[self.grasp_eq] = anchors

    # --- state ----------------------------------------------------------------------------------
    def snapshot(self) -> ClothSnapshot:
        return ClothSnapshot(self.particles(), frozenset(int(k) for k in self.held()))

    def robot_obs(self) -> np.ndarray:
        """CALVIN's 15-D robot state (``PandaArm.calvin_state``)."""
        return self.arm.calvin_state(self.data, self.last_gripper_action)


def step_cloth(model: mujoco.MjModel, data: mujoco.MjData, n_substeps: int) -> None:
    """Step a model with a cloth ``n_substeps`` times, bring poses up to date, and raise
    ``PhysicsError`` on a blow-up (non-finite state, or faster than ``MAX_QVEL``)."""
    mujoco.mj_step(model, data, nstep=n_substeps)
    mujoco.mj_fwdPosition(model, data)
    if not np.all(np.isfinite(data.qpos)) or np.abs(data.qvel).max() > MAX_QVEL:
        raise PhysicsError(
            f"the cloth simulation diverged at t={data.time:.2f} s (non-finite or >{MAX_QVEL:g} velocity)"
        )


@dataclass(frozen=True)
class _SceneName:
    """The renderer cache keys on ``sim.scene.name``: one model per garment geometry."""

    name: str
