"""RTX annotator data of one render product -> wearforge's annotations, as the standalone home writes them.

Replicator numbers semantic and instance ids its own way, per run; here they are renumbered into the run's
``LabelSpace`` (the ids the standalone home uses for the same twin), so a recipe gives the same label ids in
both homes. The camera-sensor model of ``wearforge.sensor`` is applied exactly as standalone: photometric
effects on the linear ``HdrColor`` image (RTX's ``rgb`` is already tone-mapped), lens distortion on the image
and on every label buffer (nearest), after which the tight 2D boxes are measured again from the distorted
instance mask; loose boxes (RTX gives no unoccluded masks) are the distorted outline of the ideal box.
"""

from __future__ import annotations

import numpy as np

from wearforge.framespec import FrameSpec
from wearforge.labels import BACKGROUND, UNLABELLED, LabelSpace, label_extents


def _strip(name: str) -> str:
    return name[:-5] if name.endswith("_fast") else name


def _flat(payload):
    """Annotator data as one flat dict (get_data's legacy {"data", "info"} or a bare array)."""
    if isinstance(payload, np.ndarray):
        return {"data": payload}
    if isinstance(payload, dict) and isinstance(payload.get("info"), dict):
        return {"data": payload.get("data"), **payload["info"]}
    return payload


class IdMap:
    """Replicator's semantic / instance ids of one frame -> the run's LabelSpace ids."""

    def __init__(self, space: LabelSpace, stage):
        self.space, self.stage = space, stage
        self._paths: dict[str, str | None] = {}

    def label_path(self, path: str) -> str | None:
        """The labelled prim (a part) at or above a prim path RTX reports."""
        if path not in self._paths:
            from wearforge.semantics import labelled_ancestor

            prim = self.stage.GetPrimAtPath(str(path)) if self.stage is not None else None
            found = labelled_ancestor(prim) if prim else None
            self._paths[path] = str(found.GetPath()) if found else None
        return self._paths[path]

    def semantic(self, id_to_labels: dict) -> dict[int, int]:
        out = {}
        for key, value in id_to_labels.items():
            name = value.get("class") if isinstance(value, dict) else value
            i = int(key)
            out[i] = i if i in (BACKGROUND, UNLABELLED) else self.space.class_id.get(str(name), UNLABELLED)
        return out

    def instance(self, id_to_labels: dict) -> dict[int, int]:
        out = {}
        for key, path in id_to_labels.items():
            i = int(key)
            if i in (BACKGROUND, UNLABELLED) or path in ("BACKGROUND", "UNLABELLED"):
                out[i] = i
            else:
                out[i] = self.space.instance_id.get(self.label_path(path), UNLABELLED)
        return out


def _lookup(image: np.ndarray, table: dict[int, int]) -> np.ndarray:
    """Replace every id by table[id]; ids the table does not know become UNLABELLED (never a neighbour's)."""
    uniq, inverse = np.unique(image, return_inverse=True)
    return np.asarray([table.get(int(u), UNLABELLED) for u in uniq], np.uint32)[inverse].reshape(image.shape)


def convert(frame: dict, space: LabelSpace, spec: FrameSpec, stage, extra: dict | None = None) -> dict:
    """wearforge annotations (the standalone names and ids) from one render product's annotator data.

    ``extra``: what was computed outside Replicator for this frame: ``defect_maps`` = (class code, mesh index,
    occurrence) per pixel, before distortion (the same image space as the annotators), labelled with the core's
    ``defect_annotations`` as one sample per pixel; ``min_instance_pixels``: the recipe's ``labels`` threshold.
    """
    from wearforge.defect_labels import defect_annotations, frame_pixel_area_mm2
    from wearforge.sensor import apply_sensor, distortion_maps, remap

    frame = {_strip(k): _flat(v) for k, v in frame.items()}
    ids = IdMap(space, stage)
    cam = spec.camera
    out: dict = {}

    inst = frame["instance_segmentation"]
    inst_table = ids.instance(inst.get("idToLabels", {}))
    instance = _lookup(np.asarray(inst["data"]).reshape(np.asarray(inst["data"]).shape[:2]), inst_table)
    semantic = space.instance_to_semantic[np.minimum(instance, len(space.instance_to_semantic) - 1)]
    semantic = np.where(instance == BACKGROUND, BACKGROUND, semantic).astype(np.uint32)
    hdr = np.asarray(frame["HdrColor"]["data"], np.float32)[..., :3]
    depth = {n: np.asarray(frame[n]["data"], np.float32) for n in ("distance_to_camera", "distance_to_image_plane")
             if n in frame}
    normals = np.asarray(frame["normals"]["data"], np.float32) if "normals" in frame else None
    h, w = instance.shape
    defects = (extra or {}).get("defect_maps")

    maps = distortion_maps(spec.sensor, w, h, cam.focal_length, cam.horizontal_aperture)
    if maps is not None:  # lens distortion moves pixels: the image and every label buffer alike
        hdr = remap(hdr, maps, labels=False)
        instance = remap(instance, maps, True)
        semantic = remap(semantic, maps, True)
        depth = {n: remap(d, maps, True) for n, d in depth.items()}
        normals = remap(normals, maps, True) if normals is not None else None
        if defects is not None:
            defects = tuple(remap(np.asarray(a), maps, True, fill) for a, fill in zip(defects, (0, -1, 0)))
    out["rgb"] = {"data": apply_sensor(hdr, spec.sensor, 0.0, cam.focal_length, cam.horizontal_aperture)}

    present_inst = sorted(int(i) for i in np.unique(instance))
    present_sem = sorted(int(i) for i in np.unique(semantic))
    out["instance_segmentation"] = {
        "data": instance,
        "idToLabels": {str(i): space.instance_label(i) for i in present_inst},
        "idToSemantics": {str(i): {"class": space.class_name(int(space.instance_to_semantic[i]) if i >= 2 else i)}
                          for i in present_inst}}
    out["semantic_segmentation"] = {"data": semantic,
                                    "idToLabels": {str(i): {"class": space.class_name(i)} for i in present_sem},
                                    # every class of the run (parts then defects), as the standalone home
                                    "classes": {str(e.semantic_id): e.name for e in space.class_map.entries},
                                    "classList": space.class_map.to_payload()}
    for name, data in depth.items():
        out[name] = {"data": data}
    if normals is not None:
        out["normals"] = {"data": normals}
    if "camera_params" in frame:
        out["camera_params"] = frame["camera_params"]
    for name in ("bounding_box_2d_tight", "bounding_box_2d_loose", "bounding_box_3d"):
        if name in frame:
            out[name] = _boxes(frame[name], ids, space, instance if maps is not None else None, maps, spec,
                               loose=name.endswith("loose"))
    if defects is not None:
        code, mesh, occurrence = (np.asarray(a)[..., None] for a in defects)
        out.update(defect_annotations(space, code.astype(np.uint8), occurrence.astype(np.uint32), mesh, instance,
                                      spec, pixel_area=frame_pixel_area_mm2(out),
                                      min_instance_pixels=int((extra or {}).get("min_instance_pixels", 16))))
    return out


