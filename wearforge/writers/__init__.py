"""Writers: one module per output format, all with Replicator's Writer interface."""

from wearforge.writers.base import Writer, to_annotator_layout
from wearforge.writers.basic import BasicLayoutWriter

WRITERS = {"basic": BasicLayoutWriter}

__all__ = ["WRITERS", "BasicLayoutWriter", "Writer", "to_annotator_layout"]
