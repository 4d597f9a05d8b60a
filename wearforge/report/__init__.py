"""Dataset quality report: information richness, distance to real photos, recipe targets (``wearforge report``)."""

from wearforge.report.build import Options, build_report

__all__ = ["Options", "build_report"]
