"""One class map for every dataset: fixed product-wide defect ids and a part class list a recipe can pin.

Semantic ids (segmentation maps, bounding-box ``semanticId``) follow Replicator: 0 = BACKGROUND,
1 = UNLABELLED. Defect classes then have ids fixed for the product (rust is 2 in every dataset of
every twin); part classes start at ``PART_ID_BASE`` in the order of the class list. Dataset formats
that want contiguous ids (COCO category ids from 1, YOLO class indices from 0) number the class list
in its order, after the writer's kind filter and skipped classes, so two datasets made with the same
list concatenate without remapping.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable, Literal

from wearforge.errors import InputError

# Product order of the defect classes; equal to wearforge.wear.defects.DEFECT_CLASSES (tested), kept
# here as plain data so writers and readers need not import the kernels.
DEFECT_CLASSES = ("rust", "pitting", "scratches", "edge_wear", "dirt", "dust", "oil", "dents", "cracks",
                  "discoloration")
DEFECT_IDS = {name: 2 + i for i, name in enumerate(DEFECT_CLASSES)}
# classes whose occurrences are regions of a noise field (each kernel's ``REGIONS``; tested equal): their
# image-space instances are pieces of the class on one part, not of one occurrence
REGION_DEFECTS = frozenset({"rust", "edge_wear", "dirt", "dust", "discoloration"})
# room for new defect classes without moving any part id
PART_ID_BASE = 64

Kind = Literal["part", "defect"]


@dataclass(frozen=True)
class ClassEntry:
    name: str
    semantic_id: int
    kind: Kind


@dataclass(frozen=True)
class ClassMap:
    """The ordered classes of a dataset: defect and part names, each with its semantic id."""

    entries: tuple[ClassEntry, ...]

    @classmethod
    def build(cls, twin_classes: Iterable[str], defect_types: Iterable[str] | None = None,
              pinned: list[str] | None = None, source: str | None = None) -> "ClassMap":
        """Class map of a run.

        ``twin_classes``: part classes of the twin's labelled prims; ``defect_types``: defect classes the
        recipe's wear layers can produce (None: all of them); ``pinned``: ``output.classes`` when set.
        Default order: the defect classes that can occur (product order), then the part classes sorted.
        """
        twin = sorted(set(twin_classes))
        defects = [d for d in DEFECT_CLASSES if defect_types is None or d in set(defect_types)]
        clash = sorted(set(twin) & set(DEFECT_CLASSES))
        if clash:
            raise InputError(f"part class(es) {clash} use defect class names; rename them in the twin",
                             source=source, field="scene.parts")
        if pinned is None:
            names = defects + twin
        else:
            dup = sorted({n for n in pinned if pinned.count(n) > 1})
            missing = [c for c in defects + twin if c not in pinned]
            if dup or missing:
                why = f"repeated: {dup}" if dup else f"missing classes this run can produce: {missing}"
                raise InputError(f"the pinned class list must name every class once ({why})", source=source,
                                 field="output.classes")
            names = list(pinned)
        entries, part = [], 0
        for name in names:
            if name in DEFECT_IDS:
                entries.append(ClassEntry(name, DEFECT_IDS[name], "defect"))
            else:
                entries.append(ClassEntry(name, PART_ID_BASE + part, "part"))
                part += 1
        return cls(tuple(entries))

    @property
    def semantic_ids(self) -> dict[str, int]:
        return {e.name: e.semantic_id for e in self.entries}

    def select(self, kinds: str = "both", skip: Iterable[str] = ()) -> list[ClassEntry]:
        """The classes a writer keeps ("parts", "defects" or "both"), in map order: index = contiguous id."""
        skip = set(skip)
        return [e for e in self.entries if e.name not in skip and (kinds == "both" or kinds == e.kind + "s")]

    def to_payload(self) -> list[dict]:
        """JSON-ready ordered list, carried in annotator payloads so writers know every class upfront."""
        return [{"name": e.name, "semanticId": e.semantic_id, "kind": e.kind} for e in self.entries]

    @classmethod
    def from_payload(cls, rows: list[dict]) -> "ClassMap":
        return cls(tuple(ClassEntry(r["name"], int(r["semanticId"]), r["kind"]) for r in rows))


def recipe_defect_types(recipe) -> list[str]:
    """Defect classes a recipe's wear layers can produce."""
    return sorted({layer.type for w in recipe.randomizers.wear for layer in w.layers})
