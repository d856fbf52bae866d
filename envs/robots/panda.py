"""The Franka Panda arm: state accessors and the end-effector controller.

The arm is driven by joint position servos (``envs/assets/panda.xml``). An end-effector target is
turned into joint targets by damped least squares on the tool-centre-point Jacobian, with a
null-space pull towards a comfortable posture so the elbow does not wander.
"""

from __future__ import annotations

import mujoco
import numpy as np

from envs.utils.ik import IK_ITERATIONS, ArmChain
from envs.utils.rotations import mat_to_euler

ARM_JOINTS = tuple(f"panda_joint{i}" for i in range(1, 8))
FINGER_JOINTS = ("panda_finger_joint1", "panda_finger_joint2")
GRIPPER_OPEN = 0.04  # metres, per finger
GRIPPER_CLOSED = 0.0  # metres, per finger
# a posture near the middle of every joint's range, used as the null-space attractor
REST_POSTURE = np.array([0.0, -0.2, 0.0, -2.2, 0.0, 2.0, 0.785])


class PandaArm:
    """Reads and commands one Panda in a compiled model."""

    def __init__(self, model: mujoco.MjModel):
        self.model = model
        self.qpos_ids = np.array([model.joint(j).qposadr[0] for j in ARM_JOINTS])
        self.dof_ids = np.array([model.joint(j).dofadr[0] for j in ARM_JOINTS])
        self.finger_qpos_ids = np.array([model.joint(j).qposadr[0] for j in FINGER_JOINTS])
        self.joint_low = model.jnt_range[[model.joint(j).id for j in ARM_JOINTS], 0]
        self.joint_high = model.jnt_range[[model.joint(j).id for j in ARM_JOINTS], 1]
        self.arm_actuators = np.array([model.actuator(f"panda_act{i}").id for i in range(1, 8)])
        self.gripper_actuator = model.actuator("panda_gripper").id
        self.tcp_site = model.site("tcp").id
        self.base_body = model.body("panda_link0").id
        self.finger_geoms = frozenset((model.geom("left_pad").id, model.geom("right_pad").id))
        self.robot_bodies = frozenset(b for b in range(model.nbody) if model.body(b).name.startswith("panda_"))
        self._chain = ArmChain(
            model, mujoco.MjData(model), self.qpos_ids, self.dof_ids, self.tcp_site, self.joint_low, self.joint_high
        )

    # --- state -----------------------------------------------------------------------------
    def joint_positions(self, data: mujoco.MjData) -> np.ndarray:
        return data.qpos[self.qpos_ids].copy()

    def tcp_pose(self, data: mujoco.MjData) -> tuple[np.ndarray, np.ndarray]:
        return data.site_xpos[self.tcp_site].copy(), data.site_xmat[self.tcp_site].reshape(3, 3).copy()

    def gripper_width(self, data: mujoco.MjData) -> float:
        """Distance between the finger pads, metres."""
        return float(data.qpos[self.finger_qpos_ids].sum())

    def calvin_state(self, data: mujoco.MjData, last_gripper_action: float) -> np.ndarray:
        """CALVIN's 15-D robot state: TCP position, TCP euler angles, gripper opening width,
        7 arm joint positions, last gripper action (every Panda environment's ``robot_obs``)."""
        pos, mat = self.tcp_pose(data)
        return np.concatenate(
            [pos, mat_to_euler(mat), [self.gripper_width(data)], self.joint_positions(data), [last_gripper_action]]
        ).astype(np.float32)

    # --- commands --------------------------------------------------------------------------
    def set_gripper(self, data: mujoco.MjData, open_: bool) -> None:
        data.ctrl[self.gripper_actuator] = GRIPPER_OPEN if open_ else GRIPPER_CLOSED

    def set_joint_targets(self, data: mujoco.MjData, q: np.ndarray) -> None:
        data.ctrl[self.arm_actuators] = q

    def place(self, data: mujoco.MjData, q: np.ndarray, gripper_open: bool) -> None:
        """Teleport the arm to ``q`` at rest and hold it there (used when building initial states)."""
        data.qpos[self.qpos_ids] = q
        data.qvel[self.dof_ids] = 0.0
        width = GRIPPER_OPEN if gripper_open else GRIPPER_CLOSED
        data.qpos[self.finger_qpos_ids] = width
        self.set_joint_targets(data, q)
        self.set_gripper(data, gripper_open)

    def solve_ik(
        self, data: mujoco.MjData, pos: np.ndarray, mat: np.ndarray, iterations: int = IK_ITERATIONS
    ) -> np.ndarray:
        """Joint targets that bring the TCP to (pos, mat), starting from the arm's current joints."""
        # rest posture turned towards the target, so that the arm's plane (and with it the
        # forearm) points at what the hand reaches for instead of sweeping in from the side
        rest = REST_POSTURE.copy()
        local = data.xmat[self.base_body].reshape(3, 3).T @ (pos - data.xpos[self.base_body])
        rest[0] = np.arctan2(local[1], local[0])
        return self._chain.solve(data, pos, mat, rest, iterations)
