"""Ctrl-C: a clear message with the command that resumes, and a resumed run counts the frames already there."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.slow
@pytest.mark.skipif(sys.platform == "win32", reason="SIGINT to a child process")
def test_sigint_prints_the_resume_command_and_the_rerun_counts_frames_already_there(write_recipe, cell_recipe,
                                                                                    tmp_path):
    out = tmp_path / "ds"
    recipe = write_recipe({**cell_recipe, "frames": 40, "render": {"resolution": [16, 12], "spp": 1},
                           "output": {"dir": str(out), "contact_sheet": 0}})
    env = {**os.environ, "PYTHONPATH": str(ROOT), "COLUMNS": "200"}
    cmd = [sys.executable, "-m", "wearforge", "generate", str(recipe)]
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.time() + 120
    while not (out / "rgb_0001.png").exists() and proc.poll() is None and time.time() < deadline:
        time.sleep(0.1)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    assert "interrupted" in err and "Traceback" not in err
    assert f"resume with: wearforge generate {recipe}" in err
    written = len(list(out.glob("rgb_*.png")))
    assert 2 <= written < 40
    from wearforge.generate import generate
    from wearforge.recipe import load_recipe

    seen = []
    result = generate(load_recipe(recipe, ["frames=" + str(written + 1)]), progress=lambda d, t: seen.append((d, t)))
    assert seen[0] == (written, written + 1) and seen[-1] == (written + 1, written + 1)
    assert result.frames == 1
