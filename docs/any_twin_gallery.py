"""Render docs/gallery/*.png, the contact sheets of docs/gallery.md: `python docs/any_twin_gallery.py`.

Three twins of different kinds: the unlabelled centimetre Y-up CAD assembly and the textured twin that
tests/twins.py builds (as the tests do), and the bundled inspection cell.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

from PIL import Image  # noqa: E402
from twins import cad_assembly, cad_recipe, textured_recipe, textured_twin  # noqa: E402

from wearforge.generate import generate  # noqa: E402
from wearforge.recipe import load_recipe, validate_recipe  # noqa: E402

OUT = ROOT / "docs" / "gallery"
RES, SPP, FRAMES = [256, 192], 32, 4


def cad(work: Path) -> dict:
    data = cad_recipe(cad_assembly(work / "cad"))
    data["randomizers"] = {
        "camera": {"orbit": {"target": [0, 3, 0], "distance": {"uniform": [55, 75]},
                             "azimuth": {"uniform": [0, 360]}, "elevation": {"uniform": [30, 60]}}},
        "wear": [{"parts": "class:nut", "resolution": 128, "layers": [{"type": "rust", "params": {"coverage": 0.5}}]},
                 {"parts": "class:base_plate", "resolution": 512,
                  "layers": [{"type": "scratches", "params": {"count": 30, "length": 0.08}},
                             {"type": "dirt", "params": {"amount": 0.6}}]}]}
    return data


def textured(work: Path) -> dict:
    data = textured_recipe(textured_twin(work / "textured"))
    data["randomizers"] = {"camera": {"orbit": {"target": [0, 0, 0.04], "distance": {"uniform": [0.8, 0.95]},
                                                "azimuth": {"uniform": [-120, -60]},
                                                "elevation": {"uniform": [35, 55]}}}}
    return data


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        common = {"frames": FRAMES, "seed": 11, "render": {"resolution": RES, "spp": SPP}}
        recipes = {}
        for name, build in (("cad_assembly", cad), ("textured", textured)):
            data = {**build(work), **common, "output": {"dir": str(work / f"out_{name}"), "writers": ["basic"]}}
            recipes[name] = validate_recipe(data, name, work)
        recipes["inspection_cell"] = load_recipe(ROOT / "recipes" / "demo.yaml", [
            f"frames={FRAMES}", "seed=11", f"render.resolution={RES}", f"render.spp={SPP}",
            f"output.dir={work / 'out_cell'}", "output.writers=[basic]"])
        for name, recipe in recipes.items():
            result = generate(recipe)
            # a 256-colour palette keeps the repository small; the sheets are for looking, not measuring
            Image.open(result.contact_sheet).convert("RGB").quantize(256).save(OUT / f"{name}.png", optimize=True)
            print(OUT / f"{name}.png")


if __name__ == "__main__":
    main()
