"""Shared fixtures: tiny recipes and a one-cube twin with a known pose and camera."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
DEMO = ROOT / "recipes" / "demo.yaml"


@pytest.fixture
def write_recipe(tmp_path):
    """Write a recipe dict to tmp_path/NAME.yaml and return its path."""

    def write(data: dict, name: str = "recipe") -> Path:
        path = tmp_path / f"{name}.yaml"
        path.write_text(yaml.safe_dump(data, sort_keys=False))
        return path

    return write


@pytest.fixture
def cell_recipe() -> dict:
    """A small recipe over the bundled inspection cell (no randomizers)."""
    return {"scene": {"usd": "asset:inspection_cell", "support": "/World/Table", "parts": [{"path": "/World/Parts/*"}]},
            "camera": {"position": [0.5, -0.9, 1.45], "look_at": [-0.05, 0.0, 0.8]},
            "render": {"resolution": [64, 48], "spp": 4}, "frames": 2, "seed": 1}


def make_cube_twin(path: Path, translate=(0.0, 0.0, 0.0), rotate=(0.0, 0.0, 0.0), size: float = 1.0,
                   label: str = "cube") -> Path:
    """A Z-up stage with one labelled UsdGeom.Cube, a dome light and a camera at /World/Camera."""
    from pxr import Gf, UsdGeom, UsdLux

    from wearforge.semantics import set_semantic_class

    from pxr import Usd

    stage = Usd.Stage.CreateNew(str(path))
    UsdGeom.SetStageUpAxis(stage, UsdGeom.Tokens.z)
    UsdGeom.SetStageMetersPerUnit(stage, 1.0)
    world = UsdGeom.Xform.Define(stage, "/World")
    stage.SetDefaultPrim(world.GetPrim())
    part = UsdGeom.Xform.Define(stage, "/World/Cube")
    api = UsdGeom.XformCommonAPI(part)
    api.SetTranslate(Gf.Vec3d(*translate))
    api.SetRotate(Gf.Vec3f(*rotate))
    cube = UsdGeom.Cube.Define(stage, "/World/Cube/Geom")
    cube.CreateSizeAttr(size)
    set_semantic_class(part.GetPrim(), label)
    UsdLux.DomeLight.Define(stage, "/World/Dome").CreateIntensityAttr(0.05)
    cam = UsdGeom.Camera.Define(stage, "/World/Camera")
    cam.CreateFocalLengthAttr(24.0)
    cam.CreateHorizontalApertureAttr(20.955)
    stage.GetRootLayer().Save()
    return path
