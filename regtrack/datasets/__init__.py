"""Datasets described by data (OTB JSON + official annotation files, VOT, UAV123, DTB70, GOT-10k,
LaSOT, any folder of OTB-layout sequences) and frame sources for tracking (video, folder, camera).
Boxes are OTB ``x,y,w,h`` (1-based)."""

from regtrack.datasets.base import Dataset, Sequence, read_boxes
from regtrack.datasets.folders import load_dataset, load_folder_dataset
from regtrack.datasets.otb import load_otb
from regtrack.datasets.sources import FrameSource, open_source, read_image

__all__ = ["Dataset", "FrameSource", "Sequence", "load_dataset", "load_folder_dataset", "load_otb",
           "open_source", "read_boxes", "read_image"]
