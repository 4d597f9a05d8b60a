"""A corpus of malformed twins, built here: each one is refused by `validate` (and `generate`) with one
clear message and exit status 2, never a traceback or a crash mid-run."""

import math
import sys

import pytest
import yaml

from wearforge import cli

CASES = {}


def case(fn):
    CASES[fn.__name__] = fn
    return fn


def _stage(path, mpu=1.0, label=True):
    from pxr import Usd, UsdGeom, UsdLux

    from wearforge.semantics import set_semantic_class

    stage = Usd.Stage.CreateNew(str(path))
    UsdGeom.SetStageUpAxis(stage, UsdGeom.Tokens.z)
    UsdGeom.SetStageMetersPerUnit(stage, mpu)
    stage.SetDefaultPrim(UsdGeom.Xform.Define(stage, "/World").GetPrim())
    part = UsdGeom.Xform.Define(stage, "/World/Part")
    if label:
        set_semantic_class(part.GetPrim(), "part")
    UsdLux.DomeLight.Define(stage, "/World/Dome")
    return stage


QUAD = dict(points=[(0, 0, 0), (1, 0, 0), (1, 1, 0), (0, 1, 0)], counts=[4], indices=[0, 1, 2, 3])


def _mesh(stage, points, counts, indices):
    from pxr import UsdGeom

    mesh = UsdGeom.Mesh.Define(stage, "/World/Part/Geom")
    mesh.CreatePointsAttr(points)
    mesh.CreateFaceVertexCountsAttr(counts)
    mesh.CreateFaceVertexIndicesAttr(indices)
    return mesh


def _st(mesh, values, interpolation="faceVarying", indices=None):
    from pxr import Sdf, UsdGeom

    pv = UsdGeom.PrimvarsAPI(mesh).CreatePrimvar("st", Sdf.ValueTypeNames.TexCoord2fArray, interpolation)
    pv.Set(values)
    if indices is not None:
        pv.SetIndices(indices)


@case
def counts_and_indices_disagree(path):
    stage = _stage(path)
    _mesh(stage, QUAD["points"], [4, 3], QUAD["indices"])
    return stage, "faceVertexCounts"


@case
def index_out_of_range(path):
    stage = _stage(path)
    _mesh(stage, QUAD["points"], [4], [0, 1, 2, 7])
    return stage, "faceVertexIndices"


@case
def short_uv_list(path):
    stage = _stage(path)
    _st(_mesh(stage, **QUAD), [(0, 0), (1, 0)])
    return stage, "primvar st"


@case
def uv_indices_out_of_range(path):
    stage = _stage(path)
    _st(_mesh(stage, **QUAD), [(0, 0), (1, 0)], indices=[0, 1, 5, 1])
    return stage, "primvar st"


@case
def uv_nan(path):
    stage = _stage(path)
    _st(_mesh(stage, **QUAD), [(0, 0), (1, math.nan), (1, 1), (0, 1)])
    return stage, "NaN"


@case
def nan_points(path):
    stage = _stage(path)
    _mesh(stage, [(0, 0, 0), (1, math.nan, 0), (1, 1, 0), (0, 1, 0)], [4], QUAD["indices"])
    return stage, "NaN"


@case
def infinite_points(path):
    stage = _stage(path)
    _mesh(stage, [(0, 0, 0), (math.inf, 0, 0), (1, 1, 0), (0, 1, 0)], [4], QUAD["indices"])
    return stage, "infinite"


@case
def wrong_normal_count(path):
    from pxr import UsdGeom

    stage = _stage(path)
    mesh = _mesh(stage, **QUAD)
    mesh.CreateNormalsAttr([(0, 0, 1)] * 3)
    mesh.SetNormalsInterpolation(UsdGeom.Tokens.vertex)
    return stage, "normals"


@case
def meters_per_unit_zero(path):
    stage = _stage(path, mpu=0.0)
    _mesh(stage, **QUAD)
    return stage, "metersPerUnit"


