"""Pick Mitsuba's variant: CUDA when a GPU works, else LLVM with a libLLVM that works with the
installed Dr.Jit, else scalar. Each candidate is tried in a child process (a mismatched libLLVM can
abort the process), and the verdict is cached per Mitsuba/Dr.Jit version and library path.
"""

from __future__ import annotations

import glob
import json
import logging
import os
import shutil
import subprocess
import sys
from importlib import metadata
from pathlib import Path

log = logging.getLogger("wearforge.render")

VARIANTS = {"cuda": "cuda_ad_rgb", "llvm": "llvm_ad_rgb", "scalar": "scalar_rgb"}
CACHE = Path(os.environ.get("WEARFORGE_CACHE", Path.home() / ".cache" / "wearforge")) / "mitsuba_variant.json"

_PROBE = """
import mitsuba as mi, sys
mi.set_variant(sys.argv[1])
scene = mi.load_dict({'type': 'scene', 'integrator': {'type': 'path'},
    'sensor': {'type': 'perspective', 'film': {'type': 'hdrfilm', 'width': 8, 'height': 8}},
    'shape': {'type': 'sphere', 'center': [0, 0, 4]}, 'light': {'type': 'constant'}})
img = mi.render(scene, spp=2)
assert float(mi.TensorXf(img).numpy().mean()) > 0
print('ok')
"""


def libllvm_candidates() -> list[str]:
    """libLLVM shared objects on this machine, newest version first."""
    pats = ["/usr/lib/x86_64-linux-gnu/libLLVM*.so*", "/usr/lib/aarch64-linux-gnu/libLLVM*.so*",
            "/usr/lib/llvm-*/lib/libLLVM*.so*", "/usr/lib64/libLLVM*.so*", "/usr/local/lib/libLLVM*.so*",
            "/opt/homebrew/opt/llvm/lib/libLLVM.dylib"]
    found = {os.path.realpath(p) for pat in pats for p in glob.glob(pat)}

    def version(path: str) -> tuple:
        digits = "".join(c if c.isdigit() else " " for c in os.path.basename(path)).split()
        return tuple(int(d) for d in digits) or (0,)

    return sorted(found, key=version, reverse=True)


def _probe(variant: str, llvm_path: str | None) -> tuple[bool, str]:
    env = dict(os.environ)
    if llvm_path:
        env["DRJIT_LIBLLVM_PATH"] = llvm_path
    try:
        out = subprocess.run([sys.executable, "-c", _PROBE, variant], env=env, capture_output=True,
                             text=True, timeout=180)
    except subprocess.TimeoutExpired:
        return False, "timed out"
    if out.returncode == 0 and out.stdout.strip().endswith("ok"):
        return True, ""
    lines = (out.stderr or out.stdout).strip().splitlines()
    return False, lines[-1][:200] if lines else f"exit status {out.returncode}"


def _has_gpu() -> bool:
    return bool(glob.glob("/dev/nvidia[0-9]*")) or shutil.which("nvidia-smi") is not None


_chosen_llvm: str | None = None  # the DRJIT_LIBLLVM_PATH this module set (not the user's own)


def _cache_key() -> str:
    try:
        versions = f"{metadata.version('mitsuba')}/{metadata.version('drjit')}"
    except metadata.PackageNotFoundError:
        versions = "unknown"
    user_llvm = os.environ.get("DRJIT_LIBLLVM_PATH", "")
    if _chosen_llvm and user_llvm == _chosen_llvm:
        user_llvm = ""
    return f"{versions}|{user_llvm}|{sys.executable}"


def _use_llvm(path: str) -> None:
    global _chosen_llvm
    os.environ["DRJIT_LIBLLVM_PATH"] = path
    _chosen_llvm = path


def choose_variant(preference: str = "auto") -> tuple[str, str]:
    """Return (mitsuba variant, why) and set DRJIT_LIBLLVM_PATH for the LLVM case.

    Must run before mitsuba is imported in this process (Dr.Jit reads the library path once).
    """
    env_choice = os.environ.get("WEARFORGE_MITSUBA_VARIANT")
    if env_choice:
        return env_choice, "set by WEARFORGE_MITSUBA_VARIANT"
    cache = json.loads(CACHE.read_text()) if CACHE.is_file() else {}
    key = f"{_cache_key()}|{preference}"
    if key in cache:
        hit = cache[key]
        if hit.get("llvm"):
            _use_llvm(hit["llvm"])
        return hit["variant"], hit["why"] + " (cached)"
    variant, why, llvm = _decide(preference)
    cache[key] = {"variant": variant, "why": why, "llvm": llvm}
    try:
        CACHE.parent.mkdir(parents=True, exist_ok=True)
        CACHE.write_text(json.dumps(cache, indent=1))
    except OSError:
        pass
    if llvm:
        _use_llvm(llvm)
    return variant, why


def _decide(preference: str) -> tuple[str, str, str | None]:
    notes = []
    if preference in ("auto", "cuda"):
        if _has_gpu():
            ok, err = _probe(VARIANTS["cuda"], None)
            if ok:
                return VARIANTS["cuda"], "an NVIDIA GPU ran the CUDA variant", None
            notes.append(f"CUDA failed ({err})")
        else:
            notes.append("no NVIDIA GPU")
    if preference in ("auto", "cuda", "llvm"):
        preset = os.environ.get("DRJIT_LIBLLVM_PATH")
        if preset and preset == _chosen_llvm:
            preset = None
        for path in ([preset] if preset else [None, *libllvm_candidates()]):
            ok, err = _probe(VARIANTS["llvm"], path)
            if ok:
                lib = path or "Dr.Jit's default search"
                return VARIANTS["llvm"], "; ".join([*notes, f"LLVM variant runs with {lib}"]), path
            notes.append(f"LLVM with {path or 'default libLLVM'} failed ({err})")
        if not libllvm_candidates() and not preset:
            notes.append("no libLLVM found (Debian/Ubuntu: apt-get install libllvm15)")
    return VARIANTS["scalar"], "; ".join([*notes, "using the scalar variant (slow, single-threaded)"]), None
