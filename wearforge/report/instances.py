"""Per-instance measurements of one frame: class, size in pixels and mm², visibility, occlusion, truncation.

The same function serves the report (arrays read from disk) and generate's target loop (arrays still in
memory), so both count instances identically.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

# columns every defect_instances array has; any other numeric column is a per-instance severity value
BASE_DEFECT_FIELDS = {"instanceId", "semanticId", "partInstanceId", "x_min", "y_min", "x_max", "y_max", "visiblePixels"}
MIN_LEARNABLE_PIXELS = 16  # below this a detector sees little more than a dot


@dataclass
class Instance:
    kind: str  # "defect" or "part"
    cls: str
    pixels: float  # visible pixels
    mm2: float | None = None  # visible surface area
    visibility: float = 1.0  # labelled / (labelled + ignored) for defects, 1 - occlusion for parts
    truncation: float | None = None  # parts: share of the projected 3D box outside the image
    box: tuple[int, int, int, int] | None = None
    instance_id: int = 0
    severity: dict[str, float] = field(default_factory=dict)


def _mat(values) -> np.ndarray:
    return np.asarray(values, np.float64).reshape(4, 4)


def pixel_area_mm2(depth: np.ndarray, normals: np.ndarray | None, camera: dict,
                   where: tuple[np.ndarray, np.ndarray] | None = None) -> np.ndarray | None:
    """Surface area (mm²) each pixel covers, for the whole image or only the pixels ``where`` = (rows, cols).

    A pixel's solid angle is cos³θ / f² (θ: the ray's angle to the optical axis, f in pixels) and its distance
    z / cos θ, so across the ray it covers z² cos θ / f²; a surface leaning away by i from the ray covers
    1 / cos i more (i clamped at 78 degrees). ``depth`` is in metres, as the depth annotators give it in every
    home, so the camera's ``metersPerSceneUnit`` plays no part.
    """
    try:
        w, h = camera["renderProductResolution"]
        focal = float(camera["cameraFocalLength"])
        aperture = float(camera["cameraAperture"][0])
    except (KeyError, TypeError, IndexError):
        return None
    if depth is None or depth.shape[:2] != (h, w) or focal <= 0:
        return None
    rows, cols = where if where is not None else np.indices((h, w)).reshape(2, -1)
    fx = focal / (aperture / w)
    z = depth[rows, cols].astype(np.float64)
    z = np.where(np.isfinite(z), z, 0.0)
    ray = np.stack([(cols + 0.5 - w / 2) / fx, -(rows + 0.5 - h / 2) / fx, -np.ones(len(z))], -1)
    ray /= np.sqrt((ray * ray).sum(-1, keepdims=True))
    area = (z * 1000.0 / fx) ** 2 * -ray[:, 2]
    if normals is not None and normals.shape[:2] == (h, w):
        view = _mat(camera["cameraViewTransform"])[:3, :3]
        n_cam = normals[rows, cols, :3].astype(np.float64) @ view
        area /= np.maximum(np.abs((n_cam * ray).sum(-1)), 0.2)
    return area if where is not None else area.reshape(h, w)


def instance_mm2(ids: np.ndarray | None, count: int, depth: np.ndarray | None, normals: np.ndarray | None,
                 camera: dict | None) -> np.ndarray | None:
    """Visible surface area per instance id (index = id), from the pixels each id covers."""
    if ids is None or depth is None or camera is None:
        return None
    rows, cols = np.nonzero((ids > 0) & (ids < count))
    area = pixel_area_mm2(depth, normals, camera, (rows, cols))
    if area is None:
        return None
    return np.bincount(ids[rows, cols].astype(np.int64), weights=area, minlength=count)


def truncation(box3d: np.ndarray, camera: dict) -> float | None:
    """Share of a part's projected 3D bounding box that falls outside the image (1 = fully outside)."""
    try:
        w, h = camera["renderProductResolution"]
        view, proj = _mat(camera["cameraViewTransform"]), _mat(camera["cameraProjection"])
    except (KeyError, TypeError, ValueError):
        return None
    lo = [float(box3d[k]) for k in ("x_min", "y_min", "z_min")]
    hi = [float(box3d[k]) for k in ("x_max", "y_max", "z_max")]
    corners = np.array([[x, y, z, 1.0] for x in (lo[0], hi[0]) for y in (lo[1], hi[1]) for z in (lo[2], hi[2])])
    clip = corners @ np.asarray(box3d["transform"], np.float64) @ view @ proj
    if np.any(clip[:, 3] <= 1e-9):
        return 1.0 if np.all(clip[:, 3] <= 1e-9) else None
    x = (clip[:, 0] / clip[:, 3] + 1) / 2 * w
    y = (1 - clip[:, 1] / clip[:, 3]) / 2 * h
    area = (x.max() - x.min()) * (y.max() - y.min())
    if area <= 0:
        return None
    inside = max(0.0, min(x.max(), w) - max(x.min(), 0)) * max(0.0, min(y.max(), h) - max(y.min(), 0))
    return float(1.0 - inside / area)


