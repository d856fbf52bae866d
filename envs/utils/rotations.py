"""Rotation helpers. Euler angles follow CALVIN (PyBullet): extrinsic x-y-z, R = Rz(c) Ry(b) Rx(a)."""

from __future__ import annotations

import numpy as np


def euler_to_mat(euler: np.ndarray) -> np.ndarray:
    a, b, c = euler
    ca, sa, cb, sb, cc, sc = np.cos(a), np.sin(a), np.cos(b), np.sin(b), np.cos(c), np.sin(c)
    return np.array(
        [
            [cc * cb, cc * sb * sa - sc * ca, cc * sb * ca + sc * sa],
            [sc * cb, sc * sb * sa + cc * ca, sc * sb * ca - cc * sa],
            [-sb, cb * sa, cb * ca],
        ]
    )


def mat_to_euler(mat: np.ndarray) -> np.ndarray:
    sy = np.hypot(mat[0, 0], mat[1, 0])
    if sy > 1e-6:
        return np.array(
            [np.arctan2(mat[2, 1], mat[2, 2]), np.arctan2(-mat[2, 0], sy), np.arctan2(mat[1, 0], mat[0, 0])]
        )
    # gimbal lock: pitch is +-90 degrees and roll and yaw share one axis
    return np.array([np.arctan2(-mat[1, 2], mat[1, 1]), np.arctan2(-mat[2, 0], sy), 0.0])


def quat_to_mat(quat: np.ndarray) -> np.ndarray:
    """MuJoCo quaternion (w, x, y, z) to a rotation matrix."""
    w, x, y, z = quat / np.linalg.norm(quat)
    return np.array(
        [
            [1 - 2 * (y * y + z * z), 2 * (x * y - z * w), 2 * (x * z + y * w)],
            [2 * (x * y + z * w), 1 - 2 * (x * x + z * z), 2 * (y * z - x * w)],
            [2 * (x * z - y * w), 2 * (y * z + x * w), 1 - 2 * (x * x + y * y)],
        ]
    )


def yaw_to_quat(yaw: float) -> np.ndarray:
    return np.array([np.cos(yaw / 2), 0.0, 0.0, np.sin(yaw / 2)])


def rotvec_from_mat(mat: np.ndarray) -> np.ndarray:
    """Axis-angle vector of a rotation matrix (the rotation's log map)."""
    cos = np.clip((np.trace(mat) - 1) / 2, -1.0, 1.0)
    angle = np.arccos(cos)
    axis = np.array([mat[2, 1] - mat[1, 2], mat[0, 2] - mat[2, 0], mat[1, 0] - mat[0, 1]])
    if angle < 1e-6:
        return axis / 2
    if np.pi - angle < 1e-4:
        # near 180 degrees the antisymmetric part vanishes; read the axis off the diagonal
        diag = np.sqrt(np.clip((np.diag(mat) + 1) / 2, 0, None))
        i = int(np.argmax(diag))
        axis = mat[:, i] + np.eye(3)[i]
        return angle * axis / np.linalg.norm(axis)
    return angle * axis / (2 * np.sin(angle))


def topdown_mat(yaw: float) -> np.ndarray:
    """Orientation of a gripper pointing straight down whose x axis has heading ``yaw``.

    The fingers close along the frame's y axis, (sin yaw, -cos yaw, 0).
    """
    c, s = np.cos(yaw), np.sin(yaw)
    return np.array([[c, s, 0.0], [s, -c, 0.0], [0.0, 0.0, -1.0]])
