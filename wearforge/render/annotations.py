"""Label buffers -> annotator payloads in Replicator's data conventions (omni.replicator.core 1.12).

Ids follow Replicator: 0 = BACKGROUND (no hit), 1 = UNLABELLED (hit, no class), then one id per
labelled prim (instances) or per class (semantics), stable for a twin across frames.
Boxes use inclusive pixel indices: x_max is the last covered column.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from pxr import Usd, UsdGeom
from skimage import measure

from wearforge.classmap import DEFECT_CLASSES
from wearforge.twin_reader import TIME, CameraState, label_bound
from wearforge.labels import (BBOX2D_DTYPE, BBOX3D_DTYPE, DEFECT_INSTANCE_FULL_DTYPE, UNLABELLED, LabelSpace,  # noqa: F401
                              label_extents)
from wearforge.framespec import FrameSpec
from wearforge.render.visibility import VisibleChange
from wearforge.wear.defects import DEFECTS


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


def _defect_samples(space: LabelSpace, mesh_map: np.ndarray, samples_mesh: np.ndarray, samples_uv: np.ndarray,
                    stacks: dict) -> tuple[np.ndarray, np.ndarray]:
    """Defect code (uint8, 1 + index in DEFECT_CLASSES) and occurrence (uint32) of every sub-pixel sample.

    A sample counts only on the part its pixel centre sees, so a defect mask stays inside its part's mask.
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


def _dominant(code: np.ndarray, occ: np.ndarray, samples_mesh: np.ndarray):
    """Per pixel: the defect class covering most samples, its coverage (0..1) and the occurrence under it.

    Ties go to the class listed first; the occurrence is the one of that class nearest the pixel centre.
    """
    h, w, kk = code.shape
    counts = np.stack([np.count_nonzero(code == c + 1, axis=-1) for c in range(len(DEFECT_CLASSES))])
    best = counts.argmax(0)
    cover = np.take_along_axis(counts, best[None], 0)[0]
    cls = np.where(cover > 0, best + 1, 0).astype(np.uint8)
    k = int(round(np.sqrt(kk)))
    centre = (np.arange(k) + 0.5) / k - 0.5
    order = np.argsort(np.add.outer(centre ** 2, centre ** 2).ravel(), kind="stable")
    first = order[(code[..., order] == cls[..., None]).argmax(-1)]
    pick = lambda a: np.take_along_axis(a, first[..., None], -1)[..., 0]  # noqa: E731
    return cls, cover.astype(np.float32) / kk, pick(occ), pick(samples_mesh)


def _pixel_area_mm2(position: np.ndarray, normal: np.ndarray, camera: CameraState, width: int) -> np.ndarray:
    """Surface area each pixel covers, mm^2: pixel solid angle times distance^2 over the viewing cosine."""
    cam_pos = camera.matrix[:3, 3].astype(np.float64)
    forward = -camera.matrix[:3, 2] / np.linalg.norm(camera.matrix[:3, 2])
    rel = position.astype(np.float64) - cam_pos
    dist = np.maximum(np.linalg.norm(rel, axis=-1), 1e-12)
    plane = rel @ forward
    cos_view = np.abs(np.sum(rel * normal, axis=-1)) / dist
    pixel_mm = camera.horizontal_aperture / width
    area = pixel_mm ** 2 * (plane / dist) * plane ** 2 / (camera.focal_length ** 2 * np.maximum(cos_view, 0.05))
    return (area * (camera.meters_per_unit * 1000.0) ** 2).astype(np.float32)


