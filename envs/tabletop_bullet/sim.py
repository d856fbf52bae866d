"""The play table simulated by PyBullet, behind the MuJoCo table's interface.

``BulletPlayTableSim`` is a ``PlayTableSim`` whose physics, contacts and pictures come from PyBullet.
It keeps the compiled MuJoCo model and an ``MjData`` as a kinematic mirror: after every PyBullet
step the joint positions and velocities are copied into the mirror and MuJoCo's forward kinematics
run on them, so every named accessor, the arm's inverse kinematics, the tasks' success oracles, the
state sampler and the scripted expert read the twin exactly as they read the MuJoCo table. What a
caller writes into the mirror (a sampled initial state, a teleported arm) is pushed into PyBullet
before the next step.

So only the physics (contact model, solver, actuators, friction) and the renderer differ between
the two tables: the control law, the kinematics and the oracles are the same code.

MuJoCo features that PyBullet lacks are emulated here: joint friction loss (a velocity motor with
that much force), the button's spring (a torque each physics step), the position servos (PyBullet's
position motors with the actuators' force limits), the finger coupling (both fingers servo to the
same opening), gravity compensation (an upward force at each compensated body's centre of mass).
"""

from __future__ import annotations

import contextlib
import os
import sys
import tempfile
from pathlib import Path

import mujoco
import numpy as np

from envs.errors import PhysicsError
from envs.tabletop.scenes import BLOCK_COLOURS, Scene
from envs.tabletop.sim import MAX_QVEL, N_SUBSTEPS, PlayTableSim
from envs.tabletop_bullet.urdf import build_trees, geom_rgba, texture_mean
from envs.utils.rotations import quat_to_mat

SOLVER_ITERATIONS = 50
# PyBullet's position motor: a velocity constraint driving the joint error to zero. These gains make
# the TCP follow a relative action (a new target 2 cm on, every control step) as fast as MuJoCo's
# critically damped servos do: about 1.5 cm per step on a descent in both (measured while choosing
# them, against positionGain 0.02-0.3 and velocityGain 0.3-1; docs/tabletop_bullet.md); MuJoCo's arm
# coasts about 0.8 cm further when the targets stop, PyBullet's stops
POSITION_GAIN = 0.1
VELOCITY_GAIN = 1.0
CONTACT_DISTANCE = 1e-3  # metres: as PlayTableSim.block_contacts counts a MuJoCo contact


def _bullet():
    """The pybullet module; its import prints its build time to the process's stderr, kept out here."""
    if sys.modules.get("pybullet") is not None:
        return sys.modules["pybullet"]
    sys.stderr.flush()
    saved = os.dup(2)
    try:
        with open(os.devnull, "w") as null:
            os.dup2(null.fileno(), 2)
            import pybullet
    except ImportError as exc:
        raise ImportError("the PyBullet twin needs pybullet: pip install -e '.[bullet]'") from exc
    finally:
        os.dup2(saved, 2)
        os.close(saved)
    return pybullet


