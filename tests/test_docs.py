"""Generated documentation is current."""

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_wear_reference_matches_the_code():
    sys.path.insert(0, str(ROOT / "docs"))
    import generate

    current = (ROOT / "docs" / "wear.md").read_text()
    assert generate.render(current) == current, "run: python docs/generate.py"
    for name in ("rust", "scratches", "coverage", "drip"):
        assert name in current


def test_recipe_reference_matches_the_models():
    sys.path.insert(0, str(ROOT / "docs"))
    import generate

    current = (ROOT / "docs" / "recipes.md").read_text()
    assert generate.render(current, generate.RBEGIN, generate.recipe_reference) == current, "run: python docs/generate.py"
    for section in ("recipe.randomizers.lights", "recipe.randomizers.poses.scatter", "recipe.randomizers.settle",
                    "recipe.randomizers.sensor", "recipe.output.stream"):
        assert f"### `{section}`" in current