def annotate_defects(space: LabelSpace, mesh_map: np.ndarray, samples_mesh: np.ndarray, samples_uv: np.ndarray,
                     stacks: dict, spec: FrameSpec | None = None, visibility: VisibleChange | None = None,
                     position: np.ndarray | None = None, normal: np.ndarray | None = None,
                     camera: CameraState | None = None,
                     options: DefectLabelOptions = DefectLabelOptions()) -> dict:
    """defect_segmentation and defect_instances: what the camera sees of each defect, plus ignore regions.

    ``samples_*``: the k x k sub-pixel coverage pass; each sample looks up the texel holding its uv in
    its mesh's wear maps (the maps the kernels wrote and the renderer shaded with). A pixel is a defect
    candidate of the class covering most of its samples. ``visibility``: where this frame differs visibly
    from itself without wear (None: no test). Candidates whose change is certainly visible are labelled;
    the others, visible changes on a worn surface outside every candidate and instances smaller than
    ``options.min_instance_pixels`` form the ignore map. An instance is an image-space connected piece
    of one occurrence's candidate pixels (noise-grown classes: of the class on one part, which merges
    what a texture seam split), labelled where visible.
    """
    h, w = mesh_map.shape
    if stacks:
        code, occ = _defect_samples(space, mesh_map, samples_mesh, samples_uv, stacks)
        cls, coverage, occ_px, mesh_px = _dominant(code, occ, samples_mesh)
    else:
        cls, coverage = np.zeros((h, w), np.uint8), np.zeros((h, w), np.float32)
        occ_px, mesh_px = np.zeros((h, w), np.uint32), np.full((h, w), -1, np.int32)
    candidate = cls > 0
    visible = np.ones((h, w), bool) if visibility is None else visibility.certain
    labelled = candidate & visible
    part_px = space.mesh_to_instance[mesh_map + 2]

    # instances: connected pieces of one occurrence (region classes: of the class on one part)
    regions = np.asarray([False] + [bool(DEFECTS[d].REGIONS) for d in DEFECT_CLASSES])
    discrete = ~regions[cls]
    columns = [part_px.astype(np.int64), cls.astype(np.int64), np.where(discrete, mesh_px + 1, 0).astype(np.int64),
               np.where(discrete, occ_px, 0).astype(np.int64)]
    groups = np.zeros((h, w), np.int64)
    if candidate.any():
        if columns[0].max() < 2 ** 14 and columns[2].max() < 2 ** 13:
            # one int64 per group: part (14 bits) | class (5) | mesh + 1 (13) | occurrence (32); fast to sort
            keys = ((columns[0] << 50) | (columns[1] << 45) | (columns[2] << 32) | columns[3])[candidate]
            _, inverse = np.unique(keys, return_inverse=True)
        else:
            _, inverse = np.unique(np.stack(columns, -1)[candidate], axis=0, return_inverse=True)
        groups[candidate] = inverse.ravel() + 1
    pieces = measure.label(groups, background=0, connectivity=2)
    n_pieces = int(pieces.max())
    seen = np.bincount(pieces[labelled], minlength=n_pieces + 1)
    keep = seen >= options.min_instance_pixels
    keep[0] = False
    kept = np.flatnonzero(keep)
    renumber = np.zeros(n_pieces + 1, np.uint32)
    renumber[kept] = np.arange(1, len(kept) + 1, dtype=np.uint32)
    mask = np.where(labelled, renumber[pieces], 0).astype(np.uint32)
    labelled &= mask > 0

    # ignore: invisible candidates, small instances, visible change outside every candidate (its class:
    # the nearest candidate's; UNLABELLED when the frame has none)
    ignore_cls = np.zeros((h, w), np.uint32)
    ignore_cls[candidate & ~labelled] = space.defect_semantic[cls[candidate & ~labelled]]
    # only on worn surfaces: elsewhere (table, reflections) paired low-spp noise would dominate
    stray = np.zeros((h, w), bool) if visibility is None else visibility.possible & ~candidate
    stray &= np.isin(mesh_map, list(stacks))
    if stray.any():
        if candidate.any():
            from scipy.ndimage import distance_transform_edt

            iy, ix = distance_transform_edt(~candidate, return_distances=False, return_indices=True)
            ignore_cls[stray] = space.defect_semantic[cls[iy[stray], ix[stray]]]
        else:
            ignore_cls[stray] = UNLABELLED
    semantic = np.where(labelled, space.defect_semantic[cls], 0).astype(np.uint32)

    present = sorted(int(i) for i in np.unique(semantic))
    seg = {"data": semantic,
           "idToLabels": {str(i): {"class": "none" if i == 0 else space.class_name(i)} for i in present},
           "ignore": ignore_cls,
           "ignoreLabels": {str(i): {"class": space.class_name(i)} for i in np.unique(ignore_cls).tolist() if i},
           "coverage": np.where(candidate, coverage, 0.0).astype(np.float32)}

    n = len(kept)
    data = np.zeros(n, DEFECT_INSTANCE_FULL_DTYPE)
    labels = {}
    if n:
        counts, (x0, y0, x1, y1), first = label_extents(mask, n)
        ignored = np.bincount(renumber[pieces][candidate & ~labelled], minlength=n + 1)
        area = np.zeros(n + 1, np.float64)
        if position is not None and normal is not None and camera is not None:
            px_area = _pixel_area_mm2(position, normal, camera, w) * coverage
            area = np.bincount(mask.ravel(), weights=px_area.ravel(), minlength=n + 1)
        parts = {p.path: p for p in spec.parts} if spec is not None else {}
        for k in range(n):
            sem = int(semantic.flat[first[k]])
            part = int(part_px.flat[first[k]])
            data[k] = (k + 1, sem, part, x0[k], y0[k], x1[k], y1[k], counts[k], area[k + 1], ignored[k + 1])
            labels[str(k + 1)] = {"class": space.class_name(sem), "part": space.instance_label(part),
                                  **_severity(parts.get(space.instance_label(part)), int(occ_px.flat[first[k]]))}
    return {"defect_segmentation": seg,
            "defect_instances": {"data": data, "mask": mask, "idToLabels": labels, "ignore": ignore_cls > 0}}


def _severity(part, occurrence: int) -> dict:
    """The wear layer an occurrence came from (index in the part's FrameSpec layers) and its parameters."""
    layer = (occurrence >> 24) - 1
    if part is None or part.wear is None or not 0 <= layer < len(part.wear.layers):
        return {}
    spec = part.wear.layers[layer]
    return {"layer": layer, "severity": dict(spec.params)}
