"""Spherical placement shared by the camera and light randomizers."""

from __future__ import annotations

import numpy as np

from wearforge.recipe import Orbit
from wearforge.seeding import Sampler


def horizontal_basis(up: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Two unit vectors spanning the ground plane, right-handed with ``up`` (x first when possible)."""
    up = np.asarray(up, float)
    e1 = np.array([1.0, 0.0, 0.0]) if abs(up[0]) < 0.9 else np.array([0.0, 1.0, 0.0])
    e1 = e1 - up * np.dot(e1, up)
    e1 /= np.linalg.norm(e1)
    return e1, np.cross(up, e1)


def sample_orbit(orbit: Orbit, key: str, sampler: Sampler, up) -> tuple[list[float], list[float]]:
    """(position, target) for one draw of an orbit."""
    target = np.asarray(sampler.draw(f"{key}/target", orbit.target), float)
    dist = float(sampler.draw(f"{key}/distance", orbit.distance))
    az = np.radians(sampler.draw(f"{key}/azimuth", orbit.azimuth))
    el = np.radians(sampler.draw(f"{key}/elevation", orbit.elevation))
    e1, e2 = horizontal_basis(np.asarray(up, float))
    direction = np.cos(el) * (np.cos(az) * e1 + np.sin(az) * e2) + np.sin(el) * np.asarray(up, float)
    return list(map(float, target + dist * direction)), list(map(float, target))
