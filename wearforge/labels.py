"""Label formats shared by both homes: Replicator's annotator dtypes, the defect instance rows and the
run's class and instance ids (LabelSpace).

Ids follow Replicator: 0 = BACKGROUND, 1 = UNLABELLED.
"""

from __future__ import annotations

import numpy as np

BBOX2D_DTYPE = np.dtype([("semanticId", "<u4"), ("x_min", "<i4"), ("y_min", "<i4"), ("x_max", "<i4"),
                         ("y_max", "<i4"), ("occlusionRatio", "<f4")])
BBOX3D_DTYPE = np.dtype([("semanticId", "<u4"), ("x_min", "<f4"), ("y_min", "<f4"), ("z_min", "<f4"),
                         ("x_max", "<f4"), ("y_max", "<f4"), ("z_max", "<f4"), ("transform", "<f4", (4, 4)),
                         ("occlusionRatio", "<f4")])
DEFECT_INSTANCE_DTYPE = np.dtype([("instanceId", "<u4"), ("semanticId", "<u4"), ("partInstanceId", "<u4"),
                                  ("x_min", "<i4"), ("y_min", "<i4"), ("x_max", "<i4"), ("y_max", "<i4"),
                                  ("visiblePixels", "<u4")])
# The same rows with severity measures (what the standalone label pass writes): the surface area the visible
# pixels cover in mm^2 (coverage-weighted pixel footprints) and how many pixels of the same image piece are
# ignored (invisible). Readers take either dtype: they select fields by name.
DEFECT_INSTANCE_FULL_DTYPE = np.dtype(DEFECT_INSTANCE_DTYPE.descr + [("areaMm2", "<f4"), ("ignoredPixels", "<u4")])
BACKGROUND, UNLABELLED = 0, 1
# ignore value of defect class maps in formats with one channel of ids (WebDataset .defects.npy)
IGNORE_ID = 65535


def label_extents(mask: np.ndarray, n: int):
    """For labels 1..n of an id image: pixel counts, inclusive boxes (x0, y0, x1, y1) and one flat pixel index each."""
    ys, xs = np.nonzero(mask)
    ids = mask[ys, xs]
    order = np.argsort(ids, kind="stable")
    ids, ys, xs = ids[order], ys[order], xs[order]
    starts = np.flatnonzero(np.r_[True, ids[1:] != ids[:-1]])
    counts = np.diff(np.r_[starts, len(ids)])
    boxes = (np.minimum.reduceat(xs, starts), np.minimum.reduceat(ys, starts),
             np.maximum.reduceat(xs, starts), np.maximum.reduceat(ys, starts))
    if len(starts) != n:
        raise ValueError(f"expected labels 1..{n} without gaps, found {len(starts)}")
    return counts, boxes, ys[starts] * mask.shape[1] + xs[starts]


class LabelSpace:
    """Stable instance ids for the labelled prims of a twin and semantic ids from the run's class map:
    one map for a whole run, in both homes."""

    def __init__(self, meshes, class_map=None):
        """``meshes``: the twin's MeshGeometry list (wearforge.twin_reader.read_geometry); ``class_map``: the
        run's wearforge.classmap.ClassMap (default: built from the twin's classes)."""
        from wearforge.classmap import DEFECT_CLASSES, DEFECT_IDS, ClassMap

        self.meshes = meshes
        labelled = sorted({(m.label_path, m.semantic_class) for m in meshes if m.label_path})
        self.instance_paths = [p for p, _ in labelled]
        self.instance_class = {p: c for p, c in labelled}
        self.instance_id = {p: i + 2 for i, p in enumerate(self.instance_paths)}
        # defect ids are fixed for the product, part ids follow the class list (recipe output.classes)
        self.class_map = class_map or ClassMap.build({c for _, c in labelled})
        self.class_id = dict(self.class_map.semantic_ids)
        for d in DEFECT_CLASSES:  # every defect has its id even when the run cannot produce it
            self.class_id.setdefault(d, DEFECT_IDS[d])
        self._names = {i: c for c, i in self.class_id.items()}
        self.classes = [e.name for e in self.class_map.entries]
        self.defect_semantic = np.asarray([0] + [self.class_id[d] for d in DEFECT_CLASSES], np.uint32)
        # lookup tables indexed by mesh index + 2 (so -2 = light shape and -1 = miss index them too)
        inst = [UNLABELLED, BACKGROUND] + [self.instance_id.get(m.label_path, UNLABELLED) for m in meshes]
        sem = [UNLABELLED, BACKGROUND] + [self.class_id.get(m.semantic_class, UNLABELLED) if m.label_path else UNLABELLED
                                          for m in meshes]
        self.mesh_to_instance = np.asarray(inst, np.uint32)
        self.mesh_to_semantic = np.asarray(sem, np.uint32)
        self.instance_to_semantic = np.zeros(len(self.instance_paths) + 2, np.uint32)
        self.instance_to_semantic[UNLABELLED] = UNLABELLED
        for p, i in self.instance_id.items():
            self.instance_to_semantic[i] = self.class_id[self.instance_class[p]]

    def class_name(self, semantic_id: int) -> str:
        if semantic_id == BACKGROUND:
            return "BACKGROUND"
        if semantic_id == UNLABELLED:
            return "UNLABELLED"
        return self._names[semantic_id]

    def instance_label(self, instance_id: int) -> str:
        if instance_id == BACKGROUND:
            return "BACKGROUND"
        if instance_id == UNLABELLED:
            return "UNLABELLED"
        return self.instance_paths[instance_id - 2]

