"""Growing the next frame's wear while the current one renders changes nothing in the dataset."""

from __future__ import annotations

from pathlib import Path

from tests.test_scale_out import same_tree, tiny, write
from wearforge.generate import generate
from wearforge.recipe import load_recipe
from wearforge.render.overlap import WearLookahead


def test_overlap_gives_the_same_bytes_and_grows_ahead(tmp_path, monkeypatch):
    started, taken = [], []
    submit, take = WearLookahead.submit, WearLookahead.take

    def counting_submit(self, spec, state):
        ok = submit(self, spec, state)
        started.append(ok)
        return ok

    def counting_take(self, spec):
        got = take(self, spec)
        taken.append(got is not None)
        return got

    monkeypatch.setattr(WearLookahead, "submit", counting_submit)
    monkeypatch.setattr(WearLookahead, "take", counting_take)
    runs = {}
    for overlap in (False, True):
        (tmp_path / str(overlap)).mkdir()
        data = tiny(tmp_path / f"out-{overlap}", frames=6, shard_frames=3)
        data["render"]["overlap_wear"] = overlap
        recipe = load_recipe(write(tmp_path / str(overlap) / "tiny.yaml", data))  # one name: it is in the files
        runs[overlap] = recipe
        generate(recipe)
    same_tree(tmp_path / "out-False", tmp_path / "out-True")
    assert runs[False].content_hash() == runs[True].content_hash()
    # per shard of 3: frames 2 and 3 are grown ahead; frame 1 waits for its UV check and parts
    assert started.count(True) == 4 and taken.count(True) == 4
