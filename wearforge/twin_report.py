"""What a recipe will get out of its twin, per part, and the checks that refuse a run that makes nothing.

`validate` prints ``part_report``; `generate` refuses, before rendering, a recipe whose parts have no
meshes or whose wear binds to nothing (``scene_problems``), and after rendering a run in which no
labelled part was ever visible (``RunTally``). ``output.allow_empty`` says an empty result is intended.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from pxr import Usd, UsdShade

from wearforge.errors import InputError
from wearforge.recipe import Recipe, matches
from wearforge.twin_materials import read_material, surface_shader
from wearforge.twin_reader import MeshGeometry, read_geometry


@dataclass
class PartReport:
    path: str
    semantic_class: str
    meshes: int = 0
    triangles: int = 0
    uvs: str = ""  # "own", "atlas (<reason>)" or "" without meshes
    wear: list[str] = field(default_factory=list)  # layer types of the wear entries that bind to it
    materials: list[str] = field(default_factory=list)  # "path (shader)" per bound material
    approximated: list[str] = field(default_factory=list)


def part_report(recipe: Recipe, stage: Usd.Stage, scene, meshes: list[MeshGeometry] | None = None,
                check_uvs: bool = True, notes: dict[str, list[str]] | None = None
                ) -> tuple[list[PartReport], dict[str, list[str]]]:
    """Per part: meshes found, class, UVs, binding wear layers, materials and what is approximated; plus
    every note the reader made about the twin (prim path -> notes; pass the dict read_geometry filled)."""
    notes = {} if notes is None else notes
    parts = {p.path: p.semantic_class for p in scene.parts}
    if meshes is None:
        meshes = read_geometry(stage, parts, notes=notes)
    reports = []
    for part in scene.parts:
        own = [m for m in meshes if m.part_path == part.path]
        rep = PartReport(part.path, part.semantic_class, len(own), int(sum(len(m.faces) for m in own)))
        if own and check_uvs:
            rep.uvs = _uv_verdict(own)
        if own:
            for entry in recipe.randomizers.wear:
                if matches(entry.parts, part.path, part.semantic_class):
                    rep.wear += [layer.type for layer in entry.layers]
        seen = set()
        for m in own:
            prim = stage.GetPrimAtPath(m.material_path)
            read_material(prim, m, notes)
            material, _ = UsdShade.MaterialBindingAPI(prim).ComputeBoundMaterial()
            name = str(material.GetPath()) if material else "displayColor"
            if name in seen:
                continue
            seen.add(name)
            kind = surface_shader(material)[1] if material else ""
            rep.materials.append(f"{name} ({kind or 'not read'})" if material else
                                 ("per-vertex displayColor" if m.colors is not None else "displayColor"))
            rep.approximated += notes.get(name, [])
        for m in own:
            for path in (m.prim_path, m.material_path, m.instancer[0] if m.instancer else None):
                rep.approximated += [n for n in notes.get(path, []) if n not in rep.approximated]
        reports.append(rep)
    return reports, notes


def _uv_verdict(meshes: list[MeshGeometry]) -> str:
    from wearforge.wear import check_uvs

    reasons = []
    for m in {m.source: m for m in meshes}.values():
        verdict = check_uvs(m.points, m.faces.astype(np.int32), m.uvs)
        if not verdict.ok:
            reasons.append(verdict.reason)
    return "own" if not reasons else f"atlas ({reasons[0]})"


def scene_problems(recipe: Recipe, scene, meshes: list[MeshGeometry]) -> list[str]:
    """Why a run of this recipe would make no labelled data (empty when it will)."""
    if not scene.parts:
        return [f"no part: {recipe.usd_path().name} has no semantic class labels and scene.parts is empty; "
                "name the parts and their classes in scene.parts (path + class)"]
    with_meshes = {m.part_path for m in meshes if m.part_path}
    bare = [p.path for p in scene.parts if p.path not in with_meshes]
    problems = []
    if len(bare) == len(scene.parts):
        problems.append(f"no part has a mesh the renderer draws (parts: {', '.join(bare[:5])})")
    for i, entry in enumerate(recipe.randomizers.wear):
        bound = [p for p in scene.parts if matches(entry.parts, p.path, p.semantic_class) and p.path in with_meshes]
        if entry.layers and not bound:
            problems.append(f"randomizers.wear.{i}: {entry.parts!r} matches no part with meshes; its wear binds "
                            "to nothing")
    return problems


def check_scene(recipe: Recipe, scene, meshes: list[MeshGeometry]) -> None:
    """Refuse (InputError, exit 2) a run that would make nothing, unless output.allow_empty."""
    problems = scene_problems(recipe, scene, meshes)
    if problems and not recipe.output.allow_empty:
        raise InputError("; ".join(problems) + " (set output.allow_empty=true if that is intended)",
                         source=f"recipe '{recipe.name}'", field="scene.parts")


class RunTally:
    """Counts labelled part pixels over a run; ``verdict`` refuses a run in which no part was ever seen."""

    def __init__(self) -> None:
        self.frames = 0
        self.visible: dict[str, int] = {}
        self.shown: dict[str, int] = {}

    def add(self, data: dict) -> None:
        """Take one frame's annotator payloads (the standalone renderer's or Kit's)."""
        self.frames += 1
        for path, count in data.get("pixel_counts", {}).get("visible", {}).items():
            self.visible[path] = self.visible.get(path, 0) + int(count)
        spec = data.get("frame_spec", {}).get("data", {})
        for part in spec.get("parts", []):
            self.shown[part["path"]] = self.shown.get(part["path"], 0) + int(bool(part.get("visible", True)))

    PREFIX = "tally_"

    def counts(self) -> dict[str, int]:
        """Totals that add up over workers (one tally each); ``from_counts`` takes their sum."""
        return {"tally_frames": self.frames, "tally_visible": sum(self.visible.values()),
                "tally_parts": len(self.shown), "tally_shown": sum(self.shown.values())}

    @classmethod
    def from_counts(cls, counts: dict[str, float]) -> "RunTally":
        tally = cls()
        tally.frames = int(counts.get("tally_frames", 0))
        tally.visible = {"*": int(counts.get("tally_visible", 0))}
        if counts.get("tally_parts", 0):
            tally.shown = {"*": int(counts.get("tally_shown", 0))}
        return tally

    def verdict(self, recipe: Recipe) -> None:
        if self.frames == 0 or recipe.output.allow_empty or any(self.visible.values()):
            return
        if self.shown and not any(self.shown.values()):
            why = "every part was hidden in every frame (poses, scatter or settle hid them)"
        else:
            why = "no labelled part was in view in any frame (check the camera and the parts' poses)"
        raise InputError(f"{self.frames} frames written but none has a labelled part: {why}; "
                         "set output.allow_empty=true if that is intended", source=f"recipe '{recipe.name}'",
                         field="output.allow_empty")
