"""Label buffers -> annotator payloads in Replicator's data conventions (omni.replicator.core 1.12).

Ids follow Replicator: 0 = BACKGROUND (no hit), 1 = UNLABELLED (hit, no class), then one id per
labelled prim (instances) or per class (semantics), stable for a twin across frames.
Boxes use inclusive pixel indices: x_max is the last covered column.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from pxr import Usd, UsdGeom

from wearforge.defect_labels import defect_annotations
from wearforge.twin_reader import TIME, CameraState, label_bound
from wearforge.labels import BBOX2D_DTYPE, BBOX3D_DTYPE, LabelSpace  # noqa: F401
from wearforge.framespec import FrameSpec
from wearforge.render.visibility import VisibleChange


def _extent(mask: np.ndarray) -> tuple[int, int, int, int]:
    """Inclusive (x0, y0, x1, y1) of a non-empty boolean mask."""
    cols, rows = np.flatnonzero(mask.any(axis=0)), np.flatnonzero(mask.any(axis=1))
    return int(cols[0]), int(rows[0]), int(cols[-1]), int(rows[-1])


def _layer_masks(space: "LabelSpace", layers: list[np.ndarray], n_inst: int):
    """Per instance id: boolean mask of pixels whose ray meets it at any depth (peel layers)."""
    if n_inst <= 64:
        bits = np.zeros(layers[0].shape, np.uint64)
        for layer in layers:
            bits |= np.left_shift(np.uint64(1), space.mesh_to_instance[layer + 2].astype(np.uint64))
        return lambda i: (bits >> np.uint64(i)) & np.uint64(1) == 1
    stacked = [space.mesh_to_instance[layer + 2] for layer in layers]
    return lambda i: np.logical_or.reduce([layer == i for layer in stacked])


def annotate(space: LabelSpace, mesh_map: np.ndarray, layers: list[np.ndarray], position: np.ndarray,
             normal: np.ndarray, camera: CameraState, stage: Usd.Stage, resolution: tuple[int, int]) -> dict:
    """All geometric annotators for one frame, as {annotator name: payload dict}."""
    n_inst = len(space.instance_paths) + 2
    instance = space.mesh_to_instance[mesh_map + 2]
    semantic = space.mesh_to_semantic[mesh_map + 2]
    hit = mesh_map != -1

    vis_counts = np.bincount(instance.ravel(), minlength=n_inst)
    unoccluded = _layer_masks(space, [layer.reshape(instance.shape) for layer in layers], n_inst)
    full_counts = np.zeros(n_inst, np.int64)
    vis_box, full_box = {}, {}
    for i in range(2, n_inst):
        full = unoccluded(i)
        full_counts[i] = np.count_nonzero(full)
        if full_counts[i]:
            full_box[i] = _extent(full)
        if vis_counts[i]:
            vis_box[i] = _extent(instance == i)

    inst_ids = [i for i in range(2, n_inst) if vis_counts[i] > 0]
    loose_ids = [i for i in range(2, n_inst) if full_counts[i] > 0]
    occlusion = {i: float(1.0 - vis_counts[i] / full_counts[i]) if full_counts[i] else 1.0 for i in range(2, n_inst)}

    def bbox2d(ids, box):
        data = np.zeros(len(ids), BBOX2D_DTYPE)
        for row, i in enumerate(ids):
            data[row] = (space.instance_to_semantic[i], *box[i], occlusion[i])
        return {"data": data, "idToLabels": _sem_labels(space, {int(space.instance_to_semantic[i]) for i in ids}),
                "bboxIds": np.asarray(ids, np.uint32), "primPaths": [space.instance_paths[i - 2] for i in ids]}

    present_inst = sorted(set(np.unique(instance).tolist()))
    present_sem = sorted(set(np.unique(semantic).tolist()))
    cam_pos = camera.matrix[:3, 3]
    forward = -camera.matrix[:3, 2] / np.linalg.norm(camera.matrix[:3, 2])
    rel = position - cam_pos.astype(np.float32)
    mpu = np.float32(camera.meters_per_unit)
    dist_cam = np.where(hit, np.linalg.norm(rel, axis=-1) * mpu, 0.0).astype(np.float32)
    dist_plane = np.where(hit, rel @ forward.astype(np.float32) * mpu, 0.0).astype(np.float32)
    normals = np.concatenate([normal, hit[..., None].astype(np.float32)], -1).astype(np.float32)

    return {
        "instance_segmentation": {
            "data": instance.astype(np.uint32),
            "idToLabels": {str(i): space.instance_label(i) for i in present_inst},
            "idToSemantics": {str(i): {"class": space.class_name(int(space.instance_to_semantic[i]) if i >= 2 else i)}
                              for i in present_inst},
        },
        "semantic_segmentation": {"data": semantic.astype(np.uint32), "idToLabels": _sem_labels(space, set(present_sem)),
                                  # every class of the twin (parts then defects), for writers that need them upfront
                                  "classes": {str(e.semantic_id): e.name for e in space.class_map.entries},
                                  "classList": space.class_map.to_payload()},
        "bounding_box_2d_tight": bbox2d(inst_ids, vis_box),
        "bounding_box_2d_loose": bbox2d(loose_ids, full_box),
        "bounding_box_3d": _bbox3d(space, stage, loose_ids, occlusion),
        "distance_to_camera": {"data": dist_cam},
        "distance_to_image_plane": {"data": dist_plane},
        "normals": {"data": normals},
        "camera_params": camera_params(stage, camera, resolution),
        "pixel_counts": {"visible": {space.instance_paths[i - 2]: int(vis_counts[i]) for i in range(2, n_inst)},
                         "unoccluded": {space.instance_paths[i - 2]: int(full_counts[i]) for i in range(2, n_inst)}},
    }


def _sem_labels(space: LabelSpace, ids: set[int]) -> dict[str, dict[str, str]]:
    return {str(i): {"class": space.class_name(i)} for i in sorted(ids)}


def _bbox3d(space: LabelSpace, stage: Usd.Stage, ids: list[int], occlusion: dict[int, float]) -> dict:
    cache = UsdGeom.BBoxCache(TIME, [UsdGeom.Tokens.default_, UsdGeom.Tokens.render])
    xf = UsdGeom.XformCache(TIME)
    data = np.zeros(len(ids), BBOX3D_DTYPE)
    for row, i in enumerate(ids):
        # row-vector convention, as Replicator reports USD matrices; point instances have no prim
        lo, hi, transform = label_bound(stage, space.meshes, space.instance_paths[i - 2], xf, cache)
        transform = transform.astype(np.float32)
        data[row] = (space.instance_to_semantic[i], *lo, *hi, transform, occlusion[i])
    return {"data": data, "idToLabels": _sem_labels(space, {int(space.instance_to_semantic[i]) for i in ids}),
            "primPaths": [space.instance_paths[i - 2] for i in ids]}


def camera_params(stage: Usd.Stage, camera: CameraState, resolution: tuple[int, int]) -> dict:
    """Replicator's camera_params annotator (USD row-vector matrices, flattened to 16 values)."""
    gf = UsdGeom.Camera(stage.GetPrimAtPath(camera.path)).GetCamera(TIME)
    view = np.array(gf.transform.GetInverse(), dtype=np.float64).ravel()
    proj = np.array(gf.frustum.ComputeProjectionMatrix(), dtype=np.float64).ravel()
    return {
        "cameraModel": "pinhole" if camera.aperture_radius == 0 else "thinLens",
        "cameraViewTransform": view,
        "cameraProjection": proj,
        "cameraNearFar": np.array([camera.near, camera.far], np.float32),
        "cameraFocalLength": float(camera.focal_length),
        "cameraAperture": np.array([camera.horizontal_aperture, camera.vertical_aperture], np.float32),
        "cameraApertureOffset": np.zeros(2, np.float32),
        "cameraFStop": float(camera.f_stop),
        "cameraFocusDistance": float(camera.focus_distance),
        "renderProductResolution": np.array(resolution, np.int32),
        "metersPerSceneUnit": float(camera.meters_per_unit),
    }


