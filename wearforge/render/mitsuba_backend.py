"""USD -> Mitsuba 3: build once, update per frame through ``mi.traverse``, render beauty + label pass.

The beauty pass is a path tracer seeded from the FrameSpec. The label pass casts one ray through
every pixel centre (lens centre for thin-lens cameras) with ``scene.ray_intersect`` and peels
through all surfaces along it, so visible and unoccluded instance masks come from Mitsuba's own
geometry, exactly, with no random numbers. For defect labels, ``surface_samples`` casts k x k rays per
pixel (coverage) and ``render_without_wear`` renders the frame with the wear stacks swapped for their
clean material (visibility). Meshes whose stack has a displacement map (dents) are refined and displaced
by it (``wearforge.render.displace``); Mitsuba takes the new vertex and face counts through ``mi.traverse``,
so this needs no rebuild (except in the scalar variant).
"""

from __future__ import annotations

import hashlib
import logging
import time
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from wearforge.color import srgb_to_linear
from wearforge.twin_reader import CameraState, FrameState, LightState, MaterialState, MeshGeometry, Texture
from wearforge.render import tangent_frame
from wearforge.render.device_textures import groove_maps, stack_tensors
from wearforge.render.displace import Displaced, displace
from wearforge.render.variant import choose_variant

log = logging.getLogger("wearforge.render")

# Mitsuba cameras look down +Z with +X to the left; USD cameras look down -Z with +X to the right.
_USD_TO_MITSUBA_CAMERA = np.diag([-1.0, 1.0, -1.0, 1.0])
# Mitsuba's rectangle/disk/directional emit along local +Z; UsdLux lights emit along -Z.
_FLIP_Z = np.diag([1.0, -1.0, -1.0, 1.0])
MAX_PEEL_LAYERS = 32

_mi = None


def mitsuba(preference: str = "auto"):
    """Import Mitsuba once, with the variant chosen for this machine."""
    global _mi
    if _mi is None:
        variant, why = choose_variant(preference)
        import mitsuba as mi

        mi.set_variant(variant)
        log.info("Mitsuba %s, variant %s: %s", mi.__version__, variant, why)
        _mi = mi
    return _mi


@dataclass
class LabelBuffers:
    """Per-pixel results of the label pass (row-major, H x W)."""

    mesh: np.ndarray  # int32 mesh index, -1 = no hit, -2 = light shape
    uv: np.ndarray  # float32 (H, W, 2), USD st
    position: np.ndarray  # float32 (H, W, 3) world
    normal: np.ndarray  # float32 (H, W, 3) world shading normal
    unoccluded: list[np.ndarray]  # per peel layer: mesh index per pixel (-1 where the ray left the scene)


