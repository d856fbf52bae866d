"""How an agent commands ByteMini, shared by every ByteMini environment (the tidying room, the
cloth room): the action spaces, turning an action into servo targets, and the no-op.

``joint`` (default), 19-D, as GR-3 commands the robot: base forward and leftward velocity (m/s,
robot frame) and yaw rate (rad/s); each arm's 7 joint position targets (rad, absolute, clipped to
the joint ranges; the servo target moves towards them at most ``ARM_MAX_SPEED``); the two grippers.
``ee``, 17-D: the same base velocities; each tool centre point's relative motion, xyz
(``MAX_REL_POS`` per unit) and extrinsic-xyz euler rotation (``MAX_REL_ORN`` per unit), in the base
frame, relative to the measured pose as CALVIN's; the grippers. Grippers >= 0 open. The lift and
head are held at configured poses.
"""

from __future__ import annotations

import functools
from typing import Any

import mujoco
import numpy as np
from gymnasium import spaces

from envs.robots.bytemini import ARM_MAX_SPEED, BASE_MAX_SPEED, REST_POSTURE, SIDES, ByteMini, grasp_orientation
from envs.utils.conventions import MAX_REL_ORN, MAX_REL_POS, checked_action
from envs.utils.rotations import euler_to_mat, mat_to_euler

ACTION_MODES = ("joint", "ee")


class ByteMiniControl:
    """What every ByteMini environment's robot side shares: its posture arguments, a step's action
    checked and written to the servos, the end-effector IK and the no-op.

    The environment sets ``control_dt`` (seconds per control step) and, once made, ``sim`` (with
    ``robot``, ``data``, ``last_gripper_action``), ``action_space`` and ``action_spec``.
    """

    control_dt: float

    def _init_control(self, action_mode: str, lift: float, head: tuple[float, float]) -> None:
        check_posture(action_mode, lift, head)
        self.action_mode = action_mode
        self.lift = float(lift)
        self.head = (float(head[0]), float(head[1]))

    def _apply_action(self, action) -> dict[str, bool]:
        """Check a step's action and write its servo targets; returns which grippers it opens."""
        if self.sim is None:
            raise RuntimeError("call reset() before step()")
        action = checked_action(action, self.action_space.shape, self._action_layout)
        sim = self.sim
        opened = apply_action(sim.robot, sim.data, action, self.action_mode, self.lift, self.head, self.control_dt)
        sim.last_gripper_action = {side: 1.0 if opened[side] else -1.0 for side in SIDES}
        return opened

    @functools.cached_property
    def _action_layout(self) -> str:
        """What an action's numbers are, for the error a malformed one gets (made once, not every step)."""
        return f"{', '.join(self.action_spec['layout'][:3])}, ... (action_mode {self.action_mode!r})"

    def joint_targets(self, ee_action: np.ndarray) -> np.ndarray:
        """The 14 arm joint targets (rad; left arm, then right) that an end-effector action asks for
        from the current state (``joint_targets``)."""
        return joint_targets(self.sim.robot, self.sim.data, ee_action)

    def no_op_action(self) -> np.ndarray:
        """The action that keeps the robot as it is: base still, grippers open, and the arms at
        their current joint targets (joint mode) or not moving (end-effector mode)."""
        sim = self.sim
        return no_op_action(sim and sim.robot, sim and sim.data, self.action_mode, self.action_space.shape)


def home_posture(
    sim, base: np.ndarray, lift: float, head: tuple[float, float], tcp: dict[str, np.ndarray], closing: float
) -> dict[str, np.ndarray]:
    """Arm joints that put each tool centre point at ``tcp[side]`` (base frame), pointing down, the
    fingers closing at ``closing`` (rad) about the base's z, with the base at ``base``; ``sim`` has
    ``robot``, ``data`` and ``forward()``."""
    q = {side: REST_POSTURE.copy() for side in SIDES}
    for _ in range(20):
        sim.robot.place(sim.data, base, lift, head, q)
        sim.forward()
        origin, rot = sim.robot.base_frame(sim.data)
        q = {
            side: arm.solve_ik(sim.data, origin + rot @ tcp[side], rot @ grasp_orientation(closing))
            for side, arm in sim.robot.arms.items()
        }
    return q


def check_posture(action_mode: str, lift: float, head: tuple[float, float]) -> None:
    """One clear error for an action mode, lift or head pose ByteMini does not have."""
    if action_mode not in ACTION_MODES:
        raise ValueError(f"action_mode must be 'joint' or 'ee', got {action_mode!r}")
    if not 0.0 <= lift <= 0.3:
        raise ValueError(f"lift must be between 0 and 0.3 m, got {lift!r}")
    if len(head) != 2 or not (-1.5 <= head[0] <= 1.5 and -0.5 <= head[1] <= 1.3):
        raise ValueError(f"head must be (pan in [-1.5, 1.5], tilt in [-0.5, 1.3]) radians, got {head!r}")


