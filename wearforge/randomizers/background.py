"""Background: which of the recipe's supports (``scene.backgrounds``) a frame shows, drawn by weight."""

from __future__ import annotations

import numpy as np

from wearforge.seeding import Sampler


def sample_background(weights: list[float], paths: tuple[str, ...], sampler: Sampler) -> str | None:
    """The prim path of this frame's background (None when the recipe has no backgrounds).

    ``paths`` are the background prims in recipe order (wearforge.stage.background_paths), ``weights`` their
    relative weights. One stream of its own, so adding backgrounds changes no other randomizer's values.
    """
    if not paths:
        return None
    p = np.asarray(weights, float)
    return paths[int(sampler.rng("background").choice(len(paths), p=p / p.sum()))]
