"""Recipe targets: count the instances that meet each target, and pick extra frames until they are met.

Counting uses the same per-instance measurements as the report (wearforge.report.instances). Extra
frames are chosen deterministically: extra frame k looks at the FrameSpecs of ``candidates`` fresh frame
indices (frames + k * candidates ...), scores each by how many of its visible parts carry a wear layer
or class that an unmet target asks for (weighted by that target's remaining shortfall), and renders the
best one (ties: the lowest index). Renders are deterministic, so the same recipe and seed render the
same extra frames in the same order.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Iterable

from wearforge.recipe import Recipe, Target
from wearforge.report.instances import Instance


def counts(target: Target, inst: Instance) -> bool:
    """Whether one instance counts towards a target."""
    if inst.cls != target.cls:
        return False
    if target.pixels is not None and not (target.pixels[0] <= inst.pixels <= target.pixels[1]):
        return False
    if target.mm2 is not None and (inst.mm2 is None or not (target.mm2[0] <= inst.mm2 <= target.mm2[1])):
        return False
    return inst.visibility >= target.min_visibility


@dataclass
class TargetCounter:
    """Running count of qualifying instances per target."""

    targets: list[Target]

    def __post_init__(self) -> None:
        self.achieved = [0] * len(self.targets)

    def add(self, instances: Iterable[Instance]) -> None:
        for inst in instances:
            for t, target in enumerate(self.targets):
                if counts(target, inst):
                    self.achieved[t] += 1

    def shortfall(self) -> list[int]:
        return [max(t.count - a, 0) for t, a in zip(self.targets, self.achieved)]

    def met(self) -> bool:
        return not any(self.shortfall())

    def summary(self) -> list[dict]:
        """One row per target: what was asked, what the dataset holds, the shortfall."""
        rows = []
        for t, a, s in zip(self.targets, self.achieved, self.shortfall()):
            rows.append({"class": t.cls, "count": t.count, "pixels": list(t.pixels) if t.pixels else None,
                         "mm2": list(t.mm2) if t.mm2 else None, "min_visibility": t.min_visibility,
                         "achieved": a, "shortfall": s, "met": s == 0})
        return rows


def candidate_score(spec, short: dict[str, int]) -> float:
    """How much a FrameSpec promises towards unmet targets (classes weighted by their shortfall)."""
    score = 0.0
    for part in spec.parts:
        if not part.visible:
            continue
        score += short.get(part.semantic_class, 0)
        for layer in (part.wear.layers if part.wear else []):
            score += short.get(layer.type, 0)
    return score


def pick_extra(recipe: Recipe, k: int, counter: TargetCounter, scene) -> int:
    """Frame index of extra frame ``k`` (see the module docstring)."""
    from wearforge.scenario import sample_frame

    short: dict[str, int] = {}
    for target, s in zip(counter.targets, counter.shortfall()):
        if s:
            short[target.cls] = short.get(target.cls, 0) + s
    c = recipe.targets.candidates
    first = recipe.frames + k * c
    best, best_score = first, -1.0
    for index in range(first, first + c):
        score = candidate_score(sample_frame(recipe, recipe.seed, index, scene), short)
        if score > best_score:
            best, best_score = index, score
    return best


def oversample(recipe: Recipe, counter: TargetCounter, scene, render: Callable[[int], list[Instance]],
               log: Callable[[str], None] | None = None) -> list[int]:
    """Render extra frames (``render(index)`` returns its instances) until targets are met or the budget ends."""
    chosen = []
    for k in range(recipe.targets.frame_budget):
        if counter.met():
            break
        index = pick_extra(recipe, k, counter, scene)
        counter.add(render(index))
        chosen.append(index)
    if log:
        state = "met" if counter.met() else f"not met (shortfall {counter.shortfall()})"
        log(f"targets {state} after {len(chosen)} extra frame(s)")
    return chosen
