"""Random streams keyed by (seed, frame index, name).

Every draw in wearforge comes from ``Sampler.rng(name)``: numpy's PCG64 seeded with
SeedSequence((seed, index, *blake2b(name))). Streams are independent of each other, of the order
frames are sampled in and of the number of workers, and adding a randomizer (a new name) leaves the
values of all others unchanged.
"""

from __future__ import annotations

import hashlib
from typing import Any

import numpy as np

from wearforge.distributions import sample as _sample


def name_key(name: str) -> list[int]:
    """A stable 128-bit key for a stream name (Python's hash() is salted per process)."""
    digest = hashlib.blake2b(name.encode("utf-8"), digest_size=16).digest()
    return [int.from_bytes(digest[i:i + 4], "little") for i in range(0, 16, 4)]


class Sampler:
    """Draws for one frame."""

    def __init__(self, seed: int, index: int):
        self.seed = int(seed)
        self.index = int(index)

    def rng(self, name: str) -> np.random.Generator:
        entropy = [self.seed & 0xFFFFFFFF, self.seed >> 32, self.index & 0xFFFFFFFF, self.index >> 32, *name_key(name)]
        return np.random.Generator(np.random.PCG64(np.random.SeedSequence(entropy)))

    def draw(self, name: str, dist: Any) -> Any:
        """One sample of ``dist`` from the stream ``name`` (None passes through)."""
        if dist is None:
            return None
        return _sample(dist, self.rng(name), self.index)

    def seed_for(self, name: str) -> int:
        """A 31-bit kernel/sampler seed (fits Warp's and Mitsuba's int seeds)."""
        return int(self.rng(name).integers(0, 2**31 - 1))
