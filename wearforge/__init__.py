"""wearforge: synthetic inspection data from USD digital twins.

The data flows one way: recipe -> FrameSpec -> backend -> annotations -> writers.
Nothing here imports Kit (omni.*); pxr and mitsuba are imported only by the modules that need them.
"""

__version__ = "0.1.0"

from wearforge.errors import InputError

__all__ = ["InputError", "__version__"]
