"""The tidying room's simulation: one compiled scene, which objects are out, and its named state.

Every object of the catalogue is compiled into the model once, parked below the floor without
contacts and with its weight compensated; an episode brings some of them onto the table
(``arrange``). So one model serves every episode of a scene, and renderers are made once.
Everything the tasks, the expert and the observations need is read here through named accessors.
"""

from __future__ import annotations

from dataclasses import dataclass

import mujoco
import numpy as np

from envs.errors import PhysicsError
from envs.robots.bytemini import SIDES, ByteMini
from envs.robots.bytemini_control import robot_state
from envs.tidy.objects import CLUTTER, KIND_INDEX, KINDS
from envs.tidy.scenes import DESTINATIONS, TABLE_TOP_Z, Scene, build_model
from envs.utils.appearance import Appearance
from envs.utils.rotations import mat_to_euler, quat_to_mat, yaw_to_quat

PHYSICS_DT = 0.0025  # seconds, MuJoCo timestep (tidy_room.xml)
N_SUBSTEPS = 20  # physics steps per control step
CONTROL_DT = PHYSICS_DT * N_SUBSTEPS  # seconds: 20 Hz control
MAX_OBJECTS = 9  # at most this many objects on the table (and slots in scene_obs)
MAX_QVEL = 1e3  # anything faster than this is a physics blow-up
ABOVE_RIM = 0.06  # metres: a centre of mass this far above a container's rim still counts as inside
# model fields that the variations (envs/tidy/variations.py) write; their compiled values are kept so
# that every reset can put the room back exactly as it was built
VISUAL_FIELDS = ("geom_rgba", "mat_rgba", "light_dir", "light_diffuse")


@dataclass(frozen=True)
class Placement:
    """Where an object or clutter item starts: centre on the table (m) and heading (rad)."""

    kind: str
    x: float
    y: float
    yaw: float

    def as_list(self) -> list:
        """Plain JSON, exact: a placement rebuilt from it puts things exactly where they were."""
        return [self.kind, self.x, self.y, self.yaw]


@dataclass(frozen=True)
class TidySnapshot:
    """What the oracles look at: where each object on the table is and what it touches."""

    com: dict[str, np.ndarray]  # kind -> centre of mass, world frame, metres
    mat: dict[str, np.ndarray]  # kind -> rotation matrix
    # kind -> what it touches: table, floor, tub, bin, tray, gripper, robot, clutter, obj_<kind>
    touching: dict[str, frozenset[str]]
    inside: dict[str, str | None]  # kind -> the container its centre of mass is in, if any

    def held(self, kind: str) -> bool:
        return "gripper" in self.touching[kind]

    def placed_in(self, kind: str) -> str | None:
        """The container the object lies in, not held; None if it is in none."""
        return None if self.held(kind) else self.inside[kind]


