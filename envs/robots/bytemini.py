"""ByteMini, GR-3's mobile bimanual robot: state accessors, commands and the arms' inverse kinematics.

The model is ``envs/assets/bytemini.xml``: 22 DoF, 3 for the omnidirectional base (x, y, yaw), 1 for
the lift, 2 for the head (pan, tilt), 7 per arm and 1 per gripper. The base is driven by velocity
servos, everything else by position servos. An end-effector target becomes joint targets by damped
least squares on the tool-centre-point Jacobian, with a null-space pull towards a comfortable
posture so that the elbow stays up and out of the way.
"""

from __future__ import annotations

import mujoco
import numpy as np

from envs.utils.ik import IK_ITERATIONS, ArmChain
from envs.utils.rotations import topdown_mat

SIDES = ("left", "right")
BASE_JOINTS = ("base_x", "base_y", "base_yaw")
ARM_DOF = 7
N_DOF = 22  # 3 base + 1 lift + 2 head + 2 x 7 arms + 2 grippers (each a coupled pair of fingers)
BASE_MAX_SPEED = np.array([0.5, 0.5, 1.0])  # forward m/s, leftward m/s, yaw rate rad/s
# rad/s: how fast an arm joint's servo target may move; without a limit a far target whips the light
# hand round fast enough to fling what it pinches against the table
ARM_MAX_SPEED = 2.0
GRIPPER_OPEN = 0.065  # metres per finger: the pads stand 13 cm apart
GRIPPER_CLOSED = -0.01  # metres per finger: past touching, so that a grasp squeezes
LIFT_HEIGHT = 0.1  # metres: the lift's configured pose (shoulders 1.04 m above the floor)
HEAD_PAN = 0.0  # radians
HEAD_TILT = 0.85  # radians down: the head camera looks at the near half of the table
# shoulder pitch, yaw, roll, elbow, forearm roll, wrist pitch, wrist roll: elbow bent and up, the
# hand pointing down; the null-space attractor of both arms
REST_POSTURE = np.array([-0.5, 0.0, 0.0, 1.5, 0.0, 0.57, 0.0])


def grasp_orientation(closing_heading: float) -> np.ndarray:
    """Tool orientation pointing straight down whose fingers close along the horizontal heading
    ``closing_heading`` (radians from the frame's x axis)."""
    return topdown_mat(closing_heading + np.pi / 2)


class Arm:
    """One 7-DoF arm with its gripper."""

    def __init__(self, model: mujoco.MjModel, side: str):
        self.model = model
        self.side = side
        joints = [f"{side}_j{i}" for i in range(1, ARM_DOF + 1)]
        self.qpos_ids = np.array([model.joint(j).qposadr[0] for j in joints])
        self.dof_ids = np.array([model.joint(j).dofadr[0] for j in joints])
        self.joint_low = model.jnt_range[[model.joint(j).id for j in joints], 0].copy()
        self.joint_high = model.jnt_range[[model.joint(j).id for j in joints], 1].copy()
        self.actuators = np.array([model.actuator(j).id for j in joints])
        self.finger_qpos_ids = np.array([model.joint(f"{side}_finger_{f}").qposadr[0] for f in "ab"])
        self.finger_dof_ids = np.array([model.joint(f"{side}_finger_{f}").dofadr[0] for f in "ab"])
        self.gripper_actuator = model.actuator(f"{side}_gripper").id
        self.tcp_site = model.site(f"{side}_tcp").id
        self.pad_geoms = frozenset(model.geom(f"{side}_pad_{f}").id for f in "ab")
        self._chain = ArmChain(
            model, mujoco.MjData(model), self.qpos_ids, self.dof_ids, self.tcp_site, self.joint_low, self.joint_high
        )

    # --- state -----------------------------------------------------------------------------
    def joint_positions(self, data: mujoco.MjData) -> np.ndarray:
        return data.qpos[self.qpos_ids].copy()

    def tcp_pose(self, data: mujoco.MjData) -> tuple[np.ndarray, np.ndarray]:
        """Position (m) and rotation matrix of the tool centre point, world frame."""
        return data.site_xpos[self.tcp_site].copy(), data.site_xmat[self.tcp_site].reshape(3, 3).copy()

    def gripper_width(self, data: mujoco.MjData) -> float:
        """Distance between the finger pads, metres."""
        return float(data.qpos[self.finger_qpos_ids].sum())

    # --- commands --------------------------------------------------------------------------
    def set_joint_targets(self, data: mujoco.MjData, q: np.ndarray, max_change: float | None = None) -> None:
        """Servo targets (rad), clipped to the joint ranges and, with ``max_change``, to within that
        many radians of the current targets: the joints' speed limit."""
        q = np.clip(q, self.joint_low, self.joint_high)
        if max_change is not None:
            current = data.ctrl[self.actuators]
            q = np.clip(q, current - max_change, current + max_change)
        data.ctrl[self.actuators] = q

    def set_gripper(self, data: mujoco.MjData, open_: bool) -> None:
        data.ctrl[self.gripper_actuator] = GRIPPER_OPEN if open_ else GRIPPER_CLOSED

    def place(self, data: mujoco.MjData, q: np.ndarray, gripper_open: bool) -> None:
        """Teleport the arm to ``q`` at rest and hold it there (used when building initial states)."""
        data.qpos[self.qpos_ids] = q
        data.qvel[self.dof_ids] = 0.0
        data.qpos[self.finger_qpos_ids] = GRIPPER_OPEN if gripper_open else 0.0
        data.qvel[self.finger_dof_ids] = 0.0
        self.set_joint_targets(data, q)
        self.set_gripper(data, gripper_open)

    def solve_ik(
        self, data: mujoco.MjData, pos: np.ndarray, mat: np.ndarray, iterations: int = IK_ITERATIONS
    ) -> np.ndarray:
        """Joint targets that bring the tool centre point to (pos, mat), world frame, starting from
        the arm's current joints; the rest of the robot (base, lift) stays where it is."""
        return self._chain.solve(data, pos, mat, REST_POSTURE, iterations)


