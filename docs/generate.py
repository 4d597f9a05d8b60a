"""Regenerate the reference parts of docs/ from the code: `python docs/generate.py`.

docs/wear.md's parameter tables come from each defect module's Params dataclass and docstring, so the
docs cannot drift from the kernels (tests/test_docs.py checks they are current).
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

BEGIN, END = "<!-- generated: defect parameters -->", "<!-- end generated -->"


def defect_tables() -> str:
    from wearforge.wear.defects import DEFECT_CLASSES, DEFECTS, param_docs

    out = []
    for name in DEFECT_CLASSES:
        module = DEFECTS[name]
        doc = " ".join((module.__doc__ or "").split())
        kind = "connected regions" if module.REGIONS else "discrete elements"
        out.append(f"### `{name}`\n\n{doc} Occurrences: {kind}.\n")
        out.append("| parameter | default | meaning |\n|---|---|---|")
        for param, (default, text) in param_docs(name).items():
            out.append(f"| `{param}` | {default:g} | {text} |")
        out.append("")
    return "\n".join(out)


def render(text: str) -> str:
    start, end = text.index(BEGIN) + len(BEGIN), text.index(END)
    return text[:start] + "\n\n" + defect_tables() + "\n" + text[end:]


def main() -> None:
    path = ROOT / "docs" / "wear.md"
    path.write_text(render(path.read_text()))
    print(f"updated {path}")


if __name__ == "__main__":
    main()
