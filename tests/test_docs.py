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