def action_space(
    robot: ByteMini, action_mode: str, lift: float, head: tuple[float, float], control_dt: float
) -> tuple[spaces.Box, dict[str, Any]]:
    """The Box of ``action_mode`` and its spec (layout, frames, units, limits) as data."""
    joint_low = np.concatenate([robot.arms[s].joint_low for s in SIDES])
    joint_high = np.concatenate([robot.arms[s].joint_high for s in SIDES])
    joints = [f"{side}_j{i}" for side in SIDES for i in range(1, 8)]
    base = ["base_forward", "base_left", "base_yaw_rate"]
    grippers = ["left_gripper", "right_gripper"]
    common = {
        "base": "forward and leftward velocity (m/s, robot frame), yaw rate (rad/s); limits 0.5, 0.5, 1.0",
        "gripper": "+1 open, -1 close (>= 0 opens)",
        "held": f"lift at {lift} m, head at pan {head[0]}, tilt {head[1]} rad",
        "control_hz": 1 / control_dt,
    }
    if action_mode == "joint":
        low = np.r_[-BASE_MAX_SPEED, joint_low, -1.0, -1.0].astype(np.float32)
        high = np.r_[BASE_MAX_SPEED, joint_high, 1.0, 1.0].astype(np.float32)
        spec = {
            "shape": (19,),
            "mode": "joint",
            "layout": base + joints + grippers,
            "frame": "robot (base); arm joints absolute",
            "units": "base m/s and rad/s; arm joint position targets in rad, clipped to the joint ranges",
            "arm_speed_limit": f"servo targets move towards the ones given at most {ARM_MAX_SPEED:g} rad/s",
            "low": low.tolist(),
            "high": high.tolist(),
            **common,
        }
        return spaces.Box(low, high), spec
    arm = ["x", "y", "z", "euler_x", "euler_y", "euler_z"]
    low = np.r_[-BASE_MAX_SPEED, -np.ones(12), -1.0, -1.0].astype(np.float32)
    spec = {
        "shape": (17,),
        "mode": "ee",
        "layout": base + [f"{s}_{a}" for s in SIDES for a in arm] + grippers,
        "frame": "robot (base): x forward, y left, z up",
        "units": f"arms relative: {MAX_REL_POS} m and {MAX_REL_ORN} rad per unit, clipped to [-1, 1]",
        "low": low.tolist(),
        "high": (-low).tolist(),
        **common,
    }
    return spaces.Box(low, -low), spec


def joint_targets(robot: ByteMini, data: mujoco.MjData, ee_action: np.ndarray) -> np.ndarray:
    """The 14 arm joint targets (rad; left arm, then right) that an end-effector action asks for
    from the current state: what ``ee`` mode does, for turning end-effector commands (a scripted
    expert's, say) into GR-3's joint actions."""
    origin, rot = robot.base_frame(data)
    targets = []
    for i, side in enumerate(SIDES):
        arm = robot.arms[side]
        rel = np.clip(ee_action[3 + 6 * i : 9 + 6 * i], -1.0, 1.0)
        pos, mat = arm.tcp_pose(data)
        pos_base, mat_base = rot.T @ (pos - origin), rot.T @ mat
        target_pos = origin + rot @ (pos_base + rel[:3] * MAX_REL_POS)
        target_mat = rot @ euler_to_mat(rel[3:6] * MAX_REL_ORN) @ mat_base
        targets.append(arm.solve_ik(data, target_pos, target_mat))
    return np.concatenate(targets)


def apply_action(
    robot: ByteMini,
    data: mujoco.MjData,
    action: np.ndarray,
    action_mode: str,
    lift: float,
    head: tuple[float, float],
    control_dt: float,
) -> dict[str, bool]:
    """Write a checked action's servo targets (base, posture, arms, grippers); returns which
    grippers it opens (side -> True)."""
    joints = joint_targets(robot, data, action) if action_mode == "ee" else action[3:17]
    robot.set_base_velocity(data, action[:3])
    robot.hold_posture(data, lift, head)
    opened = {}
    for i, side in enumerate(SIDES):
        arm = robot.arms[side]
        arm.set_joint_targets(data, joints[7 * i : 7 * i + 7], max_change=ARM_MAX_SPEED * control_dt)
        opened[side] = bool(action[-2 + i] >= 0)
        arm.set_gripper(data, opened[side])
    return opened


def no_op_action(robot: ByteMini | None, data: mujoco.MjData | None, action_mode: str, shape: tuple) -> np.ndarray:
    """The action that keeps the robot as it is: base still, grippers open, and the arms at
    their current joint positions (joint mode) or not moving (end-effector mode)."""
    if action_mode == "joint" and robot is not None:
        joints = [arm.joint_positions(data) for arm in robot.arms.values()]
        return np.r_[np.zeros(3), *joints, 1.0, 1.0]
    action = np.zeros(shape)
    action[-2:] = 1.0
    return action


def robot_state(robot: ByteMini, data: mujoco.MjData, last_gripper_action: dict[str, float]) -> np.ndarray:
    """Proprioception, 39 numbers (``envs.tidy.env.TidyEnv``'s docstring has the layout): base pose
    and velocity, lift, head, both arms' joints, gripper openings, both tool poses in the base
    frame, the last gripper commands."""
    origin, rot = robot.base_frame(data)
    tcp = []
    for arm in robot.arms.values():
        pos, mat = arm.tcp_pose(data)
        tcp += [rot.T @ (pos - origin), mat_to_euler(rot.T @ mat)]
    return np.concatenate(
        [
            robot.base_pose(data),
            robot.base_velocity(data),
            [robot.lift(data)],
            robot.head(data),
            *(arm.joint_positions(data) for arm in robot.arms.values()),
            [arm.gripper_width(data) for arm in robot.arms.values()],
            *tcp,
            [last_gripper_action[side] for side in SIDES],
        ]
    ).astype(np.float32)