@case
def meters_per_unit_negative(path):
    stage = _stage(path, mpu=-0.01)
    _mesh(stage, **QUAD)
    return stage, "metersPerUnit"


@case
def no_parts(path):
    stage = _stage(path, label=False)
    _mesh(stage, **QUAD)
    return stage, "no part"


@case
def zero_size_cube(path):
    from pxr import UsdGeom

    stage = _stage(path)
    UsdGeom.Cube.Define(stage, "/World/Part/Geom").CreateSizeAttr(0.0)
    return stage, "size"


@case
def zero_scale_transform(path):
    from pxr import Gf, UsdGeom

    stage = _stage(path)
    _mesh(stage, **QUAD)
    UsdGeom.XformCommonAPI(stage.GetPrimAtPath("/World/Part")).SetScale(Gf.Vec3f(1, 0, 1))
    return stage, "zero scale"


@case
def nan_light_intensity(path):
    from pxr import UsdLux

    stage = _stage(path)
    _mesh(stage, **QUAD)
    UsdLux.SphereLight.Define(stage, "/World/Key").CreateIntensityAttr(math.nan)
    return stage, "inputs:intensity"


@case
def missing_dome_texture(path):
    from pxr import UsdLux

    stage = _stage(path)
    _mesh(stage, **QUAD)
    UsdLux.DomeLight(stage.GetPrimAtPath("/World/Dome")).CreateTextureFileAttr("sky/none.hdr")
    return stage, "texture"


@case
def empty_file(path):
    path.write_bytes(b"")
    return None, "USD"


@case
def not_usd(path):
    path.write_text("#usda 1.0\n(\n  this is { not usd\n")
    return None, "USD"


@case
def binary_garbage(path):
    path.write_bytes(bytes(range(256)) * 8)
    return None, "USD"


def run_cli(args, capsys) -> tuple[int, str]:
    """The CLI in-process: exit status and stderr (an uncaught exception fails the test)."""
    argv = sys.argv
    sys.argv = ["wearforge", *args]
    try:
        cli.main()
        code = 0
    except SystemExit as exc:
        code = exc.code or 0
    finally:
        sys.argv = argv
    return code, capsys.readouterr().err


def twin_recipe(tmp_path, twin, **extra):
    data = {"scene": {"usd": str(twin), "parts": [{"path": "/World/Part"}]} if "no_parts" not in twin.name
            else {"usd": str(twin)},
            "camera": {"position": [2, -2, 2], "look_at": [0, 0, 0]},
            "render": {"resolution": [16, 12], "spp": 1}, "frames": 1,
            "output": {"dir": str(tmp_path / "out")}, **extra}
    path = tmp_path / "recipe.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


@pytest.mark.parametrize("name", sorted(CASES))
def test_malformed_twin_is_refused_by_validate_and_generate(name, tmp_path, capsys):
    twin = tmp_path / f"{name}.usda"
    stage, expected = CASES[name](twin)
    if stage is not None:
        stage.GetRootLayer().Save()
    recipe = twin_recipe(tmp_path, twin)
    for command in ("validate", "generate"):
        code, err = run_cli([command, str(recipe)], capsys)
        assert code == 2, (command, err)
        assert "Traceback" not in err and [line for line in err.splitlines() if line.startswith("error:")], err
        assert expected.lower() in err.lower(), err
        assert str(twin.name) in err or "scene.parts" in err, err
    assert not (tmp_path / "out" / "rgb_0000.png").exists()


def test_a_wellformed_twin_passes(tmp_path, capsys):
    twin = tmp_path / "good.usda"
    stage = _stage(twin)
    _st(_mesh(stage, **QUAD), [(0, 0), (1, 0), (1, 1), (0, 1)])
    stage.GetRootLayer().Save()
    code, err = run_cli(["validate", str(twin_recipe(tmp_path, twin))], capsys)
    assert code == 0, err


def corpus_size() -> int:
    return len(CASES)
