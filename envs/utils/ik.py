"""Inverse kinematics shared by the arms: damped least squares on the tool-centre-point Jacobian,
with a null-space pull towards a rest posture on the first iteration."""

from __future__ import annotations

from dataclasses import dataclass

import mujoco
import numpy as np

from envs.utils.rotations import rotvec_from_mat

IK_DAMPING = 0.05  # damping of the least-squares solve (metres and radians of error)
IK_ITERATIONS = 3
NULLSPACE_GAIN = 0.5  # fraction of the way to the rest posture asked for in one solve


@dataclass
class ArmChain:
    """What one arm's solve needs from a compiled model: its joints' qpos and dof indices, its
    tool-centre-point site and limits, and scratch space (an MjData the solve may overwrite)."""

    model: mujoco.MjModel
    scratch: mujoco.MjData
    qpos_ids: np.ndarray
    dof_ids: np.ndarray
    tcp_site: int
    joint_low: np.ndarray
    joint_high: np.ndarray

    def __post_init__(self):
        self._jac_pos = np.zeros((3, self.model.nv))
        self._jac_rot = np.zeros((3, self.model.nv))

    def solve(
        self,
        data: mujoco.MjData,
        pos: np.ndarray,
        mat: np.ndarray,
        rest: np.ndarray,
        iterations: int = IK_ITERATIONS,
    ) -> np.ndarray:
        """Joint positions that bring the tool centre point to (pos, mat), world frame, starting from
        the arm's joints in ``data``; every other joint stays as it is in ``data``."""
        scratch, n = self.scratch, len(self.dof_ids)
        scratch.qpos[:] = data.qpos
        q = data.qpos[self.qpos_ids].copy()
        for i in range(iterations):
            scratch.qpos[self.qpos_ids] = q
            mujoco.mj_kinematics(self.model, scratch)
            mujoco.mj_comPos(self.model, scratch)
            cur_pos = scratch.site_xpos[self.tcp_site]
            cur_mat = scratch.site_xmat[self.tcp_site].reshape(3, 3)
            error = np.concatenate([pos - cur_pos, rotvec_from_mat(mat @ cur_mat.T)])
            mujoco.mj_jacSite(self.model, scratch, self._jac_pos, self._jac_rot, self.tcp_site)
            jac = np.vstack([self._jac_pos[:, self.dof_ids], self._jac_rot[:, self.dof_ids]])  # (6, n)
            jjt = jac @ jac.T + IK_DAMPING**2 * np.eye(6)
            jac_pinv = jac.T @ np.linalg.solve(jjt, np.eye(6))  # (n, 6)
            dq = jac_pinv @ error
            if i == 0:
                # drift towards the rest posture where the task allows; later iterations remove
                # what the damped projection leaks into the tool centre point
                dq += (np.eye(n) - jac_pinv @ jac) @ (NULLSPACE_GAIN * (rest - q))
            q = np.clip(q + dq, self.joint_low, self.joint_high)
        return q