class TidySim(Appearance):
    """One scene of the tidying room: model, data, robot, and which objects are on the table."""

    def __init__(self, scene: Scene):
        self.scene = scene
        self.model = m = build_model(scene)
        self.data = mujoco.MjData(m)
        self.robot = ByteMini(m)
        self._body = {k: m.body(f"obj_{k}").id for k in KINDS}
        self._qadr = {k: m.joint(f"obj_{k}").qposadr[0] for k in KINDS}
        self._dadr = {k: m.joint(f"obj_{k}").dofadr[0] for k in KINDS}
        self._parked_pos = {k: m.body_pos[self._body[k]].copy() for k in KINDS}
        # geoms that collide once the object is out (the rest are only seen)
        self._solid = {
            k: [m.geom(f"obj_{k}_{j}").id for j, part in enumerate(kind.parts) if part.collides]
            for k, kind in KINDS.items()
        }
        self._clutter_body = {c: m.body(f"clutter_{c}").id for c in CLUTTER}
        self._clutter_parked = {c: m.body_pos[self._clutter_body[c]].copy() for c in CLUTTER}
        self._tray_body = m.body("tray").id
        self._tray_parked = m.body_pos[self._tray_body].copy()
        self._destination_body = {d: m.body(d).id for d in DESTINATIONS}
        self._geom_kind = {g: k for k, geoms in self._solid.items() for g in geoms}
        self._geom_label = self._label_geoms()
        self.objects: tuple[str, ...] = ()
        self.clutter: tuple[Placement, ...] = ()
        self.tray_out = False
        self.last_gripper_action = {side: 1.0 for side in SIDES}
        self._remember_appearance(VISUAL_FIELDS)

    def _label_geoms(self) -> dict[int, str]:
        m = self.model
        labels = {}
        for g in range(m.ngeom):
            body = m.geom_bodyid[g]
            if g in self.robot.pad_geoms:
                labels[g] = "gripper"
            elif body in self.robot.bodies:
                labels[g] = "robot"
            elif g in self._geom_kind:
                labels[g] = f"obj_{self._geom_kind[g]}"
            elif body in self._clutter_body.values():
                labels[g] = "clutter"
            elif m.geom(g).name == "floor":
                labels[g] = "floor"
            else:
                names = {self._destination_body[d]: d for d in DESTINATIONS} | {m.body("table").id: "table"}
                labels[g] = names.get(body, "world")
        return labels

    # --- setting the table -----------------------------------------------------------------
    def arrange(self, objects: list[Placement], clutter: list[Placement], tray: bool) -> None:
        """Put these objects and clutter items on the table (everything else parked) and bring out
        the tray or not. Object poses are set; the caller settles the physics."""
        m = self.model
        if len(objects) > MAX_OBJECTS:
            raise ValueError(f"at most {MAX_OBJECTS} objects fit the table, got {len(objects)}")
        out = {p.kind for p in objects}
        for kind in KINDS:
            active = kind in out
            body = self._body[kind]
            m.body_gravcomp[body] = 0.0 if active else 1.0
            # the broad phase skips bodies by their own (compiled) contype, so set both
            m.body_contype[body] = m.body_conaffinity[body] = 1 if active else 0
            for g in self._solid[kind]:
                m.geom_contype[g] = m.geom_conaffinity[g] = 1 if active else 0
            if not active:
                self.set_object_pose(kind, self._parked_pos[kind], 0.0)
        for p in objects:
            self.set_object_pose(p.kind, np.array([p.x, p.y, TABLE_TOP_Z]), p.yaw)
        for name, body in self._clutter_body.items():
            m.body_pos[body] = self._clutter_parked[name]
            m.body_quat[body] = [1.0, 0.0, 0.0, 0.0]
        for p in clutter:
            body = self._clutter_body[p.kind]
            m.body_pos[body] = [p.x, p.y, TABLE_TOP_Z]
            m.body_quat[body] = yaw_to_quat(p.yaw)
        tray_xy = self.scene.destination_xy("tray")
        m.body_pos[self._tray_body] = [*tray_xy, TABLE_TOP_Z] if tray else self._tray_parked
        self.objects = tuple(p.kind for p in objects)
        self.clutter = tuple(clutter)
        self.tray_out = tray

    def set_object_pose(self, kind: str, pos: np.ndarray, yaw: float) -> None:
        """Teleport an object, at rest: ``pos`` is where the middle of its underside goes (m), and
        it stands upright with heading ``yaw`` (rad)."""
        adr, dadr = self._qadr[kind], self._dadr[kind]
        self.data.qpos[adr : adr + 3] = pos
        self.data.qpos[adr + 3 : adr + 7] = yaw_to_quat(yaw)
        self.data.qvel[dadr : dadr + 6] = 0.0

    # --- named state -----------------------------------------------------------------------
    def object_pose(self, kind: str) -> tuple[np.ndarray, np.ndarray]:
        """Origin (the middle of the object's underside, metres) and rotation matrix."""
        adr = self._qadr[kind]
        return self.data.qpos[adr : adr + 3].copy(), quat_to_mat(self.data.qpos[adr + 3 : adr + 7])

    def object_com(self, kind: str) -> np.ndarray:
        return self.data.xipos[self._body[kind]].copy()

    def destination_xy(self, name: str) -> np.ndarray:
        """Centre of a container in the world, metres (the tray's place even while it is parked)."""
        return self.scene.destination_xy(name)

    def container_of(self, point: np.ndarray) -> str | None:
        for name, box in DESTINATIONS.items():
            if name == "tray" and not self.tray_out:
                continue
            dx, dy = np.abs(point[:2] - self.destination_xy(name))
            inside_xy = dx < box.inner_half[0] and dy < box.inner_half[1]
            if inside_xy and box.floor_z - 0.01 < point[2] < box.rim_z + ABOVE_RIM:
                return name
        return None

    # --- contacts and snapshots ------------------------------------------------------------
    def object_contacts(self) -> dict[str, frozenset[str]]:
        touching: dict[str, set[str]] = {k: set() for k in self.objects}
        for i in range(self.data.ncon):
            contact = self.data.contact[i]
            if contact.dist > 1e-3:
                continue
            g1, g2 = contact.geom1, contact.geom2
            for a, b in ((g1, g2), (g2, g1)):
                kind = self._geom_kind.get(a)
                if kind in touching:
                    touching[kind].add(self._geom_label[b])
        return {k: frozenset(t) for k, t in touching.items()}

    def snapshot(self) -> TidySnapshot:
        com = {k: self.object_com(k) for k in self.objects}
        return TidySnapshot(
            com=com,
            mat={k: self.object_pose(k)[1] for k in self.objects},
            touching=self.object_contacts(),
            inside={k: self.container_of(c) for k, c in com.items()},
        )

    def scene_obs(self) -> np.ndarray:
        """Privileged scene state, 12 + 8 x ``MAX_OBJECTS`` = 84 numbers: for the tub, the bin and
        the tray, whether it is out (1/0) and its centre (x, y, z of its floor, m); then
        ``MAX_OBJECTS`` slots, in the episode's object order, each: present (1/0), kind index
        (``objects.KIND_INDEX``), centre of mass (m) and euler angles (rad, extrinsic xyz); empty
        slots are zeros."""
        parts = []
        for name, box in DESTINATIONS.items():
            out = name != "tray" or self.tray_out
            parts.append([float(out), *self.destination_xy(name), box.floor_z])
        slots = np.zeros((MAX_OBJECTS, 8))
        for i, kind in enumerate(self.objects):
            _, mat = self.object_pose(kind)
            slots[i] = [1.0, KIND_INDEX[kind], *self.object_com(kind), *mat_to_euler(mat)]
        return np.concatenate([np.ravel(parts), slots.ravel()]).astype(np.float32)

    def robot_obs(self) -> np.ndarray:
        """Proprioception, 39 numbers (see ``TidyEnv``'s docstring for the layout)."""
        return robot_state(self.robot, self.data, self.last_gripper_action)

    # --- stepping --------------------------------------------------------------------------
    def forward(self) -> None:
        mujoco.mj_forward(self.model, self.data)

    def step(self, n_substeps: int = N_SUBSTEPS) -> None:
        mujoco.mj_step(self.model, self.data, nstep=n_substeps)
        # mj_step leaves poses and contacts at the state before its last integration; bring them
        # up to date so observations, oracles and a restored copy all see the current state
        mujoco.mj_fwdPosition(self.model, self.data)
        if not np.all(np.isfinite(self.data.qpos)) or np.abs(self.data.qvel).max() > MAX_QVEL:
            raise PhysicsError(
                f"the simulation became unstable at t={self.data.time:.3f}s (non-finite or exploding "
                "state); this episode cannot continue — reset the environment"
            )
