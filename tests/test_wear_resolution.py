"""Wear stacks follow the part's size on screen (power of two, at least 64, capped by the recipe)."""

from types import SimpleNamespace

import numpy as np

from wearforge.recipe import load_recipe
from wearforge.scenario import sample_frame
from wearforge.stage import open_twin, read_scene
from wearforge.twin_reader import read_frame_state, read_geometry
from wearforge.transforms import up_vector
from wearforge.wear.twin_stacks import WearTextures, screen_extent, stack_resolution

CUBE = SimpleNamespace(points=np.array([[x, y, z] for x in (-0.5, 0.5) for y in (-0.5, 0.5) for z in (-0.5, 0.5)]))
CAMERA = SimpleNamespace(matrix=np.eye(4), focal_length=24.0, horizontal_aperture=24.0)  # 90 degrees across


def at(z: float) -> np.ndarray:
    m = np.eye(4)
    m[2, 3] = z
    return m


def test_extent_and_resolution_follow_the_distance():
    # a unit cube 10.5 units in front (near face at 10): 1/10 of the half-width 0.5 -> 64 px of 640
    assert screen_extent(CUBE.points, at(-10.5), CAMERA, (640, 480)) == np.float64(64.0)
    assert stack_resolution(2048, 2.0, CUBE, at(-10.5), CAMERA, (640, 480)) == 128
    assert stack_resolution(2048, 2.0, CUBE, at(-100.5), CAMERA, (640, 480)) == 64  # never below 64
    assert stack_resolution(4096, 2.0, CUBE, at(-1.5), CAMERA, (640, 480)) == 2048  # fills the 640 px width (clipped)
    assert stack_resolution(512, 2.0, CUBE, at(-1.5), CAMERA, (640, 480)) == 512  # the recipe's cap
    assert stack_resolution(2048, 0.0, CUBE, at(-10.5), CAMERA, (640, 480)) == 2048  # off: fixed size
    assert stack_resolution(2048, 2.0, CUBE, at(0.0), CAMERA, (640, 480)) == 2048  # reaches behind: cap


def test_a_small_render_builds_small_stacks(write_recipe, cell_recipe):
    recipe = load_recipe(write_recipe({**cell_recipe, "randomizers": {"wear": [
        {"parts": "class:pipe_spool", "resolution": 1024, "layers": [{"type": "rust"}]}]}}))
    stage = open_twin(recipe)
    spec = sample_frame(recipe, None, 0, read_scene(recipe, stage))
    from wearforge.stage import apply_frame

    apply_frame(stage, spec)
    meshes = read_geometry(stage)
    wear = WearTextures(meshes, up_vector(stage))
    stacks, _ = wear.stacks(spec, read_frame_state(stage, meshes, spec.camera.path))
    assert stacks and {s.resolution for s in stacks.values()} <= {64, 128}  # a 64x48 frame, not 1024 squared
