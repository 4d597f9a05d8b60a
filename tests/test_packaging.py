"""Package metadata: the Kit manifest names the package, and usd-core stays out of the core dependencies."""

import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def test_kit_manifest_names_the_package_and_its_dependencies():
    # Kit names a folder extension after its folder: the core extension is exts/wearforge, whose package
    # folder (Kit puts the extension folder on sys.path) is the repository's own package
    ext = ROOT / "exts" / "wearforge"
    manifest = tomllib.loads((ext / "config" / "extension.toml").read_text())
    modules = [m["name"] for m in manifest["python"]["module"]]
    assert modules == ["wearforge", "wearforge.kit.extension"] and (ext / "wearforge" / "kit" / "extension.py").is_file()
    assert (ext / "wearforge").resolve() == (ROOT / "wearforge").resolve()
    assert not (ROOT / "extension.toml").exists()  # one manifest per extension folder
    assert "omni.kit.pipapi" in manifest["dependencies"]
    ui = tomllib.loads((ROOT / "exts" / "wearforge.ui" / "config" / "extension.toml").read_text())
    assert {"wearforge", "omni.ui"} <= set(ui["dependencies"])
    assert (ROOT / "exts" / "wearforge.ui" / ui["python"]["module"][0]["name"] / "extension.py").is_file()
    assert {"omni.replicator.core", "omni.usd"} <= set(manifest["dependencies"])
    assert not any("usd-core" in r for r in manifest["python"]["pipapi"]["requirements"])
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert manifest["package"]["version"] == project["version"]


def test_usd_core_is_an_extra_not_a_core_dependency():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert not any(d.startswith("usd-core") for d in project["dependencies"])
    assert any(d.startswith("usd-core") for d in project["optional-dependencies"]["standalone"])
    assert project["requires-python"].startswith(">=3.11")


def test_core_modules_do_not_import_kit():
    offenders = []
    for path in (ROOT / "wearforge").rglob("*.py"):
        if "kit" in path.relative_to(ROOT / "wearforge").parts:
            continue
        text = path.read_text()
        if "import omni" in text or "from omni" in text or "import isaacsim" in text:
            offenders.append(str(path))
    assert offenders == []


def test_core_and_kit_reach_no_standalone_backend():
    """Only the backend itself and the places that choose it (generate, gallery) import wearforge.render."""
    import ast

    allowed = {"generate.py", "gallery.py"}
    offenders = []
    for path in (ROOT / "wearforge").rglob("*.py"):
        rel = path.relative_to(ROOT / "wearforge")
        if rel.parts[0] == "render" or str(rel) in allowed:
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            names = [node.module or ""] if isinstance(node, ast.ImportFrom) else \
                [a.name for a in node.names] if isinstance(node, ast.Import) else []
            offenders += [f"{rel}: {n}" for n in names if n.startswith("wearforge.render")]
    assert not offenders, offenders


def test_the_package_list_names_every_package_of_the_source_tree():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    on_disk = {".".join(p.parent.relative_to(ROOT).parts) for p in (ROOT / "wearforge").rglob("__init__.py")}
    assert on_disk <= set(project["packages"])
    assert project["package-dir"]["wearforge.usd_assets"] == "usd_assets"


@pytest.mark.slow
def test_a_non_editable_install_has_the_bundled_twins_presets_and_hdris(tmp_path):
    """Build the wheel (as pip does for `pip install .`), install it outside the source tree, use assets."""
    import shutil
    import subprocess
    import sys
    import zipfile

    src = tmp_path / "src"  # a copy, so the build leaves nothing in the checkout
    src.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, src / name)
    for name in ("wearforge", "usd_assets"):
        shutil.copytree(ROOT / name, src / name, ignore=shutil.ignore_patterns("__pycache__"))
    run = dict(capture_output=True, text=True, timeout=300)
    built = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(tmp_path / "dist"),
                            str(src)], **run)
    assert built.returncode == 0, built.stderr[-2000:]
    wheel = next((tmp_path / "dist").glob("wearforge-*.whl"))
    names = set(zipfile.ZipFile(wheel).namelist())
    bundled = {f"wearforge/usd_assets/{p.relative_to(ROOT / 'usd_assets')}" for p in (ROOT / "usd_assets").rglob("*")
               if p.is_file() and p.suffix in (".usda", ".yaml", ".hdr", ".png")}
    assert bundled and bundled <= names
    site = tmp_path / "site"
    installed = subprocess.run([sys.executable, "-m", "pip", "install", "--no-deps", "-q", "--target", str(site),
                                str(wheel)], **run)
    assert installed.returncode == 0, installed.stderr[-2000:]
    probe = ("import wearforge, pathlib\n"
             "from wearforge.recipe import ASSETS_DIR, resolve_usd, resolve_file\n"
             "from wearforge.randomizers.materials import LIBRARY\n"
             "from wearforge.stage import open_stage\n"
             "assert pathlib.Path(wearforge.__file__).is_relative_to(pathlib.Path(r'%s')), wearforge.__file__\n"
             "stage = open_stage(resolve_usd('asset:inspection_cell', pathlib.Path('.')))\n"
             "assert stage.GetPrimAtPath('/World/Parts').IsValid() and LIBRARY.is_file()\n"
             "assert resolve_file('asset:hdri/studio_softboxes.hdr', pathlib.Path('.')).is_file()\n"
             "print(ASSETS_DIR)\n") % site
    env = {k: v for k, v in __import__("os").environ.items() if k != "PYTHONPATH"}
    env["PYTHONPATH"] = str(site)
    used = subprocess.run([sys.executable, "-c", probe], cwd=tmp_path, env=env, **run)
    assert used.returncode == 0, used.stderr[-2000:]
    assert used.stdout.strip() == str(site / "wearforge" / "usd_assets")