class MitsubaBackend:
    """Standalone renderer for one twin (geometry read once)."""

    def __init__(self, meshes: list[MeshGeometry], variant: str = "auto", max_depth: int = 6, denoise: bool = False):
        if denoise:
            from wearforge.render.denoise import require_oidn

            require_oidn()
        self.denoise = denoise
        self.mi = mitsuba(variant)
        import drjit  # after mitsuba(): Dr.Jit must see the chosen libLLVM first

        self.dr = drjit
        self.variant = self.mi.variant()
        # scratches and machined finishes glint with their groove direction through the groove_frame BSDF;
        # in the scalar variant that Python BSDF would run once per ray, so stacks render isotropically there
        self.grooves = tangent_frame.jit_variant(self.variant)
        if self.grooves:
            tangent_frame.register(self.mi)
        self.meshes = meshes
        self.max_depth = max_depth
        self._scene = None
        self._params = None
        self._signature = None
        self._last: dict[str, object] = {}
        self._shape_lut: np.ndarray | None = None
        self._world_points: list[np.ndarray | None] = [None] * len(meshes)
        # per mesh: the displaced geometry in the scene (None: the mesh as read) and its map's digest
        self._displaced: list[Displaced | None] = [None] * len(meshes)
        self._displacement_key: list[bytes | None] = [None] * len(meshes)
        self._poses: list[tuple | None] = [None] * len(meshes)  # (matrix, visible) in the scene

    # -------------------------------------------------------------------------------- building
    def _signature_of(self, state: FrameState, resolution: tuple[int, int], stacks: dict) -> tuple:
        mats = tuple((tuple(sorted((k, v) for k, v in m.textures.items())), m.opacity < 1.0, m.vertex_color,
                      any(c > 0 for c in m.emissive), stacks[i].resolution if i in stacks else 0)
                     for i, m in enumerate(state.materials))
        lights = tuple((l.path, l.type, l.texture) for l in _one_dome(state.lights))  # noqa: E741
        lens = state.camera.aperture_radius > 0
        return mats, lights, lens, tuple(resolution), self.max_depth

    def _build(self, state: FrameState, resolution: tuple[int, int], stacks: dict) -> None:
        mi = self.mi
        t0 = time.perf_counter()
        # the denoiser's guides come from a pass of their own (render.denoise.guides)
        integrator = {"type": "path", "max_depth": self.max_depth, "hide_emitters": False}
        scene: dict = {"type": "scene", "integrator": integrator}
        for i, (geo, mat) in enumerate(zip(self.meshes, state.materials)):
            self._displace(i, stacks.get(i))
            self._poses[i] = (state.matrices[i], state.visible[i])
            scene[geo.key] = self._mesh(self._shown(i), mat, state.matrices[i], state.visible[i], stacks.get(i))
        for light in _one_dome(state.lights):
            scene[light.key] = self._light(light)
        scene["sensor"] = self._sensor(state.camera, resolution)
        self._scene = mi.load_dict(scene)
        self._params = mi.traverse(self._scene)
        self._last = {}
        self._lut()
        log.debug("built Mitsuba scene in %.2fs", time.perf_counter() - t0)

    def _lut(self) -> None:
        """Shape registry id -> mesh index (-2 for light shapes); the scalar label pass uses shape ids."""
        if self.variant.startswith("scalar"):
            return
        mi, dr = self.mi, self.dr
        index = {g.key: i for i, g in enumerate(self.meshes)}
        ids = {}
        for shape in self._scene.shapes():
            rid = int(dr.reinterpret_array(mi.UInt32, mi.ShapePtr(shape)).numpy()[0])
            ids[rid] = index.get(shape.id(), -2)
        lut = np.full(max(ids, default=0) + 1, -1, np.int32)
        for rid, value in ids.items():
            lut[rid] = value
        self._shape_lut = lut

    def _mesh(self, geo: MeshGeometry, mat: MaterialState, matrix: np.ndarray, visible: bool, stack=None):
        mi = self.mi
        props = mi.Properties()
        props["bsdf"] = mi.load_dict(self._bsdf(mat, stack))
        if any(c > 0 for c in mat.emissive):
            props["emitter"] = mi.load_dict({"type": "area", "radiance": {"type": "rgb", "value": list(mat.emissive)}})
        has_n, has_uv = geo.normals is not None, geo.uvs is not None
        mesh = mi.Mesh(geo.key, len(geo.points), len(geo.faces), props, has_n, has_uv)
        p = mi.traverse(mesh)
        pts, nrm = self._world(geo, matrix, visible)
        _set_buffer(p, "vertex_positions", pts)
        _set_buffer(p, "faces", geo.faces)
        if has_n:
            _set_buffer(p, "vertex_normals", nrm)
        if has_uv:
            # Mitsuba's v runs down the image, USD's t up it.
            _set_buffer(p, "vertex_texcoords", np.stack([geo.uvs[:, 0], 1.0 - geo.uvs[:, 1]], -1))
        if geo.colors is not None:
            mesh.add_attribute("vertex_color", 3, np.ascontiguousarray(geo.colors, np.float32).ravel().tolist())
        p.update()
        return mesh

    def _displace(self, index: int, stack) -> bool:
        """Refine and displace mesh ``index`` by its stack's displacement map; True if its geometry changed."""
        disp = getattr(stack, "displacement", None)
        key = None if disp is None else _digest(disp)
        if key == self._displacement_key[index]:
            return False
        before = self._displaced[index]
        self._displaced[index] = displace(self.meshes[index], disp) if disp is not None else None
        self._displacement_key[index] = key
        return before is not None or self._displaced[index] is not None

    def _shown(self, index: int) -> MeshGeometry:
        """Mesh ``index`` as it is in the scene: displaced when its stack has a displacement map."""
        shown = self._displaced[index]
        return self.meshes[index] if shown is None else shown.mesh

    def _world(self, geo: MeshGeometry, matrix: np.ndarray, visible: bool) -> tuple[np.ndarray, np.ndarray | None]:
        if not visible:
            # Mitsuba shapes cannot be hidden through parameters; collapsing them makes them unhittable.
            return np.zeros_like(geo.points), geo.normals
        m = matrix.astype(np.float64)
        pts = (geo.points @ m[:3, :3].T + m[:3, 3]).astype(np.float32)
        nrm = None
        if geo.normals is not None:
            nm = np.linalg.inv(m[:3, :3]).T
            n = geo.normals @ nm.T
            nrm = (n / np.maximum(np.linalg.norm(n, axis=1, keepdims=True), 1e-20)).astype(np.float32)
            if np.linalg.det(m[:3, :3]) < 0:
                nrm = -nrm
        return pts, nrm

    def _bsdf(self, mat: MaterialState, stack=None) -> dict:
        if stack is not None:
            # a wear stack replaces the clean values with textures; the normal map carries its relief
            principled = {
                "type": "principled", "base_color": self._bitmap(stack.base_color),
                "roughness": self._bitmap(np.maximum(stack.roughness, 0.02)[..., None]),
                "metallic": self._bitmap(stack.metallic[..., None]), "eta": max(float(mat.ior), 1.0001),
                "clearcoat": float(mat.clearcoat), "clearcoat_gloss": float(1.0 - mat.clearcoat_roughness)}
            anisotropic, tangent = groove_maps(stack)
            if self.grooves:
                # anisotropy along the stack's groove directions (tangent_frame), under the normal map's relief
                principled["anisotropic"] = self._bitmap(anisotropic)
                principled = tangent_frame.grooved_bsdf(principled, self._bitmap(tangent))
            elif anisotropic.any():
                _warn_isotropic(self.variant)
            bsdf = {"type": "normalmap", "normalmap": self._bitmap(stack.normal), "bsdf": principled}
            return {"type": "mask", "opacity": float(mat.opacity), "bsdf": bsdf} if mat.opacity < 1.0 else bsdf
        bsdf = {"type": "principled",
                "base_color": ({"type": "mesh_attribute", "name": "vertex_color"} if mat.vertex_color else
                               self._texture_or(mat, "base_color", {"type": "rgb", "value": list(mat.base_color)})),
                "metallic": self._texture_or(mat, "metallic", mat.metallic),
                "roughness": self._texture_or(mat, "roughness", max(mat.roughness, 0.02)),
                "eta": max(float(mat.ior), 1.0001),
                "clearcoat": float(mat.clearcoat),
                "clearcoat_gloss": float(1.0 - mat.clearcoat_roughness)}
        normal = _normal_map(mat)
        if normal is not None:  # tangent space, OpenGL convention (+y along +t), as UsdPreviewSurface wants
            bsdf = {"type": "normalmap", "normalmap": {**self._bitmap(normal), "wrap_mode": "repeat"}, "bsdf": bsdf}
        if mat.opacity < 1.0:
            return {"type": "mask", "opacity": float(mat.opacity), "bsdf": bsdf}
        return bsdf

    def _bitmap(self, data: np.ndarray) -> dict:
        return {"type": "bitmap", "bitmap": self.mi.Bitmap(np.ascontiguousarray(data, np.float32)), "raw": True,
                "filter_type": "bilinear", "wrap_mode": "clamp"}

    def _texture_or(self, mat: MaterialState, name: str, fallback):
        tex = mat.textures.get(name)
        data = _load_texture(tex) if tex is not None else None
        if data is None:
            return fallback
        return {"type": "bitmap", "bitmap": self.mi.Bitmap(data), "raw": True,
                "filter_type": "bilinear", "wrap_mode": "repeat"}

    def _light(self, light: LightState) -> dict:
        mi = self.mi
        rgb = {"type": "rgb", "value": [float(c) for c in light.radiance]}
        m = light.matrix
        if light.type == "sphere":
            return {"type": "sphere", "to_world": _t(mi, m @ np.diag([light.radius] * 3 + [1.0])),
                    "emitter": {"type": "area", "radiance": rgb}}
        if light.type == "rect":
            return {"type": "rectangle", "to_world": _t(mi, m @ _FLIP_Z @ np.diag([light.width / 2, light.height / 2, 1, 1])),
                    "emitter": {"type": "area", "radiance": rgb}}
        if light.type == "disk":
            return {"type": "disk", "to_world": _t(mi, m @ _FLIP_Z @ np.diag([light.radius, light.radius, 1, 1])),
                    "emitter": {"type": "area", "radiance": rgb}}
        if light.type == "distant":
            rot = np.eye(4)
            rot[:3, :3] = m[:3, :3] / np.linalg.norm(m[:3, :3], axis=0)
            return {"type": "directional", "to_world": _t(mi, rot @ _FLIP_Z), "irradiance": rgb}
        data = _load_texture(Texture(light.texture, "rgb", False, light.path)) if light.texture else None
        if data is not None:
            rot = np.eye(4)
            rot[:3, :3] = m[:3, :3] / np.linalg.norm(m[:3, :3], axis=0)
            if light.z_up:  # Mitsuba's lat-long pole is +Y; a Z-up stage wants it along +Z
                rot = rot @ np.array([[1.0, 0, 0, 0], [0, 0, -1, 0], [0, 1, 0, 0], [0, 0, 0, 1]])
            return {"type": "envmap", "bitmap": mi.Bitmap(data), "to_world": _t(mi, rot),
                    "scale": float(np.mean(light.radiance))}
        return {"type": "constant", "radiance": rgb}

    def _sensor(self, cam: CameraState, resolution: tuple[int, int]) -> dict:
        sensor = {"type": "perspective", "fov": cam.fov_x_degrees, "fov_axis": "x",
                  "near_clip": cam.near, "far_clip": cam.far,
                  "to_world": _t(self.mi, cam.matrix @ _USD_TO_MITSUBA_CAMERA),
                  "film": {"type": "hdrfilm", "width": int(resolution[0]), "height": int(resolution[1]),
                           # OIDN needs each pixel's noise independent of its neighbours': a box filter
                           "pixel_format": "rgb", "rfilter": {"type": "box" if self.denoise else "gaussian"}},
                  "sampler": {"type": "independent", "sample_count": 1}}
        if cam.aperture_radius > 0:
            sensor.update(type="thinlens", aperture_radius=cam.aperture_radius, focus_distance=cam.focus_distance)
        return sensor

    # --------------------------------------------------------------------------------- updating
    def _update(self, state: FrameState, stacks: dict) -> None:
        mi, p = self.mi, self._params
        changed = False

        def put(key: str, value, convert):
            nonlocal changed
            token = _token(value)
            if self._last.get(key) != token:
                p[key] = convert(value)
                self._last[key] = token
                changed = True

        for i, geo in enumerate(self.meshes):
            pose = (state.matrices[i], state.visible[i])
            token = _token(pose)
            if self._displace(i, stacks.get(i)):
                self._set_topology(i)
                self._last.pop(geo.key, None)
            if self._last.get(geo.key) != token:
                self._poses[i] = pose
                self._set_positions(i, self._shown(i))
                self._last[geo.key] = token
                changed = True
            mat = state.materials[i]
            prefix = f"{geo.key}.bsdf." + ("nested_bsdf." if mat.opacity < 1.0 else "")
            stack = stacks.get(i)
            if stack is not None:
                data = stack_tensors(mi, stack)  # from the device where the stack has Warp maps (DLPack)
                if not self.grooves:
                    del data["anisotropic"], data["tangent"]
                    if stack.anisotropy is not None and stack.anisotropy.any():
                        _warn_isotropic(self.variant)
                for name, tensor in data.items():
                    p[prefix + tangent_frame.stack_parameter(name, self.grooves)] = tensor
                prefix += tangent_frame.principled_prefix(self.grooves)
                changed = True
                put(prefix + "eta", max(float(mat.ior), 1.0001), float)
                put(prefix + "clearcoat.value", mat.clearcoat, float)
                put(prefix + "clearcoat_gloss.value", 1.0 - mat.clearcoat_roughness, float)
                continue
            if _normal_map(mat) is not None:
                prefix += "nested_bsdf."
            if "base_color" not in mat.textures and not mat.vertex_color:
                put(prefix + "base_color.value", mat.base_color, lambda v: mi.Color3f(*v))
            for name, value in (("metallic", mat.metallic), ("roughness", max(mat.roughness, 0.02))):
                if name not in mat.textures:
                    put(prefix + f"{name}.value", value, float)
            put(prefix + "eta", max(float(mat.ior), 1.0001), float)
            put(prefix + "clearcoat.value", mat.clearcoat, float)
            put(prefix + "clearcoat_gloss.value", 1.0 - mat.clearcoat_roughness, float)
            if mat.opacity < 1.0:
                put(f"{geo.key}.bsdf.opacity.value", mat.opacity, float)
        for light in _one_dome(state.lights):
            self._update_light(light, put)
        cam = state.camera
        put("sensor.to_world", cam.matrix @ _USD_TO_MITSUBA_CAMERA, lambda m: _t(mi, m))
        put("sensor.x_fov", cam.fov_x_degrees, float)
        put("sensor.near_clip", cam.near, float)
        put("sensor.far_clip", cam.far, float)
        if cam.aperture_radius > 0:
            put("sensor.aperture_radius", cam.aperture_radius, float)
            put("sensor.focus_distance", cam.focus_distance, float)
        if changed:
            p.update()

    def _set_positions(self, index: int, geo: MeshGeometry) -> None:
        pts, nrm = self._world(geo, *self._poses[index])
        key = self.meshes[index].key
        _set_buffer(self._params, f"{key}.vertex_positions", pts)
        if nrm is not None:
            _set_buffer(self._params, f"{key}.vertex_normals", nrm)

    def _set_topology(self, index: int) -> None:
        """Faces, UVs and colours of mesh ``index`` after its displacement changed (positions follow)."""
        geo, p = self._shown(index), self._params
        key = self.meshes[index].key
        _set_buffer(p, f"{key}.faces", geo.faces)
        if geo.uvs is not None:
            _set_buffer(p, f"{key}.vertex_texcoords", np.stack([geo.uvs[:, 0], 1.0 - geo.uvs[:, 1]], -1))
        if geo.colors is not None:
            _set_buffer(p, f"{key}.vertex_color", geo.colors)

    def _update_light(self, light: LightState, put) -> None:
        mi, k, m = self.mi, light.key, light.matrix
        rgb = lambda v: mi.Color3f(*[float(c) for c in v])  # noqa: E731
        if light.type in ("sphere", "rect", "disk"):
            put(f"{k}.emitter.radiance.value", light.radiance, rgb)
            scale = {"sphere": [light.radius] * 3 + [1.0], "rect": [light.width / 2, light.height / 2, 1, 1],
                     "disk": [light.radius, light.radius, 1, 1]}[light.type]
            flip = np.eye(4) if light.type == "sphere" else _FLIP_Z
            put(f"{k}.to_world", m @ flip @ np.diag(scale), lambda v: _t(mi, v))
        elif light.type == "distant":
            put(f"{k}.irradiance.value", light.radiance, rgb)
            rot = np.eye(4)
            rot[:3, :3] = m[:3, :3] / np.linalg.norm(m[:3, :3], axis=0)
            put(f"{k}.to_world", rot @ _FLIP_Z, lambda v: _t(mi, v))
        elif light.texture and _load_texture(Texture(light.texture, "rgb", False, light.path)) is not None:
            put(f"{k}.scale", float(np.mean(light.radiance)), float)
        else:
            put(f"{k}.radiance.value", light.radiance, rgb)

    # -------------------------------------------------------------------------------- rendering
    def prepare(self, state: FrameState, resolution: tuple[int, int], stacks: dict | None = None,
                rebuild: bool = False) -> None:
        """Build on first use or when the scene's structure changed, else update parameters."""
        stacks = stacks or {}
        sig = self._signature_of(state, resolution, stacks)
        if self.variant.startswith("scalar"):
            # the scalar variant cannot resize a mesh's buffers through parameters: new dents rebuild the scene
            rebuild |= any([self._displace(i, stacks.get(i)) for i in range(len(self.meshes))])
        if rebuild or sig != self._signature:
            # Drop the old scene first, then hand its memory back: Dr.Jit keeps freed blocks in its
            # allocation cache and, across rebuilds with wear textures, that cache grew ~50 MiB per
            # rebuild without bound (docs/benchmarks.md, memory).
            self._scene = self._params = None
            self._build(state, resolution, stacks)
            self._signature = sig
            self._release_memory()
        else:
            self._update(state, stacks)

    def _release_memory(self) -> None:
        """Return what an old scene held to the system: Dr.Jit's allocation cache, then the C heap."""
        self.dr.flush_malloc_cache()
        _trim_heap()

    def render_beauty(self, spp: int, seed: int) -> np.ndarray:
        """Linear RGB radiance (H, W, 3) float32 (denoised when the backend was built with ``denoise``)."""
        img = np.asarray(self.mi.render(self._scene, spp=int(spp), seed=int(seed)), dtype=np.float32)
        if self.denoise:
            from wearforge.render.denoise import denoise, guides

            return denoise(img[..., :3], *guides(self.mi, self._scene, spp, seed))
        return img[..., :3]

    def label_pass(self, resolution: tuple[int, int]) -> LabelBuffers:
        """One deterministic ray per pixel centre, then peeling for the unoccluded masks."""
        if self.variant.startswith("scalar"):
            return self._label_pass_scalar(resolution)
        mi, dr = self.mi, self.dr
        w, h = int(resolution[0]), int(resolution[1])
        sensor = self._scene.sensors()[0]
        idx = dr.arange(mi.UInt32, w * h)
        x = (mi.Float(idx % w) + 0.5) / w
        y = (mi.Float(idx // w) + 0.5) / h
        ray, _ = sensor.sample_ray(0.0, 0.5, mi.Point2f(x, y), mi.Point2f(0.5, 0.5))
        si = self._scene.ray_intersect(ray)
        valid = si.is_valid()
        dr.eval(si, valid)
        mesh = self._mesh_index(si, valid)
        uv = _vec(si.uv, 2, h, w)
        uv[..., 1] = 1.0 - uv[..., 1]
        position = _vec(si.p, 3, h, w)
        normal = _vec(si.sh_frame.n, 3, h, w)
        miss = mesh.reshape(h, w) == -1
        uv[miss], position[miss], normal[miss] = 0.0, 0.0, 0.0
        layers = [mesh]
        active = valid
        for _ in range(MAX_PEEL_LAYERS):
            if not dr.any(active):
                break
            ray = si.spawn_ray(ray.d)
            si = self._scene.ray_intersect(ray, active)
            active = active & si.is_valid()
            # Evaluate each layer: chaining unevaluated intersections into one kernel crashes Dr.Jit 1.3.
            dr.eval(si, active)
            layer = self._mesh_index(si, active)
            if np.all(layer == -1):
                break
            layers.append(layer)
        return LabelBuffers(mesh.reshape(h, w), uv, position, normal, layers)

    def surface_samples(self, resolution: tuple[int, int], k: int) -> tuple[np.ndarray, np.ndarray]:
        """Mesh index (H, W, k*k) and USD st (H, W, k*k, 2) at k x k stratum centres inside every pixel.

        The coverage pass behind defect labels: one deterministic primary ray per sub-pixel position
        (lens centre), no peeling. Sample j of a pixel sits at ((j % k + 0.5) / k, (j // k + 0.5) / k).
        """
        mi, dr = self.mi, self.dr
        w, h, k = int(resolution[0]), int(resolution[1]), int(k)
        offsets = (np.arange(k, dtype=np.float64) + 0.5) / k
        sub_x, sub_y = np.tile(offsets, k), np.repeat(offsets, k)
        if self.variant.startswith("scalar"):
            return self._surface_samples_scalar(w, h, sub_x, sub_y)
        sensor = self._scene.sensors()[0]
        n = w * h * k * k
        idx = dr.arange(mi.UInt32, n)
        pixel, sub = idx // (k * k), idx % (k * k)
        x = (mi.Float(pixel % w) + dr.gather(mi.Float, mi.Float(sub_x.astype(np.float32)), sub)) / w
        y = (mi.Float(pixel // w) + dr.gather(mi.Float, mi.Float(sub_y.astype(np.float32)), sub)) / h
        ray, _ = sensor.sample_ray(0.0, 0.5, mi.Point2f(x, y), mi.Point2f(0.5, 0.5))
        si = self._scene.ray_intersect(ray)
        valid = si.is_valid()
        dr.eval(si, valid)
        mesh = self._mesh_index(si, valid).reshape(h, w, k * k)
        uv = np.stack([np.asarray(si.uv[0], np.float32), 1.0 - np.asarray(si.uv[1], np.float32)], -1)
        uv = uv.reshape(h, w, k * k, 2)
        uv[mesh < 0] = 0.0
        return mesh, uv

    def _surface_samples_scalar(self, w: int, h: int, sub_x: np.ndarray, sub_y: np.ndarray):
        mi = self.mi
        sensor = self._scene.sensors()[0]
        by_id = {g.key: i for i, g in enumerate(self.meshes)}
        kk = len(sub_x)
        mesh = np.full((h, w, kk), -1, np.int32)
        uv = np.zeros((h, w, kk, 2), np.float32)
        for y in range(h):
            for x in range(w):
                for j in range(kk):
                    ray, _ = sensor.sample_ray(0.0, 0.5, mi.Point2f((x + sub_x[j]) / w, (y + sub_y[j]) / h),
                                               mi.Point2f(0.5, 0.5))
                    si = self._scene.ray_intersect(ray)
                    if si.is_valid():
                        mesh[y, x, j] = by_id.get(si.shape.id(), -2)
                        uv[y, x, j] = (si.uv[0], 1.0 - si.uv[1])
        return mesh, uv

    def render_without_wear(self, stacks: dict, clean: dict[int, tuple], spp: int,
                            seeds: list[int]) -> list[np.ndarray]:
        """Linear RGB of the prepared scene, one per seed, with every wear stack replaced by its clean material.

        ``clean``: mesh index -> (linear base colour, roughness, metallic) the stack was grown on, for stacks
        without a finish; a finished stack brings its own clean maps (``WearStack.clean_maps``). The
        stacks' textures are restored afterwards, so the scene stays as ``prepare`` left it.
        """
        mi, p = self.mi, self._params
        tensor = mi.TensorXf
        saved = {}
        for i, stack in stacks.items():
            prefix = self._stack_prefix(i)
            res = stack.resolution
            if stack.clean_maps is not None:
                # a finished surface (brushed, turned, cast...) stays finished without wear: the finish is
                # not a defect, and a frame without it would show every finished pixel as changed
                c = stack.clean_maps
                flat = {"normal": c["normal"], "base_color": c["base_color"],
                        "roughness": np.maximum(c["roughness"], 0.02)[..., None], "metallic": c["metallic"][..., None]}
                if self.grooves:
                    flat.update(anisotropic=c["anisotropy"][..., None], tangent=c["tangent"])
            else:
                color, rough, metal = clean[i]
                flat = {"normal": np.broadcast_to(np.float32([0.5, 0.5, 1.0]), (res, res, 3)),
                        "base_color": np.broadcast_to(np.float32(color), (res, res, 3)),
                        "roughness": np.full((res, res, 1), max(float(rough), 0.02), np.float32),
                        "metallic": np.full((res, res, 1), float(metal), np.float32)}
                if self.grooves:  # the uniform clean material has no grooves: isotropic, no direction
                    flat.update(anisotropic=np.zeros((res, res, 1), np.float32),
                                tangent=tangent_frame.neutral_tangent(res))
            for name, value in flat.items():
                key = tangent_frame.stack_parameter(name, self.grooves)
                # a host copy: the parameter's own tensor is updated in place by the assignment below
                saved[prefix + key] = np.array(p[prefix + key], np.float32)
                p[prefix + key] = tensor(np.ascontiguousarray(value, np.float32))
        # dents are geometry: the frame without wear has the mesh as it was (same refinement, not displaced)
        displaced = [i for i in stacks if self._displaced[i] is not None]
        for i in displaced:
            self._set_positions(i, self._displaced[i].flat)
        p.update()
        try:
            return [self.render_beauty(spp, seed) for seed in seeds]
        finally:
            for key, value in saved.items():
                p[key] = tensor(value)
            for i in displaced:
                self._set_positions(i, self._displaced[i].mesh)
            p.update()

    def _stack_prefix(self, index: int) -> str:
        """Parameter prefix of a wear stack's normalmap BSDF (inside the opacity mask when there is one)."""
        key = self.meshes[index].key
        masked = f"{key}.bsdf.nested_bsdf.normalmap.data" in self._params
        return f"{key}.bsdf." + ("nested_bsdf." if masked else "")

    def _label_pass_scalar(self, resolution: tuple[int, int]) -> LabelBuffers:
        """The same rays one at a time (the scalar variant has no wide arrays): ~2.5 us per ray."""
        mi = self.mi
        w, h = int(resolution[0]), int(resolution[1])
        sensor = self._scene.sensors()[0]
        by_id = {g.key: i for i, g in enumerate(self.meshes)}
        mesh = np.full(h * w, -1, np.int32)
        uv = np.zeros((h * w, 2), np.float32)
        position = np.zeros((h * w, 3), np.float32)
        normal = np.zeros((h * w, 3), np.float32)
        layers = [mesh]
        aperture = mi.Point2f(0.5, 0.5)
        for k in range(h * w):
            y, x = divmod(k, w)
            ray, _ = sensor.sample_ray(0.0, 0.5, mi.Point2f((x + 0.5) / w, (y + 0.5) / h), aperture)
            si = self._scene.ray_intersect(ray)
            depth = 0
            while si.is_valid() and depth <= MAX_PEEL_LAYERS:
                index = by_id.get(si.shape.id(), -2)
                if depth == 0:
                    mesh[k] = index
                    uv[k] = (si.uv[0], 1.0 - si.uv[1])
                    position[k] = tuple(si.p)
                    normal[k] = tuple(si.sh_frame.n)
                else:
                    while len(layers) <= depth:
                        layers.append(np.full(h * w, -1, np.int32))
                    layers[depth][k] = index
                ray = si.spawn_ray(ray.d)
                si = self._scene.ray_intersect(ray)
                depth += 1
        return LabelBuffers(mesh.reshape(h, w), uv.reshape(h, w, 2), position.reshape(h, w, 3),
                            normal.reshape(h, w, 3), layers)

    def _mesh_index(self, si, active) -> np.ndarray:
        mi, dr = self.mi, self.dr
        # Lanes masked out of ray_intersect hold dangling shape pointers: zero them before reading.
        shape = dr.select(active, si.shape, dr.zeros(mi.ShapePtr, dr.width(active)))
        rid = np.asarray(dr.reinterpret_array(mi.UInt32, shape)).astype(np.int64)
        ok = (rid > 0) & (rid < len(self._shape_lut))
        out = np.full(rid.shape, -1, np.int32)
        out[ok] = self._shape_lut[rid[ok]]
        return out


_warned_domes = False
_warned_isotropic = False
_libc = None


def _warn_isotropic(variant: str) -> None:
    global _warned_isotropic
    if not _warned_isotropic:
        log.warning("the %s variant renders scratches and machined finishes without their directional glint "
                    "(isotropic); the LLVM or CUDA variant renders it", variant)
        _warned_isotropic = True


def _trim_heap() -> None:
    """glibc keeps freed heap pages of a dropped scene mapped; malloc_trim hands them back (no-op elsewhere)."""
    global _libc
    if _libc is None:
        import ctypes
        import ctypes.util

        try:
            _libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
            _libc.malloc_trim.argtypes = [ctypes.c_size_t]
        except (OSError, AttributeError):
            _libc = False
    if _libc:
        _libc.malloc_trim(0)


def _one_dome(lights: list[LightState]) -> list[LightState]:
    """Lights that emit; of several domes the strongest (Mitsuba takes one environment emitter).

    A light switched off (zero radiance) leaves the scene, so its shape does not show as a black object.
    """
    global _warned_domes
    lights = [light for light in lights if max(light.radiance) > 0]
    domes = [light for light in lights if light.type == "dome"]
    keep = max(domes, key=lambda d: float(np.mean(d.radiance)), default=None)
    if len(domes) > 1 and not _warned_domes:
        log.warning("%d dome lights; the standalone renderer uses the strongest, %s", len(domes), keep.path)
        _warned_domes = True
    return [light for light in lights if light.type != "dome" or light is keep]


def _set_buffer(params, key: str, array: np.ndarray) -> None:
    """Assign a flat mesh buffer in the array type of the current variant (JIT or scalar)."""
    current = params[key]
    params[key] = type(current)(np.ascontiguousarray(array, dtype=np.asarray(current).dtype).ravel())


def _digest(array: np.ndarray) -> bytes:
    """Identity of a displacement map (a frame's dents), cheaper to keep than the map."""
    data = np.ascontiguousarray(array)
    return hashlib.blake2b(data.tobytes(), digest_size=16).digest() + repr(data.shape).encode()


def _vec(v, n: int, h: int, w: int) -> np.ndarray:
    return np.stack([np.asarray(v[i], dtype=np.float32) for i in range(n)], -1).reshape(h, w, n)


def _t(mi, m: np.ndarray):
    return mi.ScalarTransform4f(np.asarray(m, dtype=np.float64).tolist())


def _token(value) -> bytes:
    """A cheap equality token for values pushed to Mitsuba (arrays, tuples, floats)."""
    if isinstance(value, tuple) and value and isinstance(value[0], np.ndarray):
        return b"".join(_token(v) for v in value)
    if isinstance(value, np.ndarray):
        return value.astype(np.float64).tobytes()
    return repr(value).encode()


@lru_cache(maxsize=64)
def _load_texture(tex: Texture) -> np.ndarray | None:
    """Image file -> float32 (H, W, C) linear values for one texture input; None (with one warning naming
    the file and material) when it cannot be decoded. Mitsuba's own loader reads EXR, HDR, PNG (8/16-bit),
    JPEG, TGA, BMP, PFM and PPM; TIFF goes through tifffile."""
    try:
        data, eight_bit = _read_image(tex.path)
    except Exception as exc:  # any decoder failure: the material renders with its fallback value
        reason = str(exc).strip().splitlines()[-1] if str(exc).strip() else type(exc).__name__
        log.warning("texture %s of %s cannot be read (%s); using the material's fallback value",
                    tex.path, tex.material or "a material", reason)
        return None
    channel = {"r": 0, "g": 1, "b": 2, "a": 3}.get(tex.channel)
    if channel is not None and data.shape[2] > channel:
        data = data[..., channel:channel + 1]
    elif tex.channel == "rgb" and data.shape[2] == 1:
        data = np.repeat(data, 3, axis=2)
    elif data.shape[2] > 3:
        data = data[..., :3]
    # sourceColorSpace 'auto' follows Hydra: 8-bit colour images are sRGB, float and 16-bit ones linear
    srgb = tex.srgb if tex.srgb is not None else (eight_bit and channel is None)
    if srgb and channel is None:
        data = srgb_to_linear(data)
    return np.ascontiguousarray(data, np.float32)


def _normal_map(mat: MaterialState) -> np.ndarray | None:
    """The material's readable normal map (RGB in [0, 1]), or None."""
    tex = mat.textures.get("normal")
    return _load_texture(tex) if tex is not None else None


def _read_image(path: str) -> tuple[np.ndarray, bool]:
    """(H, W, C) float32 values as stored (no colour conversion) and whether the file is 8-bit."""
    if path.lower().endswith((".tif", ".tiff")):
        import tifffile

        img = np.asarray(tifffile.imread(path))
        if img.ndim == 3 and img.shape[0] in (1, 2, 3, 4) and img.shape[-1] > 4:
            img = np.moveaxis(img, 0, -1)  # planar storage
        eight_bit = img.dtype == np.uint8
        if np.issubdtype(img.dtype, np.integer):
            img = img.astype(np.float32) / float(np.iinfo(img.dtype).max)
        img = img.astype(np.float32)
        return (img[..., None] if img.ndim == 2 else img), eight_bit
    mi = mitsuba()
    bitmap = mi.Bitmap(path)
    eight_bit = bitmap.component_format() == mi.Struct.Type.UInt8
    # same encoding out as in: the colour space is decided from the material, not the file's tag
    data = np.array(bitmap.convert(bitmap.pixel_format(), mi.Struct.Type.Float32, bitmap.srgb_gamma()), np.float32)
    return (data[..., None] if data.ndim == 2 else data), eight_bit
