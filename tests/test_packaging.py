"""Package metadata: the Kit manifest names the package, and usd-core stays out of the core dependencies."""

import tomllib
from pathlib import Path

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
