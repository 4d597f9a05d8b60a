"""The same dataset, byte for byte, whatever runs it: 1 or 2 workers, shard subsets + merge, kills and reruns."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from wearforge.errors import InputError
from wearforge.generate import generate, parse_shard_spec
from wearforge.merge import merge
from wearforge.recipe import load_recipe

ROOT = Path(__file__).resolve().parent.parent


def tiny(out: Path, frames: int = 6, **output) -> dict:
    """48x36 px, 4 spp, wear on, every file writer, 3 shards of 2 frames, WebDataset tars of 4 (across shards)."""
    return {
        "scene": {"usd": "asset:inspection_cell", "parts": [{"path": "/World/Parts/*"}]},
        "camera": {"position": [0.5, -0.9, 1.45], "look_at": [-0.05, 0.0, 0.8]},
        "randomizers": {
            "camera": {"orbit": {"target": [-0.05, 0, 0.8], "distance": {"uniform": [0.7, 0.9]},
                                 "azimuth": {"uniform": [-120, -60]}, "elevation": 45}},
            "wear": [{"parts": "class:pipe_spool", "resolution": 64,
                      "layers": [{"type": "rust", "params": {"coverage": 0.5}}]}]},
        "render": {"resolution": [48, 36], "spp": 4}, "frames": frames, "seed": 5,
        "output": {"dir": str(out), "writers": ["basic", "coco", "yolo", "webdataset"], "contact_sheet": 4,
                   "shard_frames": 2, "webdataset": {"shard_size": 4}, **output},
    }


def write(path: Path, data: dict) -> Path:
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


def tree(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def same_tree(a: Path, b: Path) -> None:
    ta, tb = tree(a), tree(b)
    assert sorted(ta) == sorted(tb)
    differ = [name for name in ta if ta[name] != tb[name]]
    assert not differ, differ


@pytest.fixture(scope="module")
def reference(tmp_path_factory) -> Path:
    """One uninterrupted single-process run: every other way of running must give these bytes."""
    root = tmp_path_factory.mktemp("reference")
    result = generate(load_recipe(write(root / "tiny.yaml", tiny(root / "out"))))
    assert result.frames == 6 and result.shards == 3
    return root / "out"


def test_reference_holds_every_derived_file(reference):
    from pycocotools.coco import COCO

    coco = COCO(str(reference / "coco" / "instances.json"))
    assert [img["frame_index"] for img in coco.dataset["images"]] == list(range(6))
    manifest = json.loads((reference / "webdataset" / "manifest.json").read_text())
    assert manifest["tars"] == {"shard-000000.tar": [0, 1, 2, 3], "shard-000001.tar": [4, 5]}
    assert (reference / "contact_sheet.png").is_file() and (reference / "yolo" / "data.yaml").is_file()
    assert sorted(p.name for p in (reference / "coco" / "shards").iterdir()) == [
        "coco-000000.json", "coco-000001.json", "coco-000002.json"]
    assert not [p for p in reference.rglob("*") if p.name.endswith(".tmp")]


@pytest.mark.slow
def test_two_workers_give_the_same_bytes(reference, tmp_path):
    result = generate(load_recipe(write(tmp_path / "tiny.yaml", tiny(tmp_path / "out"))), workers=2)
    assert result.workers == 2 and result.frames == 6
    same_tree(reference, tmp_path / "out")


@pytest.mark.slow
def test_shard_subsets_then_merge_give_the_same_bytes(reference, tmp_path):
    recipe = load_recipe(write(tmp_path / "tiny.yaml", tiny(tmp_path / "out")))
    for task in ("1/2", "0/2"):  # array tasks in any order, then one merge
        result = generate(recipe, shards=parse_shard_spec(task))
        assert not result.merged and not (tmp_path / "out" / "coco" / "instances.json").exists()
    merge(tmp_path / "out")
    same_tree(reference, tmp_path / "out")


# --------------------------------------------------------------------------- kills at every step, then rerun
KILLER = r"""
import os, signal, sys
target, nth = sys.argv[1], int(sys.argv[2])
count = [0]

def hit():
    count[0] += 1
    if count[0] == nth:
        os.kill(os.getpid(), signal.SIGKILL)

from wearforge.writers import base
if target == "encode":  # in the middle of a frame's files
    import cv2
    real = cv2.imencode
    def imencode(*a, **k):
        hit()
        return real(*a, **k)
    cv2.imencode = imencode
elif target == "frame":  # a frame's files are on disk, its shard is not committed
    real = base.BackgroundFiles._complete
    def _complete(self, frame):
        real(self, frame)
        hit()
    base.BackgroundFiles._complete = _complete
