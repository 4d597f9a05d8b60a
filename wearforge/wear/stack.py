"""Texture stacks: clean material, then defect layers in order, then normals from height.

Output (host arrays, row 0 = t = 1): linear base colour, roughness, metallic, tangent-space normal,
with ``displace`` a displacement map (object units along the surface normal) holding the relief of the
layers that are geometry (``GEOMETRY = True`` in their module: dents), which the normal map then leaves out,
the defect-class map (uint8, 0 = clean, else 1 + index in DEFECT_CLASSES) and the defect-instance map
(uint32, 0 = none; one id per individual occurrence). A texel belongs to the class of the top-most
layer covering it with mask >= 0.5, so labels follow what is visible in the material.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np
import warp as wp

from wearforge.wear.bake import Bake, device
from wearforge.wear.defects import DEFECT_CLASSES, DEFECTS, Context, run_defect
from wearforge.wear.finish import apply_finish
from wearforge.wear.types import Layer, Material, Surface

MASK_THRESHOLD = 0.5
# A layer over a texel another defect already labels takes the label only where it hides most of it
# (``Layer.hide`` above this): a see-through film (dust, dirt, oil) leaves a crack's or scratch's relief and most of
# its contrast showing, so the defect beneath keeps the label.
HIDES_BELOW = wp.constant(0.6)


@wp.kernel
def _init(surface: Surface, color: wp.vec3, rough: float, metal: float, mat: Material):
    y, x = wp.tid()
    mat.color[y, x] = color
    mat.rough[y, x] = rough
    mat.metal[y, x] = metal
    mat.height[y, x] = 0.0
    mat.aniso[y, x] = 0.0
    mat.tdir[y, x] = wp.vec3(0.0)


@wp.kernel
def _compose(layer: Layer, code: int, index: int, mat: Material, cls: wp.array2d(dtype=wp.uint8),
             inst: wp.array2d(dtype=wp.uint32), geometry: int, disp: wp.array2d(dtype=float)):
    y, x = wp.tid()
    m = wp.clamp(layer.mask[y, x], 0.0, 1.0)
    if m <= 0.0:
        return
    mat.color[y, x] = wp.lerp(mat.color[y, x], layer.color[y, x], m)
    mat.rough[y, x] = wp.lerp(mat.rough[y, x], layer.rough[y, x], m)
    mat.metal[y, x] = wp.lerp(mat.metal[y, x], layer.metal[y, x], m)
    if geometry != 0:  # the renderer moves the mesh by it: the normal map must not tilt it a second time
        disp[y, x] = disp[y, x] + layer.height[y, x]
    else:
        mat.height[y, x] = mat.height[y, x] + layer.height[y, x]
    a = layer.aniso[y, x]
    mat.aniso[y, x] = wp.clamp(wp.lerp(mat.aniso[y, x], a, m), 0.0, 1.0)
    if a > 0.0:
        mat.tdir[y, x] = layer.tdir[y, x]
    hide = layer.hide[y, x]
    if hide < 0.0:
        hide = m
    if m >= 0.5 and (cls[y, x] == wp.uint8(0) or hide > HIDES_BELOW):
        cls[y, x] = wp.uint8(code)
        # layer index in the top byte keeps ids of different layers apart
        inst[y, x] = (wp.uint32(index + 1) << wp.uint32(24)) | (layer.occ[y, x] & wp.uint32(0xFFFFFF))


@wp.kernel
def _normals(surface: Surface, height: wp.array2d(dtype=float), dpds: wp.array2d(dtype=wp.vec3),
             dpdt: wp.array2d(dtype=wp.vec3), res: int, tdir: wp.array2d(dtype=wp.vec3),
             out: wp.array2d(dtype=wp.vec3), tangent: wp.array2d(dtype=wp.vec3)):
    """Tangent-space normal (x along +s, y = n x s, as Mitsuba's normalmap frame) from height, and the groove
    direction in the same frame (encoded like the normal, z = 0; (0.5, 0.5, 0.5) where there is none)."""
    y, x = wp.tid()
    tangent[y, x] = wp.vec3(0.5)
    if surface.cover[y, x] == 0:
        out[y, x] = wp.vec3(0.5, 0.5, 1.0)
        return
    xl, xr = wp.max(x - 1, 0), wp.min(x + 1, res - 1)
    yu, yd = wp.max(y - 1, 0), wp.min(y + 1, res - 1)
    # only difference against texels of the same surface (gutters hold copies, empties hold nothing)
    if surface.cover[y, xl] == 0:
        xl = x
    if surface.cover[y, xr] == 0:
        xr = x
    if surface.cover[yu, x] == 0:
        yu = y
    if surface.cover[yd, x] == 0:
        yd = y
    dhds = float(0.0)
    dhdt = float(0.0)
    if xr != xl:
        dhds = (height[y, xr] - height[y, xl]) * float(res) / float(xr - xl)
    if yd != yu:
        dhdt = -(height[yd, x] - height[yu, x]) * float(res) / float(yd - yu)  # rows run down, t up
    a, b = dpds[y, x], dpdt[y, x]
    n = surface.nrm[y, x]
    # surface gradient of h from its (s, t) derivatives: grad = [a b] G^-1 [dh/ds, dh/dt]
    g00, g01, g11 = wp.dot(a, a), wp.dot(a, b), wp.dot(b, b)
    det = g00 * g11 - g01 * g01
    if det <= 1.0e-30:
        out[y, x] = wp.vec3(0.5, 0.5, 1.0)
        return
    cs = (g11 * dhds - g01 * dhdt) / det
    ct = (g00 * dhdt - g01 * dhds) / det
    grad = cs * a + ct * b
    s_axis = wp.normalize(a - n * wp.dot(n, a))
    t_axis = wp.cross(n, s_axis)
    local = wp.normalize(wp.vec3(-wp.dot(grad, s_axis), -wp.dot(grad, t_axis), 1.0))
    out[y, x] = local * 0.5 + wp.vec3(0.5)
    d = tdir[y, x]
    ts = wp.vec2(wp.dot(d, s_axis), wp.dot(d, t_axis))
    if wp.length(ts) > 1.0e-8:
        ts = wp.normalize(ts)
        tangent[y, x] = wp.vec3(ts[0] * 0.5 + 0.5, ts[1] * 0.5 + 0.5, 0.5)


@wp.func
def _srgb8(x: float) -> wp.uint8:
    c = wp.clamp(x, 0.0, 1.0)
    v = wp.where(c <= 0.0031308, 12.92 * c, 1.055 * wp.pow(c, 1.0 / 2.4) - 0.055)
    return wp.uint8(int(v * 255.0 + 0.5))


@wp.func
def _lin8(x: float) -> wp.uint8:
    return wp.uint8(int(wp.clamp(x, 0.0, 1.0) * 255.0 + 0.5))


@wp.kernel
def _pack_rgba8(mat: Material, normal: wp.array2d(dtype=wp.vec3), color: wp.array3d(dtype=wp.uint8),
                rough: wp.array3d(dtype=wp.uint8), metal: wp.array3d(dtype=wp.uint8), nrm: wp.array3d(dtype=wp.uint8)):
    """8-bit RGBA textures for RTX: sRGB base colour, linear roughness/metallic, encoded normal."""
    y, x = wp.tid()
    c = mat.color[y, x]
    r = _lin8(mat.rough[y, x])
    m = _lin8(mat.metal[y, x])
    n = normal[y, x]
    for k in range(3):
        color[y, x, k] = _srgb8(c[k])
        rough[y, x, k] = r
        metal[y, x, k] = m
        nrm[y, x, k] = _lin8(n[k])
    color[y, x, 3] = wp.uint8(255)
    rough[y, x, 3] = wp.uint8(255)
    metal[y, x, 3] = wp.uint8(255)
    nrm[y, x, 3] = wp.uint8(255)


@dataclass
class CleanMaterial:
    base_color: tuple[float, float, float]
    metallic: float
    roughness: float
    finish: str | None = None  # surface finish of the clean part (never a defect), see wear.finish
    finish_params: dict[str, float] | None = None


@dataclass
class LayerSpec:
    type: str
    seed: int
    params: dict[str, float]


@dataclass
class WearStack:
    """A finished stack on the host."""

    base_color: np.ndarray  # (R, R, 3) float32 linear
    roughness: np.ndarray  # (R, R) float32
    metallic: np.ndarray  # (R, R) float32
    normal: np.ndarray  # (R, R, 3) float32 in [0, 1] (tangent space, encoded)
    height: np.ndarray  # (R, R) float32, object units: the relief in the normal map
    defect_class: np.ndarray  # (R, R) uint8
    defect_instance: np.ndarray  # (R, R) uint32
    cover: np.ndarray  # (R, R) int32
    anisotropy: np.ndarray | None = None  # (R, R) float32, 0 isotropic .. 1
    tangent: np.ndarray | None = None  # (R, R, 3) groove direction in the normal map's frame, encoded; z = 0.5
    device_rgba: dict | None = None  # with keep_device: RGBA8 maps as Warp arrays on the kernels' device
    # with device_maps: the float maps as Warp arrays on the kernels' device (base_color and normal (R, R) vec3,
    # roughness and metallic (R, R)), for a renderer that takes them as they are (DLPack)
    device_maps: dict | None = None
    # with displace: (R, R) float32, object units along the surface normal, the relief of geometry layers
    # (dents) for a renderer that displaces the mesh; None when no layer is geometry
    displacement: np.ndarray | None = None
    # with a finish (brushed, turned, cast skin...): the clean material with its finish, before any defect, as
    # host maps named like the fields above (base_color, roughness, metallic, normal, anisotropy, tangent);
    # the part "without wear" that visibility tests compare against. None without a finish: the clean
    # material is uniform.
    clean_maps: dict | None = None

    @property
    def resolution(self) -> int:
        return self.base_color.shape[0]


def _surface(bake: Bake, up: np.ndarray, dev: str) -> Surface:
    s = Surface()
    s.cover = wp.array(bake.cover, dtype=int, device=dev)
    s.pos = wp.array(bake.position, dtype=wp.vec3, device=dev)
    s.nrm = wp.array(bake.normal, dtype=wp.vec3, device=dev)
    s.ao = wp.array(bake.ao, dtype=float, device=dev)
    s.cavity = wp.array(bake.cavity, dtype=float, device=dev)
    s.convex = wp.array(bake.convexity, dtype=float, device=dev)
    texel = np.minimum(np.linalg.norm(bake.dpds, axis=-1), np.linalg.norm(bake.dpdt, axis=-1)) / bake.resolution
    s.texel = wp.array(texel.astype(np.float32), dtype=float, device=dev)
    s.up = wp.vec3(*[float(v) for v in up / np.linalg.norm(up)])
    s.scale = float(bake.diagonal)
    return s


def _layer(res: int, dev: str) -> Layer:
    out = Layer()
    out.aniso = wp.zeros((res, res), dtype=float, device=dev)
    out.tdir = wp.zeros((res, res), dtype=wp.vec3, device=dev)
    out.mask = wp.zeros((res, res), dtype=float, device=dev)
    out.color = wp.zeros((res, res), dtype=wp.vec3, device=dev)
    out.rough = wp.zeros((res, res), dtype=float, device=dev)
    out.metal = wp.zeros((res, res), dtype=float, device=dev)
    out.height = wp.zeros((res, res), dtype=float, device=dev)
    out.occ = wp.zeros((res, res), dtype=wp.uint32, device=dev)
    out.hide = wp.zeros((res, res), dtype=float, device=dev)
    return out


def build_stack(bake: Bake, clean: CleanMaterial, layers: list[LayerSpec],
                up: np.ndarray = np.array([0.0, 0.0, 1.0]), dev: str | None = None,
                keep_device: bool = False, meters_per_unit: float = 1.0, finish_seed: int = 0,
                focus: tuple[np.ndarray, float] | None = None, device_maps: bool = False,
                displace: bool = False) -> WearStack:
    """Grow ``layers`` (bottom to top) on ``clean``; deterministic for the same inputs and seeds.

    Defect lengths are given in millimetres and converted with ``meters_per_unit``: metres per object unit
    of the mesh (the stage's metersPerUnit times the mesh's world scale), so wear has the same physical
    size whatever the twin's units. ``up`` is world up in the mesh's object frame:
    dust settles against it, drips and rust streaks run along -up. ``focus`` (object-space centre, radius)
    places discrete defects near a point, e.g. inside an inspection camera's field.

    ``keep_device`` also returns the textures as RGBA8 Warp arrays on the device, ready for RTX
    (``omni.ui.DynamicTextureProvider.set_bytes_data_from_gpu``) without a trip through host memory;
    ``device_maps`` keeps the float maps as Warp arrays too, for Mitsuba (``wearforge.render.device_textures``).
    ``displace``: the relief of geometry layers (dents) goes into ``displacement`` instead of the normal map,
    for a renderer that displaces the mesh (``wearforge.render.displace``); without it (Kit) all relief is
    in the normal map.
    """
    dev = dev or device()
    res = bake.resolution
    surface = _surface(bake, np.asarray(up, float), dev)
    mat = Material()
    mat.color = wp.zeros((res, res), dtype=wp.vec3, device=dev)
    mat.rough = wp.zeros((res, res), dtype=float, device=dev)
    mat.metal = wp.zeros((res, res), dtype=float, device=dev)
    mat.height = wp.zeros((res, res), dtype=float, device=dev)
    mat.aniso = wp.zeros((res, res), dtype=float, device=dev)
    mat.tdir = wp.zeros((res, res), dtype=wp.vec3, device=dev)
    wp.launch(_init, dim=(res, res), inputs=[surface, wp.vec3(*map(float, clean.base_color)),
                                              float(clean.roughness), float(clean.metallic), mat], device=dev)
    cls = wp.zeros((res, res), dtype=wp.uint8, device=dev)
    inst = wp.zeros((res, res), dtype=wp.uint32, device=dev)
    region_layers = []
    out = _layer(res, dev)
    dpds = wp.array(bake.dpds, dtype=wp.vec3, device=dev)
    dpdt = wp.array(bake.dpdt, dtype=wp.vec3, device=dev)
    geometric = [displace and getattr(DEFECTS[spec.type], "GEOMETRY", False) for spec in layers]
    disp = wp.zeros((res, res) if any(geometric) else (1, 1), dtype=float, device=dev)
    ctx = Context(surface, mat, out, res, dev, bake.cover, bake.position, bake.normal, bake, float(meters_per_unit),
                  dpds, dpdt, focus)
    clean_maps = None
    if clean.finish:
        apply_finish(clean.finish, clean.finish_params or {}, finish_seed, ctx)
        clean_maps = _host_maps(surface, mat, dpds, dpdt, res, dev)
    for index, spec in enumerate(layers):
        for arr in (out.mask, out.height, out.occ, out.aniso):
            arr.zero_()
        out.hide.fill_(-1.0)
        run_defect(spec.type, spec.params, spec.seed, ctx)
        wp.launch(_compose, dim=(res, res), inputs=[out, DEFECT_CLASSES.index(spec.type) + 1, index, mat, cls, inst,
                                                    int(geometric[index]), disp], device=dev)
        if DEFECTS[spec.type].REGIONS:
            region_layers.append(index)
    normal = wp.zeros((res, res), dtype=wp.vec3, device=dev)
    tangent = wp.zeros((res, res), dtype=wp.vec3, device=dev)
    wp.launch(_normals, dim=(res, res), inputs=[surface, mat.height, dpds, dpdt, res, mat.tdir, normal, tangent],
              device=dev)
    instance = inst.numpy()
    if region_layers:
        instance = _split_regions(instance, bake.cover, region_layers)
    device_rgba = None
    if keep_device:
        device_rgba = {k: wp.zeros((res, res, 4), dtype=wp.uint8, device=dev) for k in ("base_color", "roughness",
                                                                                    "metallic", "normal")}
        wp.launch(_pack_rgba8, dim=(res, res), inputs=[mat, normal, device_rgba["base_color"], device_rgba["roughness"],
                                                       device_rgba["metallic"], device_rgba["normal"]], device=dev)
    return WearStack(base_color=mat.color.numpy(), roughness=mat.rough.numpy(), metallic=mat.metal.numpy(),
                     normal=normal.numpy(), height=mat.height.numpy(), defect_class=cls.numpy(),
                     defect_instance=instance, cover=bake.cover, anisotropy=mat.aniso.numpy(),
                     tangent=tangent.numpy(), device_rgba=device_rgba,
                     device_maps={"base_color": mat.color, "roughness": mat.rough, "metallic": mat.metal,
                                  "normal": normal, "anisotropy": mat.aniso, "tangent": tangent}
                     if device_maps else None,
                     displacement=disp.numpy() if any(geometric) else None, clean_maps=clean_maps)


def _host_maps(surface: Surface, mat: Material, dpds, dpdt, res: int, dev: str) -> dict[str, np.ndarray]:
    """Host copies of the material as it is now (the clean material with its finish, before any defect),
    with its normal and groove maps: what a renderer shows for "the part without wear"."""
    normal = wp.zeros((res, res), dtype=wp.vec3, device=dev)
    tangent = wp.zeros((res, res), dtype=wp.vec3, device=dev)
    wp.launch(_normals, dim=(res, res), inputs=[surface, mat.height, dpds, dpdt, res, mat.tdir, normal, tangent],
              device=dev)
    # copies: on the CPU device numpy() shares memory with arrays the layers go on to change
    return {"base_color": np.array(mat.color.numpy()), "roughness": np.array(mat.rough.numpy()),
            "metallic": np.array(mat.metal.numpy()), "normal": normal.numpy(),
            "anisotropy": np.array(mat.aniso.numpy()), "tangent": tangent.numpy()}


def _split_regions(instance: np.ndarray, cover: np.ndarray, layers: list[int]) -> np.ndarray:
    """Noise-grown layers (rust, dirt...) get one occurrence per connected region in texture space."""
    out = instance.copy()
    top = out >> np.uint32(24)
    for index in layers:
        mask = ((top == index + 1) & (cover > 0)).astype(np.uint8)
        if not mask.any():
            continue
        n, labels = cv2.connectedComponents(mask, connectivity=8)
        sel = mask > 0
        out[sel] = (np.uint32(index + 1) << np.uint32(24)) | labels[sel].astype(np.uint32)
    return out
