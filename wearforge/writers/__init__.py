"""Writers: one module per output format, all with Replicator's Writer interface."""

from wearforge.writers.base import FileWriter, Writer, to_annotator_layout
from wearforge.writers.basic import BasicLayoutWriter
from wearforge.writers.coco import CocoWriter
from wearforge.writers.stream import StreamWriter
from wearforge.writers.webdataset import WebDatasetWriter
from wearforge.writers.yolo import YoloWriter

WRITERS = {"basic": BasicLayoutWriter, "coco": CocoWriter, "yolo": YoloWriter, "webdataset": WebDatasetWriter,
           "stream": StreamWriter}

__all__ = ["WRITERS", "BasicLayoutWriter", "CocoWriter", "FileWriter", "StreamWriter", "WebDatasetWriter", "Writer",
           "YoloWriter",
           "to_annotator_layout"]
