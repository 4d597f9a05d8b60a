"""Semantic class labels on USD prims, in both schemas Isaac Sim reads.

- Isaac Sim 5 / USD 24.11+: UsdSemantics ``SemanticsLabelsAPI:class`` with ``semantics:labels:class`` (token[]).
- Legacy Replicator ``Semantics`` schema: ``SemanticsAPI:<instance>`` with
  ``semantic:<instance>:params:semanticType`` = "class" and ``...:semanticData`` = the label.
Attribute names are used directly so the module works on any pxr (Kit's or usd-core).
"""

from __future__ import annotations

from pxr import Sdf, Usd

NEW_ATTR = "semantics:labels:class"
LEGACY_INSTANCE = "Semantics"


def set_semantic_class(prim: Usd.Prim, label: str) -> None:
    """Author ``label`` in both the UsdSemantics and the legacy Semantics schema."""
    prim.AddAppliedSchema("SemanticsLabelsAPI:class")
    prim.CreateAttribute(NEW_ATTR, Sdf.ValueTypeNames.TokenArray, custom=False).Set([label])
    prim.AddAppliedSchema(f"SemanticsAPI:{LEGACY_INSTANCE}")
    base = f"semantic:{LEGACY_INSTANCE}:params"
    prim.CreateAttribute(f"{base}:semanticType", Sdf.ValueTypeNames.String, custom=False).Set("class")
    prim.CreateAttribute(f"{base}:semanticData", Sdf.ValueTypeNames.String, custom=False).Set(label)


def semantic_class(prim: Usd.Prim) -> str | None:
    """The prim's own class label (new schema first, then any legacy instance of type 'class')."""
    attr = prim.GetAttribute(NEW_ATTR)
    if attr and attr.HasAuthoredValue():
        values = attr.Get()
        if values:
            return str(values[0])
    for attr in prim.GetAttributes():
        name = attr.GetName()
        if name.startswith("semantic:") and name.endswith(":params:semanticType") and attr.Get() == "class":
            data = prim.GetAttribute(name.replace(":semanticType", ":semanticData"))
            if data and data.Get():
                return str(data.Get())
    return None


def labelled_ancestor(prim: Usd.Prim) -> Usd.Prim | None:
    """The nearest prim at or above ``prim`` that carries a class label."""
    while prim and prim.GetPath() != Sdf.Path.absoluteRootPath:
        if semantic_class(prim) is not None:
            return prim
        prim = prim.GetParent()
    return None


def clear_semantics(prim: Usd.Prim) -> bool:
    """Remove every semantic label of ``prim`` in the current edit target (stronger than where they were
    authored): the label schemas are deleted from its applied schemas and their attributes blocked, so
    neither wearforge nor Replicator sees a label. Returns whether the prim had any."""
    names = [a.GetName() for a in prim.GetAttributes()
             if a.GetName().startswith(("semantics:labels:", "semantic:"))]
    schemas = [s for s in prim.GetAppliedSchemas() if s.startswith(("SemanticsLabelsAPI:", "SemanticsAPI:"))]
    for schema in schemas:
        prim.RemoveAppliedSchema(schema)
    for name in names:
        prim.GetAttribute(name).Block()
    return bool(names or schemas)