@dataclass(frozen=True)
class DefectLabelOptions:
    """Thresholds of the defect label pass (recipe ``labels``)."""

    min_instance_pixels: int = 16


def defect_samples(space: LabelSpace, mesh_map: np.ndarray, samples_mesh: np.ndarray, samples_uv: np.ndarray,
                   stacks: dict) -> tuple[np.ndarray, np.ndarray]:
    """Defect code (uint8, 1 + index in DEFECT_CLASSES) and occurrence (uint32) of every sub-pixel sample.

    Each sample looks up the texel holding its uv in its mesh's wear maps (the maps the kernels wrote and
    the renderer shaded with). A sample counts only on the part its pixel centre sees, so a defect mask
    stays inside its part's mask.
    """
    code = np.zeros(samples_mesh.shape, np.uint8)
    occ = np.zeros(samples_mesh.shape, np.uint32)
    for index, stack in stacks.items():
        sel = samples_mesh == index
        if not sel.any():
            continue
        res = stack.resolution
        uv = samples_uv[sel]
        col = np.clip((uv[:, 0] * res).astype(np.int64), 0, res - 1)
        row = np.clip(((1.0 - uv[:, 1]) * res).astype(np.int64), 0, res - 1)
        code[sel] = stack.defect_class[row, col]
        occ[sel] = stack.defect_instance[row, col]
    part_px = space.mesh_to_instance[mesh_map + 2]
    other = (space.mesh_to_instance[samples_mesh + 2] != part_px[..., None]) | (part_px[..., None] < 2)
    code[other] = 0
    occ[other] = 0
    return code, occ


def annotate_defects(space: LabelSpace, mesh_map: np.ndarray, samples_mesh: np.ndarray, samples_uv: np.ndarray,
                     stacks: dict, spec: FrameSpec | None = None, visibility: VisibleChange | None = None,
                     pixel_area: np.ndarray | None = None,
                     options: DefectLabelOptions = DefectLabelOptions()) -> dict:
    """defect_segmentation and defect_instances of the standalone home: the coverage samples' wear-stack
    lookups (``defect_samples``) labelled by the core's ``defect_annotations``, as Kit's are.

    ``samples_*``: the k x k sub-pixel coverage pass; ``visibility``: where this frame differs visibly from
    itself without wear (None: no test); ``pixel_area``: mm^2 per pixel (``frame_pixel_area_mm2``).
    """
    code, occ = defect_samples(space, mesh_map, samples_mesh, samples_uv, stacks)
    return defect_annotations(space, code, occ, samples_mesh, space.mesh_to_instance[mesh_map + 2], spec,
                              visible=None if visibility is None else visibility.certain,
                              possible=None if visibility is None else visibility.possible,
                              worn=np.isin(mesh_map, list(stacks)), pixel_area=pixel_area,
                              min_instance_pixels=options.min_instance_pixels)
