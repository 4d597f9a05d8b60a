"""Render FrameSpecs of one twin standalone: apply -> read -> Mitsuba -> sensor -> annotations."""

from __future__ import annotations

import time

from pxr import Usd

from wearforge.framespec import FrameSpec
from wearforge.render.annotations import LabelSpace, annotate, annotate_defects
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
                 denoise: bool = False):
        self.stage = stage
        self.exposure = exposure
        self.meshes = read_geometry(stage)
        self.labels = LabelSpace(self.meshes)
        self._parts: dict[str, str] | None = None
        self.backend = MitsubaBackend(self.meshes, variant=variant, max_depth=max_depth, denoise=denoise)
        # shares the mesh list with the backend: a UV fallback replaces entries for both
        self.wear = WearTextures(self.meshes, up_vector(stage),
                                 device_maps=zero_copy_usable(self.backend.variant, wear_device()))

    @property
    def variant(self) -> str:
        return self.backend.variant

    def _adopt_parts(self, spec: FrameSpec) -> None:
        """Parts and classes come from the FrameSpec (the recipe's classes win over USD labels)."""
        parts = {p.path: p.semantic_class for p in spec.parts}
        if parts != self._parts:
            self._parts = parts
            assign_parts(self.meshes, parts)
            self.labels = LabelSpace(self.meshes)

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
        cam = state.camera
        maps = distortion_maps(spec.sensor, res[0], res[1], cam.focal_length, cam.horizontal_aperture)
        if maps is not None:  # lens distortion moves pixels: the image and every label buffer alike
            linear = remap(linear, maps, labels=False)
            buffers = LabelBuffers(mesh=remap(buffers.mesh, maps, True, -1), uv=remap(buffers.uv, maps, True),
                                   position=remap(buffers.position, maps, True),
                                   normal=remap(buffers.normal, maps, True),
                                   unoccluded=[remap(layer.reshape(res[1], res[0]), maps, True, -1).ravel()
                                               for layer in buffers.unoccluded])
        rgb = apply_sensor(linear, spec.sensor, self.exposure, cam.focal_length, cam.horizontal_aperture)
        data = annotate(self.labels, buffers.mesh, buffers.unoccluded, buffers.position, buffers.normal, cam,
                        self.stage, res)
        data.update(annotate_defects(self.labels, buffers.mesh, buffers.uv, stacks))
        data["rgb"] = {"data": rgb}
        data["frame_spec"] = {"data": spec.model_dump(mode="json")}
        t3 = time.perf_counter()
        data["timing"] = {"prepare": t1 - t0 - tw, "wear": tw, "render": t2 - t1, "annotate": t3 - t2}
        return data
