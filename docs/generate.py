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
RBEGIN = "<!-- generated: recipe reference -->"


def defect_tables() -> str:
    from wearforge.wear.defects import DEFECT_CLASSES, DEFECTS, param_docs, param_units

    out = []
    for name in DEFECT_CLASSES:
        module = DEFECTS[name]
        doc = " ".join((module.__doc__ or "").split())
        kind = "connected regions" if module.REGIONS else "discrete elements"
        out.append(f"### `{name}`\n\n{doc} Occurrences: {kind}.\n")
        out.append("| parameter | default | unit | meaning |\n|---|---|---|---|")
        units = param_units(name)
        for param, (default, text) in param_docs(name).items():
            out.append(f"| `{param}` | {default:g} | {units[param] or '-'} | {text} |")
        out.append("")
    return "\n".join(out)


def render(text: str, begin: str = BEGIN, body=None) -> str:
    start, end = text.index(begin) + len(begin), text.index(END)
    return text[:start] + "\n\n" + (body or defect_tables)() + "\n" + text[end:]


def _type_name(annotation) -> str:
    """Readable type of a recipe field, naming the distribution aliases instead of expanding them."""
    from typing import Literal, Union, get_args, get_origin

    from wearforge.distributions import Distribution, Name, Scalar, Vec3

    aliases = ((Scalar, "number distribution"), (Vec3, "3-vector distribution"), (Name, "name distribution"),
               (Distribution, "distribution"))
    for alias, name in aliases:
        if annotation == alias:
            return name
    origin = get_origin(annotation)
    if origin is Union or str(origin) == "<class 'types.UnionType'>":
        return " or ".join(_type_name(a) for a in get_args(annotation))
    if origin is Literal:
        return " / ".join(repr(a) for a in get_args(annotation))
    if origin in (list, tuple, dict):
        inner = ", ".join(_type_name(a) for a in get_args(annotation) if a is not Ellipsis)
        return f"{origin.__name__}[{inner}]"
    if annotation is type(None):
        return "None"
    return getattr(annotation, "__name__", str(annotation))


def _range_text(field) -> str:
    """The allowed values of a field, from its pydantic bounds or its distribution Range."""
    import annotated_types as at
    from pydantic.functional_validators import AfterValidator

    from wearforge.distributions import Range

    lo = hi = None
    for meta in field.metadata:
        if isinstance(meta, AfterValidator) and isinstance(meta.func, Range):
            return meta.func.text()
        if isinstance(meta, (at.Ge, at.Gt)):
            lo = f"{'>=' if isinstance(meta, at.Ge) else '>'} {meta.ge if isinstance(meta, at.Ge) else meta.gt:g}"
        if isinstance(meta, (at.Le, at.Lt)):
            hi = f"{'<=' if isinstance(meta, at.Le) else '<'} {meta.le if isinstance(meta, at.Le) else meta.lt:g}"
    return ", ".join(x for x in (lo, hi) if x)


def recipe_reference() -> str:
    from pydantic import BaseModel

    from wearforge.recipe import Recipe

    out, seen = [], set()

    def walk(model: type[BaseModel], title: str) -> None:
        if model in seen:
            return
        seen.add(model)
        doc = " ".join((model.__doc__ or "").split())
        rows = []
        nested = []
        for name, field in model.model_fields.items():
            if field.exclude:
                continue
            key = field.alias or name
            default = "required" if field.is_required() else repr(field.get_default(call_default_factory=True))
            if len(default) > 40:
                default = default[:37] + "..."
            allowed = _range_text(field)
            meaning = (field.description or "") + (f" Range: {allowed}." if allowed else "")
            rows.append(f"| `{key}` | {_type_name(field.annotation)} | {default} | {meaning} |")
            for sub in _models(field.annotation):
                nested.append((sub, f"{title}.{key}"))
        out.append(f"### `{title}`\n\n{doc}\n\n| field | type | default | meaning |\n|---|---|---|---|")
        out.extend(rows)
        out.append("")
        for sub, sub_title in nested:
            walk(sub, sub_title)

    walk(Recipe, "recipe")
    return "\n".join(out).replace("| `recipe` |", "| recipe |")


def _models(annotation):
    from typing import get_args

    from pydantic import BaseModel

    found = []
    stack = [annotation]
    while stack:
        a = stack.pop()
        if isinstance(a, type) and issubclass(a, BaseModel) and a.__module__ == "wearforge.recipe":
            found.append(a)
        stack.extend(get_args(a))
    return found


def main() -> None:
    path = ROOT / "docs" / "wear.md"
    path.write_text(render(path.read_text()))
    print(f"updated {path}")
    path = ROOT / "docs" / "recipes.md"
    path.write_text(render(path.read_text(), RBEGIN, recipe_reference))
    print(f"updated {path}")


if __name__ == "__main__":
    main()