class BulletPlayTableSim(PlayTableSim):
    def __init__(self, scene: Scene):
        super().__init__(scene)  # the MuJoCo model: the description the twin is generated from, and the mirror
        self.p = _bullet()
        self.client = self.p.connect(self.p.DIRECT)
        self.trees = build_trees(self.model)
        self._folder = tempfile.TemporaryDirectory(prefix="grbench-bullet-")
        for tree in self.trees:
            (Path(self._folder.name) / f"{tree.name}.urdf").write_text(tree.urdf, encoding="utf-8")
        self._colours: dict[int, tuple[float, ...]] = {}
        self._texture_means: tuple[int | None, dict[int, np.ndarray]] = (None, {})  # (texture_version, means)
        self._synced: tuple[np.ndarray, np.ndarray] | None = None  # mirror state as last pulled
        mujoco.mj_forward(self.model, self.data)
        self._push()

    def _load(self) -> None:
        """A fresh PyBullet world with the scene's trees, their friction, motors and the maps
        between MuJoCo's geoms and joints and PyBullet's links.

        PyBullet keeps contact manifolds, pair caches and solver warm starts across resets of
        joints and bases (``restoreState`` included), so the same state would step differently after
        different histories: every push of the mirror starts from a new world (22 ms measured here, busy)."""
        p, m, c = self.p, self.model, self.client
        p.resetSimulation(physicsClientId=c)
        p.setGravity(*m.opt.gravity, physicsClientId=c)
        p.setTimeStep(float(m.opt.timestep), physicsClientId=c)
        p.setPhysicsEngineParameter(numSolverIterations=SOLVER_ITERATIONS, physicsClientId=c)
        self._body_id: dict[str, int] = {}
        self._link_index: dict[tuple[str, str], int] = {}  # (tree, link name) -> PyBullet link index
        for tree in self.trees:
            body = p.loadURDF(
                str(Path(self._folder.name) / f"{tree.name}.urdf"), useFixedBase=tree.kind != "free",
                flags=p.URDF_USE_INERTIA_FROM_FILE, physicsClientId=c,
            )  # fmt: skip
            self._body_id[tree.name] = body
            self._link_index[tree.name, tree.links[0]] = -1
            for j in range(p.getNumJoints(body, physicsClientId=c)):
                self._link_index[tree.name, p.getJointInfo(body, j, physicsClientId=c)[12].decode()] = j
        # where every MuJoCo geom and joint lives in PyBullet
        self._geom_at: dict[tuple[int, int], int] = {}  # (body id, link index) -> MuJoCo geom
        self._geom_place: dict[int, tuple[int, int]] = {}
        self._joints: list[tuple[int, int, int, int, int]] = []  # (qposadr, dofadr, body, link, MuJoCo joint)
        self._free: list[tuple[int, int, int]] = []  # (qposadr, dofadr, body)
        self._welded: list[tuple[int, int]] = []  # (MuJoCo body, PyBullet body): bases placed from MuJoCo
        for tree in self.trees:
            body = self._body_id[tree.name]
            for g, link in tree.geom_link.items():
                place = (body, self._link_index[tree.name, link])
                self._geom_at[place] = g
                self._geom_place[g] = place
                sliding, torsional, rolling = m.geom_friction[g]
                p.changeDynamics(*place, lateralFriction=float(sliding), spinningFriction=float(torsional),
                                 rollingFriction=float(rolling), physicsClientId=c)  # fmt: skip
            for j, link in tree.joint_link.items():
                qadr, dadr = int(m.jnt_qposadr[j]), int(m.jnt_dofadr[j])
                if m.jnt_type[j] == mujoco.mjtJoint.mjJNT_FREE:
                    self._free.append((qadr, dadr, body))
                else:
                    self._joints.append((qadr, dadr, body, self._link_index[tree.name, link], j))
            if tree.kind == "welded":
                self._welded.append((tree.root, body))
        self._servos = self._actuators()
        self._button = next((b, li) for q, d, b, li, j in self._joints if m.joint(j).name == "button_joint")
        self._button_stiffness = float(m.jnt_stiffness[m.joint("button_joint").id])
        servoed = {(b, li) for b, li, *_ in self._servos}
        for _, dadr, body, link, _ in self._joints:  # passive joints: friction loss as a velocity motor
            if (body, link) not in servoed:
                force = 0.0 if (body, link) == self._button else float(m.dof_frictionloss[dadr])
                p.setJointMotorControl2(body, link, p.VELOCITY_CONTROL, targetVelocity=0.0, force=force,
                                        physicsClientId=c)  # fmt: skip
        # MuJoCo's gravity compensation (the arm's bodies): an upward m g at each such body's centre of mass
        self._gravcomp: dict[int, list[tuple[int, list[float]]]] = {}  # PyBullet body -> (link, force)
        for tree in self.trees:
            for b, link in tree.body_link.items():
                if m.body_gravcomp[b] > 0 and m.body_mass[b] > 0:
                    force = (-m.opt.gravity * m.body_mass[b] * m.body_gravcomp[b]).tolist()
                    body = self._body_id[tree.name]
                    self._gravcomp.setdefault(body, []).append((self._link_index[tree.name, link], force))
        self._colours.clear()  # the URDF's colours are the compiled ones: sync_visuals repaints

    def _actuators(self) -> list[tuple[int, int, int, float]]:
        """(body, link, actuator, max force) per servoed joint; the gripper's drives both fingers."""
        m = self.model
        where = {j: (b, li) for _, _, b, li, j in self._joints}
        out = []
        for a in range(m.nu):
            j = int(m.actuator_trnid[a, 0])
            force = float(max(abs(m.actuator_forcerange[a, 0]), abs(m.actuator_forcerange[a, 1])))
            out.append((*where[j], a, force))
            if m.joint(j).name == "panda_finger_joint1":
                out.append((*where[m.joint("panda_finger_joint2").id], a, force))
        return out

    # --- mirror <-> PyBullet -----------------------------------------------------------------
    def _push(self) -> None:
        """Put PyBullet in the mirror's state (positions, velocities, welded bodies' poses)."""
        self._load()
        p, data, c = self.p, self.data, self.client
        for qadr, dadr, body, link, _ in self._joints:
            p.resetJointState(body, link, float(data.qpos[qadr]), float(data.qvel[dadr]), physicsClientId=c)
        for qadr, dadr, body in self._free:
            w, x, y, z = data.qpos[qadr + 3 : qadr + 7]
            pos = data.qpos[qadr : qadr + 3].tolist()
            p.resetBasePositionAndOrientation(body, pos, [x, y, z, w], physicsClientId=c)
            rot = quat_to_mat(data.qpos[qadr + 3 : qadr + 7])
            angular = rot @ data.qvel[dadr + 3 : dadr + 6]  # MuJoCo's free joint: body-frame angular velocity
            p.resetBaseVelocity(body, data.qvel[dadr : dadr + 3].tolist(), angular.tolist(), physicsClientId=c)
        for b, body in self._welded:
            w, x, y, z = data.xquat[b]
            p.resetBasePositionAndOrientation(body, data.xpos[b].tolist(), [x, y, z, w], physicsClientId=c)
        p.performCollisionDetection(physicsClientId=c)  # contacts of the new state, as mj_forward finds them
        self._synced = (data.qpos.copy(), data.qvel.copy())

    def _pull(self) -> None:
        """Copy PyBullet's joints and free bodies into the mirror and run MuJoCo's kinematics."""
        p, data, c = self.p, self.data, self.client
        for qadr, dadr, body, link, _ in self._joints:
            q, v, *_ = p.getJointState(body, link, physicsClientId=c)
            data.qpos[qadr], data.qvel[dadr] = q, v
        for qadr, dadr, body in self._free:
            pos, (x, y, z, w) = p.getBasePositionAndOrientation(body, physicsClientId=c)
            linear, angular = p.getBaseVelocity(body, physicsClientId=c)
            data.qpos[qadr : qadr + 7] = [*pos, w, x, y, z]
            data.qvel[dadr : dadr + 3] = linear
            data.qvel[dadr + 3 : dadr + 6] = quat_to_mat(data.qpos[qadr + 3 : qadr + 7]).T @ np.asarray(angular)
        mujoco.mj_kinematics(self.model, data)
        mujoco.mj_camlight(self.model, data)
        self._synced = (data.qpos.copy(), data.qvel.copy())

    def forget_caches(self) -> None:
        """Step next from a fresh PyBullet world in the mirror's state, as a copy of this simulator
        made from the mirror alone (an unpickled environment) does: then both step alike."""
        self._synced = None

    def _mirror_changed(self) -> bool:
        return self._synced is None or not (
            np.array_equal(self._synced[0], self.data.qpos) and np.array_equal(self._synced[1], self.data.qvel)
        )

    # --- stepping ------------------------------------------------------------------------------
    def forward(self) -> None:
        mujoco.mj_forward(self.model, self.data)
        self._push()

    def step(self, n_substeps: int = N_SUBSTEPS) -> None:
        p, c, data = self.p, self.client, self.data
        if self._mirror_changed():  # a caller moved something in the mirror: PyBullet follows
            mujoco.mj_kinematics(self.model, data)
            self._push()
        gains = {"positionGain": POSITION_GAIN, "velocityGain": VELOCITY_GAIN, "physicsClientId": c}
        for body, link, a, force in self._servos:
            target = float(data.ctrl[a])
            p.setJointMotorControl2(body, link, p.POSITION_CONTROL, targetPosition=target, force=force, **gains)
        button_body, button_link = self._button
        for _ in range(n_substeps):
            q = p.getJointState(button_body, button_link, physicsClientId=c)[0]
            p.setJointMotorControl2(button_body, button_link, p.TORQUE_CONTROL, force=-self._button_stiffness * q,
                                    physicsClientId=c)  # fmt: skip
            self._compensate_gravity()
            p.stepSimulation(physicsClientId=c)
        self._pull()
        data.time += n_substeps * self.model.opt.timestep
        self._update_lights()
        if not np.all(np.isfinite(data.qpos)) or np.abs(data.qvel).max() > MAX_QVEL:
            raise PhysicsError(
                f"the PyBullet simulation became unstable at t={data.time:.3f}s (non-finite or exploding state); "
                "this episode cannot continue — reset the environment"
            )

    def _compensate_gravity(self) -> None:
        """Forces last one physics step in PyBullet: applied before each."""
        p, c = self.p, self.client
        for body, links in self._gravcomp.items():
            states = p.getLinkStates(body, [link for link, _ in links], physicsClientId=c)
            for (link, force), state in zip(links, states, strict=True):
                p.applyExternalForce(body, link, force, state[0], p.WORLD_FRAME, physicsClientId=c)

    # --- contacts --------------------------------------------------------------------------------
    def block_contacts(self) -> dict[str, frozenset[str]]:
        """Labels of what each block touches, from PyBullet's contact points (as the MuJoCo table
        labels its own contacts: table, slider, drawer, furniture, gripper, robot, block_<c>)."""
        p, c = self.p, self.client
        touching: dict[str, set[str]] = {colour: set() for colour in BLOCK_COLOURS}
        for colour in BLOCK_COLOURS:
            body, link = self._geom_place[self.model.geom(f"block_{colour}").id]
            for point in p.getContactPoints(bodyA=body, linkIndexA=link, physicsClientId=c):
                if point[8] > CONTACT_DISTANCE:
                    continue
                other = self._geom_at.get((point[2], point[4]))
                if other is not None:
                    touching[colour].add(self._geom_label[other])
        return {colour: frozenset(t) for colour, t in touching.items()}

    # --- pictures ------------------------------------------------------------------------------
    def sync_visuals(self) -> None:
        """The lights' colours, and every geom's colour as the (possibly varied) model says."""
        super().sync_visuals()
        if self._texture_means[0] != self.texture_version:  # a texture's mean only moves when it is repainted
            m = self.model
            self._texture_means = (self.texture_version, {t: texture_mean(m, t) for t in range(m.ntex)})
        for g, (body, link) in self._geom_place.items():
            rgba = tuple(float(v) for v in geom_rgba(self.model, g, self._texture_means[1]))
            if self._colours.get(g) != rgba:
                self.p.changeVisualShape(body, link, rgbaColor=list(rgba), physicsClientId=self.client)
                self._colours[g] = rgba

    def render(self, camera: str, height: int, width: int) -> np.ndarray:
        """(height, width, 3) uint8 picture from a MuJoCo camera's pose and field of view, by
        PyBullet's software renderer, lit by the scene's first light."""
        p, m, data = self.p, self.model, self.data
        cam = m.camera(camera).id
        eye = data.cam_xpos[cam]
        frame = data.cam_xmat[cam].reshape(3, 3)  # columns: camera x, y (up), z (backwards)
        view = p.computeViewMatrix(eye.tolist(), (eye - frame[:, 2]).tolist(), frame[:, 1].tolist())
        extent = float(m.stat.extent)
        projection = p.computeProjectionMatrixFOV(
            float(m.cam_fovy[cam]), width / height, float(m.vis.map.znear * extent), float(m.vis.map.zfar * extent)
        )
        light = -m.light_dir[0] if m.nlight else np.array([0.0, 0.0, 1.0])
        _, _, rgba, _, _ = p.getCameraImage(
            width, height, view, projection,
            lightDirection=light.tolist(), lightColor=m.light_diffuse[0].tolist() if m.nlight else [1, 1, 1],
            lightAmbientCoeff=0.6, lightDiffuseCoeff=0.5, lightSpecularCoeff=0.05, shadow=0,
            renderer=p.ER_TINY_RENDERER, physicsClientId=self.client,
        )  # fmt: skip
        return np.asarray(rgba, dtype=np.uint8).reshape(height, width, 4)[..., :3].copy()

    def close(self) -> None:
        if getattr(self, "client", None) is not None and self.p.isConnected(self.client):
            self.p.disconnect(self.client)
        self.client = None
        if getattr(self, "_folder", None) is not None:
            self._folder.cleanup()

    def __del__(self):
        with contextlib.suppress(Exception):  # at interpreter shutdown PyBullet may be gone first
            self.close()
