"""Matrix helpers shared by the core and both backends.

NumPy 4x4 matrices are column-vector convention (p' = M @ p); USD's Gf matrices are row-vector, hence the
transposes at the boundary.
"""

from __future__ import annotations

import numpy as np
from pxr import Gf, Usd, UsdGeom


def look_at_matrix(eye: np.ndarray, target: np.ndarray, up: np.ndarray, roll_deg: float = 0.0) -> np.ndarray:
    """Camera/light-to-world matrix: local -Z towards ``target``, +Y as close to ``up`` as possible."""
    eye, target, up = (np.asarray(v, float) for v in (eye, target, up))
    f = target - eye
    norm = np.linalg.norm(f)
    f = f / norm if norm > 1e-12 else -up / np.linalg.norm(up)
    r = np.cross(f, up)
    if np.linalg.norm(r) < 1e-9:  # looking straight along up: any perpendicular will do
        r = np.cross(f, np.roll(up, 1))
    r /= np.linalg.norm(r)
    u = np.cross(r, f)
    if roll_deg:
        a = np.radians(roll_deg)
        r, u = np.cos(a) * r + np.sin(a) * u, -np.sin(a) * r + np.cos(a) * u
    m = np.eye(4)
    m[:3, 0], m[:3, 1], m[:3, 2], m[:3, 3] = r, u, -f, eye
    return m


def trs_to_matrix(t, r_deg, s) -> np.ndarray:
    """translate @ rotateXYZ @ scale, USD's common xformOpOrder."""
    ax, ay, az = np.radians(np.asarray(r_deg, float))
    cx, sx, cy, sy, cz, sz = np.cos(ax), np.sin(ax), np.cos(ay), np.sin(ay), np.cos(az), np.sin(az)
    rx = np.array([[1, 0, 0], [0, cx, -sx], [0, sx, cx]])
    ry = np.array([[cy, 0, sy], [0, 1, 0], [-sy, 0, cy]])
    rz = np.array([[cz, -sz, 0], [sz, cz, 0], [0, 0, 1]])
    m = np.eye(4)
    m[:3, :3] = rz @ ry @ rx @ np.diag(np.asarray(s, float))
    m[:3, 3] = t
    return m


def matrix_to_trs(m: np.ndarray) -> tuple[list[float], list[float], list[float]]:
    """Inverse of trs_to_matrix for matrices without shear."""
    m = np.asarray(m, float)
    s = np.linalg.norm(m[:3, :3], axis=0)
    if np.linalg.det(m[:3, :3]) < 0:
        s[0] = -s[0]
    r = m[:3, :3] / s
    ay = np.arcsin(np.clip(-r[2, 0], -1.0, 1.0))
    if abs(r[2, 0]) < 1 - 1e-9:
        ax, az = np.arctan2(r[2, 1], r[2, 2]), np.arctan2(r[1, 0], r[0, 0])
    else:  # gimbal lock: put everything into X
        ax, az = np.arctan2(-r[1, 2], r[1, 1]), 0.0
    return list(map(float, m[:3, 3])), list(map(float, np.degrees([ax, ay, az]))), list(map(float, s))


def gf_to_np(m: Gf.Matrix4d) -> np.ndarray:
    return np.array(m, dtype=np.float64).T


def np_to_gf(m: np.ndarray) -> Gf.Matrix4d:
    return Gf.Matrix4d(np.asarray(m, float).T.tolist())


def world_matrix(prim: Usd.Prim) -> np.ndarray:
    return gf_to_np(UsdGeom.Xformable(prim).ComputeLocalToWorldTransform(Usd.TimeCode.Default()))


def up_vector(stage: Usd.Stage) -> np.ndarray:
    return np.array([0.0, 0.0, 1.0]) if UsdGeom.GetStageUpAxis(stage) == UsdGeom.Tokens.z else np.array([0.0, 1.0, 0.0])
