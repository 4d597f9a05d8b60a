"""Render FrameSpecs of one twin standalone: apply -> read -> Mitsuba -> sensor -> annotations."""

from __future__ import annotations

import time

import numpy as np

from pxr import Usd

from wearforge.framespec import FrameSpec
from wearforge.classmap import ClassMap
from wearforge.defect_labels import frame_pixel_area_mm2
from wearforge.render.annotations import DefectLabelOptions, LabelSpace, annotate, annotate_defects
from wearforge.render.visibility import visible_change
from wearforge.render.mitsuba_backend import MitsubaBackend
from wearforge.render.device_textures import zero_copy_usable
from wearforge.render.overlap import WearLookahead, state_ahead
from wearforge.twin_reader import assign_parts, read_frame_state, read_geometry
from wearforge.wear.bake import device as wear_device
from wearforge.wear.twin_stacks import WearTextures
from wearforge.render.mitsuba_backend import LabelBuffers
from wearforge.sensor import apply_sensor, distortion_maps, remap
from wearforge.stage import apply_frame
from wearforge.transforms import up_vector


class StandaloneRenderer:
    """Owns the stage's session layer and a Mitsuba scene for the whole run."""

    # set to a WearLookahead: render(spec, next_spec) grows next_spec's wear while this frame renders
    lookahead: WearLookahead | None = None

    def __init__(self, stage: Usd.Stage, variant: str = "auto", max_depth: int = 6, exposure: float = 0.0,
                 labels=None, classes: list[str] | None = None, defect_types: list[str] | None = None,
                 denoise: bool = False):
        """``labels``: the recipe's LabelConfig (defaults when None); ``classes``: the pinned class list
        (recipe ``output.classes``); ``defect_types``: the defect classes the run can produce (None: all);
        ``denoise``: Open Image Denoise on the beauty pass (labels are unaffected)."""
        from wearforge.recipe import LabelConfig

        self.stage = stage
        self.exposure = exposure
        self.label_config = labels or LabelConfig()
        self.meshes = read_geometry(stage)
        self._class_args = (defect_types, classes)
        self.labels = self._label_space()
        self._parts: dict[str, str] | None = None
        self.backend = MitsubaBackend(self.meshes, variant=variant, max_depth=max_depth, denoise=denoise)
        # shares the mesh list with the backend: a UV fallback replaces entries for both
        self.wear = WearTextures(self.meshes, up_vector(stage), displace=True,
                                 device_maps=zero_copy_usable(self.backend.variant, wear_device()))

    @classmethod
    def for_recipe(cls, recipe, stage: Usd.Stage) -> "StandaloneRenderer":
        """The renderer a recipe asks for: variant, path length, exposure, label options, class list."""
        from wearforge.classmap import recipe_defect_types

        return cls(stage, variant=recipe.render.variant, max_depth=recipe.render.max_depth,
                   exposure=recipe.render.exposure, labels=recipe.labels, classes=recipe.output.classes,
                   defect_types=recipe_defect_types(recipe), denoise=recipe.render.denoise)

    @property
    def variant(self) -> str:
        return self.backend.variant

    def _label_space(self) -> LabelSpace:
        twin_classes = {m.semantic_class for m in self.meshes if m.label_path}
        return LabelSpace(self.meshes, ClassMap.build(twin_classes, *self._class_args))

    def _adopt_parts(self, spec: FrameSpec) -> None:
        """Parts and classes come from the FrameSpec (the recipe's classes win over USD labels)."""
        parts = {p.path: p.semantic_class for p in spec.parts}
        if parts != self._parts:
            self._parts = parts
            assign_parts(self.meshes, parts)
            self.labels = self._label_space()

    def render(self, spec: FrameSpec, next_spec: FrameSpec | None = None) -> dict:
        """Annotator payloads for one frame, plus 'frame_spec' and 'timing'.

        With a ``lookahead`` and a ``next_spec``, that frame's wear grows while this one renders.
        """
        t0 = time.perf_counter()
        self._adopt_parts(spec)
        ahead = state_ahead(self.stage, self.meshes, next_spec) if self.lookahead and next_spec else None
        apply_frame(self.stage, spec)
        res = (int(spec.render.resolution[0]), int(spec.render.resolution[1]))
        state = read_frame_state(self.stage, self.meshes, spec.camera.path)
        tw = time.perf_counter()
        stacks, geometry_changed = (self.lookahead or self.wear).stacks(spec, state)
        tw = time.perf_counter() - tw
        self.backend.prepare(state, res, stacks, rebuild=geometry_changed)
        if ahead is not None:
            self.lookahead.submit(next_spec, ahead)
        t1 = time.perf_counter()
        linear = self.backend.render_beauty(spec.render.spp, spec.render.seed)
        t2 = time.perf_counter()
        buffers = self.backend.label_pass(res)
        cfg = self.label_config
        samples = (self.backend.surface_samples(res, cfg.supersampling) if stacks
                   else (np.full((res[1], res[0], 1), -1, np.int32), np.zeros((res[1], res[0], 1, 2), np.float32)))
        tv = time.perf_counter()
        pairs = self._visibility_pairs(spec, state, stacks) if stacks and cfg.visibility else None
        tv = time.perf_counter() - tv
        cam = state.camera
        maps = distortion_maps(spec.sensor, res[0], res[1], cam.focal_length, cam.horizontal_aperture)
        if maps is not None:  # lens distortion moves pixels: the image and every label buffer alike
            linear = remap(linear, maps, labels=False)
            buffers = LabelBuffers(mesh=remap(buffers.mesh, maps, True, -1), uv=remap(buffers.uv, maps, True),
                                   position=remap(buffers.position, maps, True),
                                   normal=remap(buffers.normal, maps, True),
                                   unoccluded=[remap(layer.reshape(res[1], res[0]), maps, True, -1).ravel()
                                               for layer in buffers.unoccluded])
            samples = (np.stack([remap(np.ascontiguousarray(samples[0][..., j]), maps, True, -1)
                                 for j in range(samples[0].shape[2])], -1),
                       np.stack([remap(np.ascontiguousarray(samples[1][:, :, j]), maps, True)
                                 for j in range(samples[1].shape[2])], 2))
            if pairs is not None:
                pairs = [tuple(remap(img, maps, labels=False) for img in pair) for pair in pairs]
        rgb = apply_sensor(linear, spec.sensor, self.exposure, cam.focal_length, cam.horizontal_aperture)
        data = annotate(self.labels, buffers.mesh, buffers.unoccluded, buffers.position, buffers.normal, cam,
                        self.stage, res)
        change = None
        if pairs is not None:
            change = visible_change(pairs, cfg.visible_delta_e, spec.sensor, self.exposure, cam.focal_length,
                                    cam.horizontal_aperture, cfg.label_margin)
        options = DefectLabelOptions(cfg.min_instance_pixels)
        data.update(annotate_defects(self.labels, buffers.mesh, samples[0], samples[1], stacks, spec, change,
                                     frame_pixel_area_mm2(data), options))
        data["rgb"] = {"data": rgb}
        data["frame_spec"] = {"data": spec.model_dump(mode="json")}
        t3 = time.perf_counter()
        data["timing"] = {"prepare": t1 - t0 - tw, "wear": tw, "render": t2 - t1, "visibility": tv,
                          "annotate": t3 - t2 - tv}
        return data

    def _visibility_pairs(self, spec: FrameSpec, state, stacks: dict) -> list[tuple[np.ndarray, np.ndarray]]:
        """Two independent (with wear, without wear) pairs at half the visibility spp each.

        Each pair shares a sampler seed so its noise is correlated; the two pairs use the FrameSpec's
        render seed and that seed + 1, so the backend still draws nothing of its own.
        """
        spp = max(1, self.label_config.visibility_spp // 2)
        clean = {i: (state.materials[i].base_color, state.materials[i].roughness, state.materials[i].metallic)
                 for i in stacks}
        seeds = [spec.render.seed, (spec.render.seed + 1) & 0xFFFFFFFF]
        worn = [self.backend.render_beauty(spp, seed) for seed in seeds]
        return list(zip(worn, self.backend.render_without_wear(stacks, clean, spp, seeds)))
