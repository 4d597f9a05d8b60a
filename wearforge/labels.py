"""Label formats shared by both homes: Replicator's annotator dtypes and the defect instance rows.

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