def _boxes(payload: dict, ids: IdMap, space: LabelSpace, distorted_instance, maps, spec: FrameSpec,
           loose: bool) -> dict:
    rows = np.asarray(payload["data"]).copy()
    paths = list(payload.get("primPaths", []))
    run_ids = [space.instance_id.get(ids.label_path(p), UNLABELLED) for p in paths] if paths else []
    sem_table = ids.semantic(payload.get("idToLabels", {}))
    if len(rows) and not run_ids:  # no prim paths: keep Replicator's order, renumber the classes only
        run_ids = [UNLABELLED] * len(rows)
    if len(rows):
        rows["semanticId"] = [space.instance_to_semantic[i] if i >= 2 else sem_table.get(int(s), UNLABELLED)
                              for i, s in zip(run_ids, rows["semanticId"])]
    keep = [k for k, i in enumerate(run_ids) if i >= 2]
    order = sorted(keep, key=lambda k: run_ids[k])
    rows, run_ids = rows[order], [run_ids[k] for k in order]
    if distorted_instance is not None and "x_min" in rows.dtype.names and not ("z_min" in rows.dtype.names):
        if loose:
            rows = _distort_boxes(rows, spec, distorted_instance.shape)
        else:
            present = {int(i) for i in np.unique(distorted_instance)}
            sel = [k for k, i in enumerate(run_ids) if i in present]
            rows, run_ids = rows[sel], [run_ids[k] for k in sel]
            for k, i in enumerate(run_ids):
                counts, (x0, y0, x1, y1), _ = label_extents((distorted_instance == i).astype(np.uint32), 1)
                rows[k]["x_min"], rows[k]["y_min"], rows[k]["x_max"], rows[k]["y_max"] = x0[0], y0[0], x1[0], y1[0]
    sems = sorted({int(s) for s in rows["semanticId"]}) if len(rows) else []
    return {"data": rows, "idToLabels": {str(s): {"class": space.class_name(s)} for s in sems},
            "bboxIds": np.asarray(run_ids, np.uint32), "primPaths": [space.instance_label(i) for i in run_ids]}


def _distort_boxes(rows: np.ndarray, spec: FrameSpec, shape) -> np.ndarray:
    """Where the outline of each ideal box lands in the distorted image (the same lens model as sensor.py)."""
    import cv2

    h, w = shape
    cam = spec.camera
    f = cam.focal_length / cam.horizontal_aperture * w
    k = np.array([[f, 0, w / 2], [0, f, h / 2], [0, 0, 1]], np.float64)
    out = rows.copy()
    t = np.linspace(0.0, 1.0, 16)
    for r in out:
        x0, y0, x1, y1 = float(r["x_min"]), float(r["y_min"]), float(r["x_max"]), float(r["y_max"])
        xs = np.concatenate([x0 + (x1 - x0) * t, np.full_like(t, x1), x1 - (x1 - x0) * t, np.full_like(t, x0)])
        ys = np.concatenate([np.full_like(t, y0), y0 + (y1 - y0) * t, np.full_like(t, y1), y1 - (y1 - y0) * t])
        norm = np.stack([(xs + 0.5 - w / 2) / f, (ys + 0.5 - h / 2) / f, np.ones_like(xs)], -1)
        px, _ = cv2.projectPoints(norm, np.zeros(3), np.zeros(3), k, np.asarray(spec.sensor.distortion, np.float64))
        px = px[:, 0, :] - 0.5
        r["x_min"], r["y_min"] = np.clip(np.floor(px.min(0)), 0, [w - 1, h - 1]).astype(int)
        r["x_max"], r["y_max"] = np.clip(np.ceil(px.max(0)), 0, [w - 1, h - 1]).astype(int)
    return out
