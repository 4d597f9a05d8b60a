"""Textured background supports (conveyor belt, workbench, tote): generated seamless tiles, bundled as
cells selected by `scene.usd`, rendered with their texture."""

import json
import sys

import numpy as np
import pytest
from PIL import Image

from wearforge.recipe import ASSETS_DIR, load_recipe

from conftest import DEMO

sys.path.insert(0, str(ASSETS_DIR))
import backgrounds  # noqa: E402


@pytest.mark.parametrize("name", sorted(backgrounds.TEXTURES))
def test_background_tiles_wrap_without_a_seam(name):
    img = backgrounds.TEXTURES[name]()
    assert img.shape == (backgrounds.SIZE, backgrounds.SIZE, 3) and np.isfinite(img).all()
    # the step across the wrap is no larger than the steps between neighbouring rows (columns) inside the tile
    for axis in (0, 1):
        other = tuple(a for a in range(3) if a != axis)
        inner = np.abs(np.diff(img, axis=axis)).mean(axis=other)
        across = np.abs(img.take([0], axis=axis) - img.take([-1], axis=axis)).mean()
        assert across <= inner.max(), (name, axis, across, inner.max())
    assert img.std(axis=(0, 1)).max() > 0.005  # a texture, not a flat colour


def _support_pixels(out, cls):
    labels = json.loads((out / "semantic_segmentation_labels_0000.json").read_text())
    (key,) = [k for k, v in labels.items() if v["class"] == cls]
    colour = np.array(json.loads(key.replace("(", "[").replace(")", "]")), np.uint8)
    seg = np.asarray(Image.open(out / "semantic_segmentation_0000.png").convert("RGBA"))
    mask = (seg == colour).all(-1)
    rgb = np.asarray(Image.open(out / "rgb_0000.png").convert("RGB"), float) / 255
    return rgb[mask]


@pytest.mark.slow
def test_background_cells_render_their_textured_support(tmp_path):
    from wearforge.generate import generate

    seen = {}
    for cell, cls in (("conveyor_cell", "conveyor_belt"), ("workbench_cell", "workbench"), ("tote_cell", "tote")):
        out = tmp_path / cell
        generate(load_recipe(DEMO, [f"scene.usd=asset:{cell}", "render.resolution=[64,48]", "render.spp=4",
                                    "frames=1", "randomizers.wear=[]", f"output.dir={out}",
                                    "output.contact_sheet=0"]))
        px = _support_pixels(out, cls)
        assert len(px) > 500, cell  # the support fills much of the view
        seen[cls] = px.mean(0)
    belt, wood, tote = seen["conveyor_belt"], seen["workbench"], seen["tote"]
    assert belt.max() < 0.35 and np.ptp(belt) < 0.05  # black rubber
    assert wood[0] > wood[1] > wood[2] + 0.05  # beech: red > green > blue
    assert tote[2] > tote[0] + 0.15  # blue polypropylene
