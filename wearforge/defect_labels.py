"""Defect labels of one frame from per-sample defect codes: the one function both homes label defects with.

A backend turns each of its k sub-pixel samples into (defect code, occurrence, mesh index): the standalone
home by looking the sample's uv up in its mesh's wear stack (k = s x s supersampling), Kit by decoding its
RTX label subframe (k = 1). From there everything is shared: the dominant class per pixel and its coverage,
image-space instances, the ignore map, severity from the FrameSpec and the payloads the writers expect.
"""

from __future__ import annotations

import numpy as np
from skimage import measure

from wearforge.classmap import DEFECT_CLASSES, REGION_DEFECTS
from wearforge.labels import DEFECT_INSTANCE_FULL_DTYPE, UNLABELLED, LabelSpace, label_extents


def dominant_defect(code: np.ndarray, occurrence: np.ndarray, mesh: np.ndarray):
    """Per pixel of (H, W, k) samples: the defect code covering most samples, its coverage (0..1), and the
    occurrence and mesh of the sample of that code nearest the pixel centre.

    Ties go to the class listed first. Samples are k = s x s strata in row-major order (s = sqrt(k)).
    """
    kk = code.shape[-1]
    counts = np.stack([np.count_nonzero(code == c + 1, axis=-1) for c in range(len(DEFECT_CLASSES))])
    best = counts.argmax(0)
    cover = np.take_along_axis(counts, best[None], 0)[0]
    cls = np.where(cover > 0, best + 1, 0).astype(np.uint8)
    k = int(round(np.sqrt(kk)))
    centre = (np.arange(k) + 0.5) / k - 0.5
    order = np.argsort(np.add.outer(centre ** 2, centre ** 2).ravel(), kind="stable")
    first = order[(code[..., order] == cls[..., None]).argmax(-1)]
    pick = lambda a: np.take_along_axis(a, first[..., None], -1)[..., 0]  # noqa: E731
    return cls, cover.astype(np.float32) / kk, pick(occurrence), pick(mesh)


def frame_pixel_area_mm2(payloads: dict) -> np.ndarray | None:
    """Surface area (mm^2) each pixel covers, from a frame's ``distance_to_image_plane`` (metres), ``normals``
    and ``camera_params`` payloads (the same arrays in both homes); None when one is missing."""
    from wearforge.report.instances import pixel_area_mm2

    try:
        depth = np.asarray(payloads["distance_to_image_plane"]["data"])
        normals = np.asarray(payloads["normals"]["data"])
        camera = payloads["camera_params"]
    except (KeyError, TypeError):
        return None
    area = pixel_area_mm2(depth, normals, camera)
    return None if area is None else area.astype(np.float32)


def defect_annotations(space: LabelSpace, code: np.ndarray, occurrence: np.ndarray, mesh: np.ndarray,
                       part: np.ndarray, spec=None, visible: np.ndarray | None = None,
                       possible: np.ndarray | None = None, worn: np.ndarray | None = None,
                       pixel_area: np.ndarray | None = None, min_instance_pixels: int = 16) -> dict:
    """defect_segmentation and defect_instances payloads: what the camera sees of each defect, plus ignore.

    ``code`` (uint8: 0 = clean, c = the c-th of DEFECT_CLASSES), ``occurrence`` (the occurrence id in its
    mesh's wear stack, 0 = none) and ``mesh`` (mesh index, negative = none) per sample, shape (H, W, k);
    ``part``: the run's instance id per pixel. A pixel is a defect candidate of the class covering most of its
    samples. ``visible`` / ``possible``: where wear certainly / possibly changes the frame visibly (None: no
    visibility test, every candidate is labelled); ``worn``: pixels on worn meshes, where a possible change
    outside every candidate is ignored. An instance is an image-space connected piece of one occurrence's
    candidate pixels (region classes: of the class on one part, which merges what a texture seam split);
    pieces with fewer than ``min_instance_pixels`` labelled pixels, and invisible candidates, go to the
    ignore map. ``pixel_area``: mm^2 per pixel (``frame_pixel_area_mm2``), weighted by coverage into each
    instance's ``areaMm2`` (0 when None). ``spec``: the FrameSpec, for each instance's wear layer and severity.
    """
    h, w = part.shape
    cls, coverage, occ_px, mesh_px = dominant_defect(code, occurrence, mesh)
    candidate = cls > 0
    labelled = candidate & (np.ones((h, w), bool) if visible is None else visible)
    part_px = part.astype(np.int64)

    regions = np.asarray([False] + [d in REGION_DEFECTS for d in DEFECT_CLASSES])
    discrete = ~regions[cls]
    columns = [part_px, cls.astype(np.int64), np.where(discrete, mesh_px.astype(np.int64) + 1, 0),
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
    keep = seen >= min_instance_pixels
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
    stray = np.zeros((h, w), bool) if possible is None else possible & ~candidate
    if worn is not None:
        stray &= worn
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
        if pixel_area is not None:
            area = np.bincount(mask.ravel(), weights=(pixel_area * coverage).ravel(), minlength=n + 1)
        parts = {p.path: p for p in spec.parts} if spec is not None else {}
        for k in range(n):
            sem = int(semantic.flat[first[k]])
            inst = int(part_px.flat[first[k]])
            data[k] = (k + 1, sem, inst, x0[k], y0[k], x1[k], y1[k], counts[k], area[k + 1], ignored[k + 1])
            labels[str(k + 1)] = {"class": space.class_name(sem), "part": space.instance_label(inst),
                                  **_severity(parts.get(space.instance_label(inst)), int(occ_px.flat[first[k]]))}
    return {"defect_segmentation": seg,
            "defect_instances": {"data": data, "mask": mask, "idToLabels": labels, "ignore": ignore_cls > 0}}


def _severity(part, occurrence: int) -> dict:
    """The wear layer an occurrence came from (index in the part's FrameSpec layers) and its parameters."""
    layer = (occurrence >> 24) - 1
    if part is None or part.wear is None or not 0 <= layer < len(part.wear.layers):
        return {}
    spec = part.wear.layers[layer]
    return {"layer": layer, "severity": dict(spec.params)}