class ByteMini:
    """Reads and commands the ByteMini in a compiled model."""

    def __init__(self, model: mujoco.MjModel):
        self.model = model
        self.base_qpos_ids = np.array([model.joint(j).qposadr[0] for j in BASE_JOINTS])
        self.base_dof_ids = np.array([model.joint(j).dofadr[0] for j in BASE_JOINTS])
        self.base_actuators = np.array([model.actuator(j).id for j in BASE_JOINTS])
        self.lift_qpos_id = model.joint("lift").qposadr[0]
        self.head_qpos_ids = np.array([model.joint(j).qposadr[0] for j in ("head_pan", "head_tilt")])
        self.lift_actuator = model.actuator("lift").id
        self.head_actuators = np.array([model.actuator(j).id for j in ("head_pan", "head_tilt")])
        self.arms = {side: Arm(model, side) for side in SIDES}
        base = model.body("bm_base").id
        self.bodies = frozenset(b for b in range(model.nbody) if model.body_rootid[b] == base)
        self.dof_ids = np.array([d for d in range(model.nv) if model.dof_bodyid[d] in self.bodies])
        self.pad_geoms = frozenset().union(*(arm.pad_geoms for arm in self.arms.values()))

    # --- state -----------------------------------------------------------------------------
    def base_pose(self, data: mujoco.MjData) -> np.ndarray:
        """x (m), y (m), yaw (rad) of the base in the world frame."""
        return data.qpos[self.base_qpos_ids].copy()

    def base_velocity(self, data: mujoco.MjData) -> np.ndarray:
        """Forward and leftward speed (m/s) in the robot's frame and yaw rate (rad/s)."""
        vx, vy, wz = data.qvel[self.base_dof_ids]
        c, s = np.cos(self.base_pose(data)[2]), np.sin(self.base_pose(data)[2])
        return np.array([c * vx + s * vy, -s * vx + c * vy, wz])

    def base_frame(self, data: mujoco.MjData) -> tuple[np.ndarray, np.ndarray]:
        """Origin and rotation matrix of the base frame (x forward, y left, z up) in the world."""
        x, y, yaw = self.base_pose(data)
        c, s = np.cos(yaw), np.sin(yaw)
        return np.array([x, y, 0.0]), np.array([[c, -s, 0.0], [s, c, 0.0], [0.0, 0.0, 1.0]])

    def lift(self, data: mujoco.MjData) -> float:
        return float(data.qpos[self.lift_qpos_id])

    def head(self, data: mujoco.MjData) -> np.ndarray:
        """Pan and tilt, radians."""
        return data.qpos[self.head_qpos_ids].copy()

    # --- commands --------------------------------------------------------------------------
    def set_base_velocity(self, data: mujoco.MjData, velocity: np.ndarray) -> None:
        """Forward and leftward speed (m/s, robot frame) and yaw rate (rad/s), clipped to the limits."""
        vx, vy, wz = np.clip(velocity, -BASE_MAX_SPEED, BASE_MAX_SPEED)
        yaw = self.base_pose(data)[2]
        c, s = np.cos(yaw), np.sin(yaw)
        data.ctrl[self.base_actuators] = [c * vx - s * vy, s * vx + c * vy, wz]

    def hold_posture(self, data: mujoco.MjData, lift: float, head: tuple[float, float]) -> None:
        data.ctrl[self.lift_actuator] = lift
        data.ctrl[self.head_actuators] = head

    def place(
        self,
        data: mujoco.MjData,
        base: np.ndarray,
        lift: float,
        head: tuple[float, float],
        arm_q: dict[str, np.ndarray],
        gripper_open: bool = True,
    ) -> None:
        """Teleport the whole robot at rest to a pose and hold it there."""
        data.qpos[self.base_qpos_ids] = base
        data.qvel[self.dof_ids] = 0.0
        data.ctrl[self.base_actuators] = 0.0
        data.qpos[self.lift_qpos_id] = lift
        data.qpos[self.head_qpos_ids] = head
        self.hold_posture(data, lift, head)
        for side, arm in self.arms.items():
            arm.place(data, arm_q[side], gripper_open)