def defect_instances(defects: np.ndarray | None, labels: dict, ids: np.ndarray | None,
                     ignore: np.ndarray | None, mm2: np.ndarray | None) -> list[Instance]:
    """One Instance per row of a defect_instances array (mm² per id and ignore share when the images allow)."""
    if defects is None or len(defects) == 0:
        return []
    use_ignore = ignore is not None and ids is not None and ignore.shape == ids.shape
    extra = [f for f in defects.dtype.names if f not in BASE_DEFECT_FIELDS
             and np.issubdtype(defects.dtype[f], np.number) and defects.dtype[f].shape == ()]
    out = []
    for row in defects:
        i = int(row["instanceId"])
        cls = str(labels.get(str(i), {}).get("class", f"id{int(row['semanticId'])}"))
        box = (int(row["x_min"]), int(row["y_min"]), int(row["x_max"]), int(row["y_max"]))
        px = float(row["visiblePixels"])
        vis = 1.0
        if use_ignore:  # ignored pixels inside an instance's box count against its visibility
            x0, y0, x1, y1 = box
            ignored = float(ignore[y0:y1 + 1, x0:x1 + 1].sum())
            vis = px / (px + ignored) if px + ignored > 0 else 0.0
        area = float(mm2[i]) if mm2 is not None and i < len(mm2) else None
        out.append(Instance("defect", cls, px, area, vis, None, box, i,
                            {f: float(row[f]) for f in extra}))
    return out


def part_instances(boxes: np.ndarray | None, labels: dict, boxes3d: np.ndarray | None, labels3d: dict,
                   camera: dict | None) -> list[Instance]:
    """One Instance per part box, with occlusion (from the tight box) and truncation (from the 3D box)."""
    if boxes is None or len(boxes) == 0:
        return []
    trunc: dict[int, float | None] = {}
    if boxes3d is not None and camera:
        for row in boxes3d:
            trunc.setdefault(int(row["semanticId"]), truncation(row, camera))
    out = []
    for row in boxes:
        sid = int(row["semanticId"])
        cls = str(labels.get(str(sid), {}).get("class", f"id{sid}"))
        x0, y0, x1, y1 = (int(row[k]) for k in ("x_min", "y_min", "x_max", "y_max"))
        occ = float(row["occlusionRatio"]) if "occlusionRatio" in row.dtype.names else 0.0
        px = float((x1 - x0 + 1) * (y1 - y0 + 1))
        out.append(Instance("part", cls, px, None, 1.0 - occ, trunc.get(sid), (x0, y0, x1, y1), sid))
    return out


def _count(defects: np.ndarray | None) -> int:
    return int(defects["instanceId"].max()) + 1 if defects is not None and len(defects) else 0


def frame_instances(frame) -> list[Instance]:
    """Every part and defect instance of a dataset Frame (wearforge.report.dataset.Frame, read from its files)."""
    cam = frame.camera
    ids = frame.defect_ids()
    mm2 = None
    if ids is not None and cam is not None and _count(frame.defects):
        mm2 = instance_mm2(ids, _count(frame.defects), frame.depth(), frame.normals(), cam)
    inst = defect_instances(frame.defects, frame.defect_labels, ids, frame.ignore_mask(), mm2)
    boxes, labels, _ = frame.part_boxes()
    b3, l3 = frame.part_boxes_3d()
    return part_instances(boxes, labels, b3, l3, cam) + inst


def annotation_instances(annotations: dict) -> list[Instance]:
    """Every part and defect instance of a frame still in memory (the renderer's annotations dict)."""
    cam = annotations.get("camera_params")
    d = annotations.get("defect_instances") or {}
    ids = d.get("mask")
    depth = (annotations.get("distance_to_image_plane") or {}).get("data")
    normals = (annotations.get("normals") or {}).get("data")
    mm2 = instance_mm2(ids, _count(d.get("data")), depth, normals, cam) if _count(d.get("data")) else None
    ignore = (annotations.get("defect_ignore") or {}).get("data")
    labels = {str(k): v for k, v in (d.get("idToLabels") or {}).items()}
    inst = defect_instances(d.get("data"), labels, ids, None if ignore is None else ignore > 0, mm2)
    b = annotations.get("bounding_box_2d_tight") or {}
    b3 = annotations.get("bounding_box_3d") or {}
    parts = part_instances(b.get("data"), {str(k): v for k, v in (b.get("idToLabels") or {}).items()},
                           b3.get("data"), {str(k): v for k, v in (b3.get("idToLabels") or {}).items()}, cam)
    return parts + inst