else:  # just before a file of this name is renamed into place: its temporary file stays behind
    real = base.commit_file
    def commit_file(tmp, path):
        if target in str(path):
            hit()
        real(tmp, path)
    base.commit_file = commit_file
from wearforge.cli import main
sys.argv = ["wearforge", "generate", sys.argv[3], "--workers", "1"]
main()
"""


@pytest.mark.slow
def test_kills_at_every_step_then_a_rerun_give_the_same_bytes(reference, tmp_path):
    recipe = write(tmp_path / "tiny.yaml", tiny(tmp_path / "out"))
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    # each kill lands in the folder the previous one left; steps: frames, shard commits, then the final files
    for target, nth in [("encode", 9), ("frame", 3), ("shards/coco-000001.json", 1), ("instances.json", 1),
                        ("webdataset/shard-000001.tar", 1), ("contact_sheet.png", 1), ("data.yaml", 1),
                        ("manifest.json", 2)]:
        proc = subprocess.run([sys.executable, "-c", KILLER, target, str(nth), str(recipe)], env=env,
                              capture_output=True, text=True, timeout=300)
        assert proc.returncode == -signal.SIGKILL, (target, proc.returncode, proc.stderr[-2000:])
    assert [p for p in (tmp_path / "out").rglob("*") if p.name.endswith(".tmp")]  # kills left temporaries
    generate(load_recipe(recipe))
    same_tree(reference, tmp_path / "out")  # no stale temporaries, no duplicates, same derived bytes
    mask = os.umask(0o022)
    os.umask(mask)
    modes = {p.stat().st_mode & 0o777 for p in (tmp_path / "out").rglob("*") if p.is_file()}
    assert modes == {0o666 & ~mask}  # the user's umask, not mkstemp's 0600


@pytest.mark.slow
def test_a_worker_killed_with_sigkill_loses_only_its_shard(reference, tmp_path):
    import psutil

    data = tiny(tmp_path / "out")
    data["output"]["shard_frames"] = 1  # six shards: some are still queued when the kill comes
    recipe = write(tmp_path / "tiny.yaml", data)
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen([sys.executable, "-m", "wearforge", "generate", str(recipe), "--workers", "2"], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    records = tmp_path / "out" / "shards"
    deadline = time.monotonic() + 240
    while not list(records.parent.glob("webdataset/shards/*.json")) and time.monotonic() < deadline and proc.poll() is None:
        time.sleep(0.05)
    workers = [p for p in psutil.Process(proc.pid).children() if "spawn_main" in " ".join(p.cmdline())]
    assert workers, "no worker process to kill"
    os.kill(workers[0].pid, signal.SIGKILL)
    _, err = proc.communicate(timeout=240)
    assert proc.returncode == 1 and "died (signal 9" in err and "Traceback" not in err, err
    from wearforge.generate import FILE_WRITERS
    from wearforge.writers.base import read_records

    def committed(name: str) -> set[int]:
        wanted = set(range(4 if name == "contact_sheet" else 6))
        return {i for r in read_records(tmp_path / "out" / FILE_WRITERS[name], name).values()
                for i in r["frames"]} | (set(range(6)) - wanted)

    full = set.intersection(*(committed(n) for n in ("basic", "coco", "yolo", "webdataset", "contact_sheet")))
    assert len(full) >= 5  # the other worker went on: only the killed worker's shard is missing
    rerun = subprocess.run([sys.executable, "-m", "wearforge", "generate", str(recipe), "--workers", "2"], env=env,
                           capture_output=True, text=True, timeout=300)
    assert rerun.returncode == 0, rerun.stderr
    assert f"wrote {6 - len(full)} frames" in rerun.stdout  # only what the kill lost
    from pycocotools.coco import COCO

    coco = COCO(str(tmp_path / "out" / "coco" / "instances.json"))
    assert [img["frame_index"] for img in coco.dataset["images"]] == list(range(6))
    # the bytes of every dataset file equal the reference's (only the shard records differ: 1-frame shards)
    ref, got = tree(reference), tree(tmp_path / "out")
    data_files = [n for n in ref if "shards/" not in n and "manifest.json" not in n]
    assert [n for n in data_files if got.get(n) != ref[n]] == []


# --------------------------------------------------------------------------- bad input: one message, exit 2
def run_cli(*args: str) -> tuple[int, str]:
    proc = subprocess.run([sys.executable, "-m", "wearforge", *args], capture_output=True, text=True, timeout=120,
                          env={**os.environ, "PYTHONPATH": str(ROOT)})
    return proc.returncode, proc.stderr


@pytest.mark.parametrize("spec", ["4/4", "-1/4", "1/0", "x", "1/2/3"])
def test_bad_shard_specs_are_refused(spec):
    with pytest.raises(InputError, match="--shards"):
        parse_shard_spec(spec)


def test_bad_worker_counts_shard_specs_and_mixed_merges_exit_2(reference, tmp_path):
    recipe = write(tmp_path / "tiny.yaml", tiny(tmp_path / "out"))
    code, err = run_cli("generate", str(recipe), "--workers", "0")
    assert code == 2 and "--workers" in err and "Traceback" not in err
    code, err = run_cli("generate", str(recipe), "--shards", "3/4")  # 3 shards only
    assert code == 2 and "selects no shard" in err
    code, err = run_cli("generate", str(recipe), "--shards", "5/4")
    assert code == 2 and "0..N-1" in err
    # a folder holding shards of two recipes (copied together by hand) cannot be merged
    import shutil

    mixed = tmp_path / "mixed"
    shutil.copytree(reference, mixed)
    other = json.loads((mixed / "coco" / "shards" / "coco-000002.json").read_text())
    other["recipe_hash"], other["seed"] = "0123456789abcdef", 6
    (mixed / "coco" / "shards" / "coco-000002.json").write_text(json.dumps(other))
    code, err = run_cli("merge", str(mixed))
    assert code == 2 and "different recipes" in err and "Traceback" not in err
    code, err = run_cli("merge", str(tmp_path / "nothing-here"))
    assert code == 2 and "not a directory" in err


def test_shard_size_of_a_folder_is_kept(reference, tmp_path):
    import shutil

    shutil.copytree(reference, tmp_path / "out")
    data = tiny(tmp_path / "out")
    data["output"]["shard_frames"] = 3
    with pytest.raises(InputError, match="shard_frames"):
        generate(load_recipe(write(tmp_path / "tiny.yaml", data)))


def test_merge_is_idempotent(reference, tmp_path):
    import shutil

    shutil.copytree(reference, tmp_path / "out")
    for name in ("coco/instances.json", "yolo/data.yaml", "contact_sheet.png", "webdataset/shard-000001.tar",
                 "webdataset/manifest.json"):
        (tmp_path / "out" / name).unlink()
    merge(tmp_path / "out")
    same_tree(reference, tmp_path / "out")


def test_a_failing_frame_names_itself_and_keeps_the_committed_shards(tmp_path, monkeypatch):
    from wearforge.generate import RunError
    from wearforge.render.frame import StandaloneRenderer

    real = StandaloneRenderer.render

    def render(self, spec, *ahead):
        if spec.index == 3:
            raise RuntimeError("out of device memory")
        return real(self, spec, *ahead)

    monkeypatch.setattr(StandaloneRenderer, "render", render)
    data = tiny(tmp_path / "out", frames=4)
    data["render"]["resolution"] = [24, 18]
    with pytest.raises(RunError, match=r"frame 3 \(shard 1\) failed on worker 0: RuntimeError: out of device memory"):
        generate(load_recipe(write(tmp_path / "tiny.yaml", data)))
    manifest = json.loads((tmp_path / "out" / "coco" / "manifest.json").read_text())
    assert manifest["frames"] == [0, 1, 2]  # finished frames are committed and merged; frame 3 is not


# --------------------------------------------------------------------------- Ray
@pytest.mark.slow
def test_local_ray_with_two_actors_gives_the_same_bytes(reference, tmp_path):
    pytest.importorskip("ray")
    result = generate(load_recipe(write(tmp_path / "tiny.yaml", tiny(tmp_path / "out"))), workers=2,
                      ray_address="local")
    assert result.workers == 2 and result.frames == 6
    same_tree(reference, tmp_path / "out")


def test_ray_unreachable_or_missing_is_one_message(tmp_path, monkeypatch):
    import socket

    recipe = write(tmp_path / "tiny.yaml", tiny(tmp_path / "out"))
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    code, err = run_cli("generate", str(recipe), "--ray-address", f"127.0.0.1:{port}")
    assert code == 2 and "cannot reach a Ray cluster" in err and "Traceback" not in err
    monkeypatch.setitem(sys.modules, "ray", None)  # as if Ray were not installed
    with pytest.raises(InputError, match=r"pip install 'wearforge\[ray\]'"):
        generate(load_recipe(recipe), ray_address="local")
