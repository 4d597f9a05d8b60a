"""Materials of a twin as the standalone renderer shades them: UsdPreviewSurface, MaterialX
standard_surface / open_pbr_surface written in USD, Isaac Sim's OmniPBR (from its USD inputs),
displayColor (constant or per vertex), and the textures they read.

What cannot be translated is never dropped silently: it is named once per material (usd_notes).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from pxr import Gf, Usd, UsdGeom, UsdShade

from wearforge.usd_notes import warn_once

if TYPE_CHECKING:
    from wearforge.twin_reader import MeshGeometry


@dataclass(frozen=True)
class Texture:
    path: str
    channel: str  # rgb, r, g, b or a
    srgb: bool | None  # sourceColorSpace: True sRGB, False raw, None auto (8-bit colour images are sRGB)
    material: str = ""  # the material that uses it, for messages


@dataclass
class MaterialState:
    """UsdPreviewSurface values (metallic workflow) with optional textures per input."""

    base_color: tuple = (0.18, 0.18, 0.18)
    metallic: float = 0.0
    roughness: float = 0.5
    ior: float = 1.5
    clearcoat: float = 0.0
    clearcoat_roughness: float = 0.01
    opacity: float = 1.0
    emissive: tuple = (0.0, 0.0, 0.0)
    textures: dict[str, Texture] = field(default_factory=dict)
    vertex_color: bool = False  # base colour from the mesh's per-vertex displayColor


# UsdPreviewSurface input -> MaterialState field, and the same for the MaterialX surfaces usd-core can read
PREVIEW_INPUTS = {"diffuseColor": "base_color", "metallic": "metallic", "roughness": "roughness", "ior": "ior",
                  "clearcoat": "clearcoat", "clearcoatRoughness": "clearcoat_roughness", "opacity": "opacity",
                  "emissiveColor": "emissive"}
MTLX_INPUTS = {
    "ND_standard_surface_surfaceshader": {
        "base_color": "base_color", "metalness": "metallic", "specular_roughness": "roughness",
        "specular_IOR": "ior", "coat": "clearcoat", "coat_roughness": "clearcoat_roughness",
        "opacity": "opacity", "emission_color": "emissive"},
    "ND_open_pbr_surface_surfaceshader": {
        "base_color": "base_color", "base_metalness": "metallic", "specular_roughness": "roughness",
        "specular_ior": "ior", "coat_weight": "clearcoat", "coat_roughness": "clearcoat_roughness",
        "geometry_opacity": "opacity", "emission_color": "emissive"},
}
_COLOR_FIELDS = ("base_color", "emissive")
_TEXTURE_IDS = ("UsdUVTexture", "ND_image_color3", "ND_image_color4", "ND_image_float", "ND_image_vector3",
                "ND_tiledimage_color3", "ND_tiledimage_float")


def _input_value(shader: UsdShade.Shader, name: str, attr: str, default, material: str, notes=None):
    """(value, texture or None) of one surface input; what cannot be followed is noted once."""
    inp = shader.GetInput(name)
    if not inp:
        return default, None
    value = inp.Get()
    value = default if value is None else value
    source = inp.GetConnectedSource()
    if not source:
        return value, None
    src_shader = UsdShade.Shader(source[0].GetPrim())
    kind = src_shader.GetIdAttr().Get() if src_shader else None
    if kind in _TEXTURE_IDS:
        return _texture(src_shader, str(source[1]), name, attr, value, material, notes)
    if kind and kind.startswith("UsdPrimvarReader"):
        varname = src_shader.GetInput("varname")
        var = varname.Get() if varname else None
        if var == "displayColor" and attr == "base_color":
            return "displayColor", None
        warn_once(material, f"{name} reads primvar {var!r}, which the standalone renderer does not read; "
                            "using the input's value", notes)
        return value, None
    warn_once(material, f"{name} is connected to {kind or source[0].GetPath()}, which is not translated; "
                        "using the input's value", notes)
    return value, None


def _texture(shader: UsdShade.Shader, output: str, name: str, attr: str, value, material: str, notes=None):
    file_input = shader.GetInput("file")
    asset = file_input.Get() if file_input else None
    fallback = shader.GetInput("fallback") or shader.GetInput("default")
    if fallback and fallback.Get() is not None:
        fb = fallback.Get()
        value = tuple(fb)[:3] if attr in _COLOR_FIELDS and hasattr(fb, "__len__") else \
            (float(fb) if not hasattr(fb, "__len__") else float(tuple(fb)[0]))
    if asset is None or not asset.path:
        warn_once(material, f"{name}: texture without a file; using its fallback value", notes)
        return value, None
    path = _local_file(asset.resolvedPath)
    if not path or not Path(path).is_file():
        warn_once(material, f"{name}: texture {asset.path} not found; using its fallback value", notes)
        return value, None
    # a normal map's scale 2 / bias -1 is the standard decode, which the renderer's normal map applies itself
    neutrals = ((2.0, 2.0, 2.0, 1.0), (-1.0, -1.0, -1.0, 0.0)) if attr == "normal" else \
        ((1.0, 1.0, 1.0, 1.0), (0.0, 0.0, 0.0, 0.0))
    for name_, neutral in zip(("scale", "bias"), neutrals):
        inp = shader.GetInput(name_)
        if inp and inp.Get() is not None and tuple(inp.Get()) != neutral:
            warn_once(material, f"{name}: texture {name_} {tuple(inp.Get())} is not applied", notes)
    st = shader.GetInput("st")
    st_source = st.GetConnectedSource() if st else None
    if st_source:
        reader = UsdShade.Shader(st_source[0].GetPrim())
        kind = reader.GetIdAttr().Get() if reader else None
        if kind and not kind.startswith("UsdPrimvarReader"):
            warn_once(material, f"{name}: texture coordinates come through {kind}, which is not applied", notes)
    space = shader.GetInput("sourceColorSpace")
    space = space.Get() if space else None
    srgb = True if space == "sRGB" else False if space == "raw" else None
    if attr == "normal":
        srgb = False  # vectors, never colour-managed
    channel = output if output in ("rgb", "r", "g", "b", "a") else ("rgb" if attr in _COLOR_FIELDS + ("normal",) else "r")
    if Path(path).suffix.lower() not in TEXTURE_SUFFIXES:
        warn_once(material, f"{name}: texture format of {path} is not read; using its fallback value", notes)
        return value, None
    return value, Texture(path, channel, srgb, material)


def _local_file(resolved: str) -> str:
    """A file path for a resolved asset; textures inside a .usdz package are copied out once (cached)."""
    if not resolved or "[" not in resolved or Path(resolved).is_file():
        return resolved
    import hashlib
    import tempfile

    from pxr import Ar

    asset = Ar.GetResolver().OpenAsset(Ar.ResolvedPath(resolved))
    if asset is None:
        return ""
    inner = resolved[resolved.rindex("[") + 1:].rstrip("]")
    key = hashlib.sha1(resolved.encode()).hexdigest()[:16]
    out = Path(tempfile.gettempdir()) / "wearforge-usdz" / key / Path(inner).name
    if not out.is_file():
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_bytes(bytes(asset.GetBuffer()))
    return str(out)


# image formats the standalone renderer reads (Mitsuba's bitmap loader; TIFF through tifffile)
TEXTURE_SUFFIXES = (".png", ".jpg", ".jpeg", ".exr", ".hdr", ".pic", ".tga", ".bmp", ".pfm", ".ppm", ".tif", ".tiff")


# Isaac Sim's usual MDL material: its inputs are plain USD attributes, the .mdl file is not needed
OMNIPBR_INPUTS = {"diffuse_color_constant": "base_color", "metallic_constant": "metallic",
                  "reflection_roughness_constant": "roughness", "opacity_constant": "opacity"}
OMNIPBR_TEXTURES = {"diffuse_texture": ("base_color", "rgb"), "reflectionroughness_texture": ("roughness", "r"),
                    "metallic_texture": ("metallic", "r")}


def surface_shader(material: UsdShade.Material) -> tuple[UsdShade.Shader | None, str]:
    """The material's surface shader that can be translated and its id ('' when there is none; 'mdl:NAME'
    for an MDL material other than OmniPBR)."""
    other = ""
    for context in ("", "mtlx", "mdl"):
        try:
            out = material.ComputeSurfaceSource(context)
        except Exception:  # USD 25.x takes a list of render contexts
            out = material.ComputeSurfaceSource([context])
        if not (out and out[0]):
            continue
        shader = out[0]
        shader_id = shader.GetIdAttr().Get() or ""
        if shader_id == "UsdPreviewSurface" or shader_id in MTLX_INPUTS:
            return shader, shader_id
        if context == "mdl":
            asset = shader.GetSourceAsset("mdl")
            name = shader.GetSourceAssetSubIdentifier("mdl") or (Path(asset.path).stem if asset else "")
            if name == "OmniPBR":
                return shader, "OmniPBR"
            other = f"mdl:{name or '?'}"
    return None, other


def _read_omnipbr(shader: UsdShade.Shader, state: MaterialState, material: str, notes=None) -> None:
    def get(n, default):
        inp = shader.GetInput(n)
        v = inp.Get() if inp else None
        return default if v is None else v

    state.base_color, state.roughness, state.metallic = (0.2, 0.2, 0.2), 0.5, 0.0
    for name, attr in OMNIPBR_INPUTS.items():
        value = get(name, None)
        if value is not None:
            setattr(state, attr, tuple(float(v) for v in value) if attr == "base_color" else float(value))
    if not get("enable_opacity", False):
        state.opacity = 1.0
    tint = get("diffuse_tint", (1.0, 1.0, 1.0))
    state.base_color = tuple(c * float(t) for c, t in zip(state.base_color, tint))
    if get("enable_emission", False):
        intensity = float(get("emissive_intensity", 40.0))
        state.emissive = tuple(float(c) * intensity / 1000.0 for c in get("emissive_color", (1.0, 0.1, 0.1)))
        warn_once(material, "OmniPBR emission is approximated (emissive_intensity / 1000)", notes)
    for name, (attr, channel) in OMNIPBR_TEXTURES.items():
        inp = shader.GetInput(name)
        asset = inp.Get() if inp else None
        if not asset or not asset.path:
            continue
        path = _local_file(asset.resolvedPath)
        if not path or not Path(path).is_file() or Path(path).suffix.lower() not in TEXTURE_SUFFIXES:
            warn_once(material, f"{name}: texture {asset.path} not found or not readable; using the constant", notes)
            continue
        space = inp.GetAttr().GetColorSpace() if inp.GetAttr().HasColorSpace() else ""
        srgb = True if space == "sRGB" else False if space == "raw" else None
        state.textures[attr] = Texture(path, channel, srgb, material)
    ignored = [n for n in ("normalmap_texture", "ORM_texture", "detail_texture") if get(n, None) and get(n, None).path]
    if ignored:
        warn_once(material, f"OmniPBR inputs {', '.join(ignored)} are not applied", notes)


def read_material(prim: Usd.Prim, mesh: MeshGeometry | None = None, notes=None) -> MaterialState:
    """The bound surface's values (UsdPreviewSurface, or a MaterialX standard_surface/open_pbr_surface
    written in USD), else displayColor. ``prim`` may be a GeomSubset; ``mesh`` gives per-vertex colours."""
    state = MaterialState()
    gprim = prim.GetParent() if prim.IsA(UsdGeom.Subset) else prim
    material, _ = UsdShade.MaterialBindingAPI(prim).ComputeBoundMaterial()
    shader, shader_id = surface_shader(material) if material else (None, "")
    if shader is None:
        if material and shader_id.startswith("mdl:"):
            warn_once(str(material.GetPath()), f"MDL material {shader_id[4:]} is not translated (only OmniPBR is); "
                      "using displayColor", notes)
        elif material:
            warn_once(str(material.GetPath()), "no UsdPreviewSurface or MaterialX standard_surface/open_pbr_surface "
                      "surface that usd-core can read (a MaterialX .mtlx reference is not read); using "
                      "displayColor", notes)
        _display_color(state, gprim, mesh)
        return state
    name = str(material.GetPath())
    if shader_id == "OmniPBR":
        _read_omnipbr(shader, state, name, notes)
        return state
    fields = PREVIEW_INPUTS if shader_id == "UsdPreviewSurface" else MTLX_INPUTS[shader_id]
    for usd_name, attr in fields.items():
        value, tex = _input_value(shader, usd_name, attr, getattr(state, attr), name, notes)
        if value == "displayColor":
            _display_color(state, gprim, mesh)
            continue
        if isinstance(value, (Gf.Vec3f, Gf.Vec3d, Gf.Vec4f, tuple, list)):
            value = tuple(float(v) for v in tuple(value)[:3])
        else:
            value = float(value)
        setattr(state, attr, value)
        if tex is not None:
            state.textures[attr] = tex
    if shader_id == "UsdPreviewSurface":
        _, normal_map = _input_value(shader, "normal", "normal", None, name, notes)
        if normal_map is not None:
            state.textures["normal"] = normal_map
        _untranslated_preview_inputs(shader, name, notes, skip=("normal",) if normal_map else ())
    if isinstance(state.opacity, tuple):  # MaterialX opacity is a colour
        state.opacity = float(np.mean(state.opacity))
    if shader_id != "UsdPreviewSurface":
        _mtlx_weights(shader, state, name, notes)
    return state


def _untranslated_preview_inputs(shader: UsdShade.Shader, material: str, notes=None, skip=()) -> None:
    """Name the UsdPreviewSurface inputs the standalone renderer does not apply (never drop them silently)."""
    skipped = []
    for name in ("normal", "displacement", "occlusion", "opacityThreshold"):
        if name in skip:
            continue
        inp = shader.GetInput(name)
        if inp and (inp.GetConnectedSource() or (inp.Get() is not None and name != "opacityThreshold")
                    or (name == "opacityThreshold" and (inp.Get() or 0) > 0)):
            skipped.append(name)
    workflow = shader.GetInput("useSpecularWorkflow")
    if workflow and workflow.Get():
        skipped.append("useSpecularWorkflow (specularColor; metallic workflow used)")
    if skipped:
        warn_once(material, f"UsdPreviewSurface inputs not applied: {', '.join(skipped)}", notes)


def _mtlx_weights(shader: UsdShade.Shader, state: MaterialState, material: str, notes=None) -> None:
    """Fold MaterialX weights into the principled values; name what is approximated."""
    def get(n, default):
        inp = shader.GetInput(n)
        v = inp.Get() if inp else None
        return default if v is None else v

    base = float(get("base", 1.0))
    state.base_color = tuple(c * base for c in state.base_color)
    emission = float(get("emission", get("emission_luminance", 0.0)))
    if shader.GetIdAttr().Get() == "ND_open_pbr_surface_surfaceshader":
        emission = emission / 1000.0  # luminance in nits -> a unit-less scale near preview-surface values
    state.emissive = tuple(c * emission for c in state.emissive)
    ignored = [n for n in ("transmission", "subsurface", "sheen", "thin_film_thickness", "transmission_weight",
                           "subsurface_weight", "fuzz_weight") if float(np.max(get(n, 0.0))) > 0]
    if ignored:
        warn_once(material, f"MaterialX inputs {', '.join(ignored)} are approximated by a principled BSDF", notes)


def _display_color(state: MaterialState, gprim: Usd.Prim, mesh: MeshGeometry | None) -> None:
    if mesh is not None and mesh.colors is not None:
        state.vertex_color = True
        return
    color = UsdGeom.Gprim(gprim).GetDisplayColorAttr().Get() if gprim.IsA(UsdGeom.Gprim) else None
    if color:
        state.base_color = tuple(float(c) for c in color[0])
