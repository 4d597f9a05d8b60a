"""Mitsuba variant choice and label exactness in every variant."""

import json
import os
import subprocess
import sys

import numpy as np
import pytest

from wearforge.render import variant as v


@pytest.fixture
def isolated(monkeypatch, tmp_path):
    monkeypatch.setattr(v, "CACHE", tmp_path / "variant.json")
    monkeypatch.setattr(v, "_chosen_llvm", None)
    # setenv first so the undo restores the real value: choose_variant writes os.environ itself
    for name in ("WEARFORGE_MITSUBA_VARIANT", "DRJIT_LIBLLVM_PATH"):
        monkeypatch.setenv(name, "")
        monkeypatch.delenv(name)
    monkeypatch.setattr(v, "libllvm_candidates", lambda: ["/usr/lib/libLLVM-19.so", "/usr/lib/libLLVM-15.so"])
    tried = []

    def fake_probe(works):
        def probe(variant, path):
            tried.append((variant, path))
            return (variant, path) in works, "Cannot select fminimum"
        return probe

    return tried, fake_probe


def test_cuda_first_when_a_gpu_works(isolated, monkeypatch):
    tried, fake = isolated
    monkeypatch.setattr(v, "_has_gpu", lambda: True)
    monkeypatch.setattr(v, "_probe", fake({("cuda_ad_rgb", None)}))
    assert v.choose_variant()[0] == "cuda_ad_rgb"


def test_llvm_tries_each_libllvm_until_one_works(isolated, monkeypatch):
    tried, fake = isolated
    monkeypatch.setattr(v, "_has_gpu", lambda: False)
    monkeypatch.setattr(v, "_probe", fake({("llvm_ad_rgb", "/usr/lib/libLLVM-15.so")}))
    variant, why = v.choose_variant()
    assert variant == "llvm_ad_rgb" and "libLLVM-15" in why and "no NVIDIA GPU" in why
    assert os.environ["DRJIT_LIBLLVM_PATH"] == "/usr/lib/libLLVM-15.so"
    assert [p for _, p in tried] == [None, "/usr/lib/libLLVM-19.so", "/usr/lib/libLLVM-15.so"]
    # the verdict is cached: no probing the second time
    tried.clear()
    assert v.choose_variant()[0] == "llvm_ad_rgb" and tried == []
    assert json.loads(v.CACHE.read_text())


def test_scalar_when_nothing_else_runs(isolated, monkeypatch):
    tried, fake = isolated
    monkeypatch.setattr(v, "_has_gpu", lambda: False)
    monkeypatch.setattr(v, "_probe", fake(set()))
    variant, why = v.choose_variant()
    assert variant == "scalar_rgb" and "Cannot select fminimum" in why and "scalar" in why


def test_explicit_preference_skips_cuda(isolated, monkeypatch):
    tried, fake = isolated
    monkeypatch.setattr(v, "_has_gpu", lambda: True)
    monkeypatch.setattr(v, "_probe", fake({("cuda_ad_rgb", None), ("llvm_ad_rgb", None)}))
    assert v.choose_variant("llvm")[0] == "llvm_ad_rgb"
    assert all(variant != "cuda_ad_rgb" for variant, _ in tried)


LABELS = """
import sys, numpy as np
sys.path.insert(0, 'tests')
from pathlib import Path
from wearforge.recipe import validate_recipe
from wearforge.scenario import sample_frame
from wearforge.stage import open_stage, read_scene
from wearforge.render.frame import StandaloneRenderer
r = validate_recipe({"scene": {"usd": "asset:inspection_cell", "parts": [{"path": "/World/Parts/*"}]},
                     "camera": {"position": [0.5, -0.9, 1.45], "look_at": [-0.05, 0.0, 0.8]},
                     "render": {"resolution": [48, 36], "spp": 2}}, base_dir=Path('.'))
stage = open_stage(r.usd_path())
renderer = StandaloneRenderer(stage)
d = renderer.render(sample_frame(r, None, 0, read_scene(r, stage)))
np.savez(sys.argv[1], variant=renderer.variant, inst=d["instance_segmentation"]["data"],
         depth=d["distance_to_camera"]["data"], loose=d["bounding_box_2d_loose"]["data"],
         tight=d["bounding_box_2d_tight"]["data"])
"""


@pytest.mark.slow
def test_scalar_and_llvm_label_passes_agree(tmp_path):
    results = {}
    for name in ("scalar_rgb", "llvm_ad_rgb"):
        env = {**os.environ, "WEARFORGE_MITSUBA_VARIANT": name}
        out = tmp_path / f"{name}.npz"
        proc = subprocess.run([sys.executable, "-c", LABELS, str(out)], env=env, capture_output=True, text=True,
                              timeout=300, cwd=os.path.dirname(os.path.dirname(__file__)))
        if name == "llvm_ad_rgb" and proc.returncode != 0 and "LLVM" in proc.stderr:
            pytest.skip("this machine has no libLLVM for Mitsuba's LLVM variant")
        assert proc.returncode == 0, proc.stderr
        results[name] = np.load(out)
    a, b = results["scalar_rgb"], results["llvm_ad_rgb"]
    assert str(a["variant"]) == "scalar_rgb" and str(b["variant"]) == "llvm_ad_rgb"
    assert np.array_equal(a["inst"], b["inst"])
    assert np.array_equal(a["tight"], b["tight"]) and np.array_equal(a["loose"], b["loose"])
    assert np.allclose(a["depth"], b["depth"], atol=1e-5)
