"""Distances between two sets of image features: KID with its uncertainty, and a real-vs-synthetic classifier.

KID (Binkowski et al., "Demystifying MMD GANs", 2018): the unbiased estimate of the squared maximum
mean discrepancy under the polynomial kernel k(x, y) = (x.y / d + 1)^3, averaged over random subsets;
the spread over subsets is its uncertainty. Features are standardised with the pooled mean and
standard deviation of both sets first, so that every hand-built feature weighs alike.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


def standardise(a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Both sets z-scored with their pooled statistics (constant features dropped)."""
    both = np.concatenate([a, b])
    mean, std = both.mean(0), both.std(0)
    keep = std > 1e-9
    return (a[:, keep] - mean[keep]) / std[keep], (b[:, keep] - mean[keep]) / std[keep]


def _poly(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    return (x @ y.T / x.shape[1] + 1.0) ** 3


def mmd2_unbiased(x: np.ndarray, y: np.ndarray) -> float:
    """Unbiased squared MMD between samples x (m, d) and y (n, d) with the cubic polynomial kernel."""
    m, n = len(x), len(y)
    kxx, kyy, kxy = _poly(x, x), _poly(y, y), _poly(x, y)
    sxx = (kxx.sum() - np.trace(kxx)) / (m * (m - 1))
    syy = (kyy.sum() - np.trace(kyy)) / (n * (n - 1))
    return float(sxx + syy - 2.0 * kxy.mean())


@dataclass
class Kid:
    mean: float
    std: float
    subsets: int
    subset_size: int

    def as_dict(self) -> dict:
        return {"mean": self.mean, "std": self.std, "subsets": self.subsets, "subset_size": self.subset_size}


def kid(real: np.ndarray, synthetic: np.ndarray, subsets: int = 100, subset_size: int = 1000,
        seed: int = 0, standardised: bool = False) -> Kid:
    """KID between two feature sets: mean and standard deviation of MMD^2 over random subsets."""
    if not standardised:
        real, synthetic = standardise(real, synthetic)
    # subsets of half the smaller set (at most subset_size): with all images in every subset the spread would be 0
    m = int(min(subset_size, max(2, min(len(real), len(synthetic)) // 2)))
    if m < 2:
        raise ValueError("KID needs at least 2 images in each set")
    rng = np.random.default_rng(seed)
    values = [mmd2_unbiased(real[rng.choice(len(real), m, replace=False)],
                            synthetic[rng.choice(len(synthetic), m, replace=False)]) for _ in range(subsets)]
    return Kid(float(np.mean(values)), float(np.std(values)), subsets, m)


@dataclass
class ClassifierScore:
    accuracy: float  # balanced accuracy over the folds: 0.5 = indistinguishable
    std: float
    folds: int
    per_fold: list[float]

    def as_dict(self) -> dict:
        return {"balanced_accuracy": self.accuracy, "std": self.std, "folds": self.folds, "per_fold": self.per_fold}


def classifier_accuracy(real: np.ndarray, synthetic: np.ndarray, folds: int = 5, seed: int = 0) -> ClassifierScore:
    """Balanced accuracy of a logistic-regression real-vs-synthetic classifier, stratified k-fold.

    Standardisation is fitted inside each fold (a scikit-learn pipeline), so no test statistics leak.
    """
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import StratifiedKFold, cross_val_score
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    x = np.concatenate([real, synthetic])
    y = np.concatenate([np.ones(len(real), int), np.zeros(len(synthetic), int)])
    k = int(min(folds, len(real), len(synthetic)))
    if k < 2:
        raise ValueError("the classifier needs at least 2 images in each set")
    model = make_pipeline(StandardScaler(), LogisticRegression(C=0.1, class_weight="balanced", max_iter=2000))
    scores = cross_val_score(model, x, y, cv=StratifiedKFold(k, shuffle=True, random_state=seed),
                             scoring="balanced_accuracy")
    return ClassifierScore(float(scores.mean()), float(scores.std()), k, [float(s) for s in scores])


def nearest(real: np.ndarray, synthetic: np.ndarray, k: int = 3, chunk: int = 256) -> tuple[np.ndarray, np.ndarray]:
    """For every real row, the indices and Euclidean distances of its k nearest synthetic rows (chunked)."""
    k = min(k, len(synthetic))
    s2 = (synthetic ** 2).sum(1)
    idx = np.empty((len(real), k), np.int64)
    dist = np.empty((len(real), k))
    for start in range(0, len(real), chunk):
        r = real[start:start + chunk]
        d2 = np.maximum((r ** 2).sum(1)[:, None] + s2[None] - 2.0 * r @ synthetic.T, 0.0)
        part = np.argpartition(d2, k - 1, axis=1)[:, :k]
        order = np.take_along_axis(d2, part, 1).argsort(1)
        part = np.take_along_axis(part, order, 1)
        idx[start:start + chunk] = part
        dist[start:start + chunk] = np.sqrt(np.take_along_axis(d2, part, 1))
    return idx, dist
