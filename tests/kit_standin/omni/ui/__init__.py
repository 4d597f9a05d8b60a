"""Test-only stand-in for omni.ui: the widgets wearforge's panel builds, with models a test can drive, and
the dynamic texture provider the texture binder uploads to.

Widgets record themselves in their enclosing container (``with`` blocks, as in omni.ui), so a test finds a
button by its text (``find(window, Button, "Run")``) and calls ``click()``; value widgets carry a
``SimpleValueModel`` whose ``set_value`` fires the callbacks the view registered.
"""

from __future__ import annotations

import enum

_containers: list = []


class TextureFormat(enum.Enum):
    RGBA8_UNORM = 1
    RGBA32_SFLOAT = 2


class DynamicTextureProvider:
    """Keeps the last upload (device pointer, size, format). ``read()`` (test helper) copies it back through
    Warp, so a caller that let the buffer die reads garbage, as RTX would."""

    uploads: list[dict] = []
    live: dict[str, "DynamicTextureProvider"] = {}

    def __init__(self, name: str):
        self.name = name
        self.last = None
        DynamicTextureProvider.live[name] = self

    def set_bytes_data_from_gpu(self, gpu_bytes: int, sizes: list, format: TextureFormat = TextureFormat.RGBA8_UNORM,
                                stride: int = -1):
        self.last = {"name": self.name, "ptr": gpu_bytes, "sizes": list(sizes), "format": format}
        DynamicTextureProvider.uploads.append(self.last)

    def read(self):
        import numpy as np
        import warp as wp

        w, h = self.last["sizes"]
        float_texels = self.last["format"] is TextureFormat.RGBA32_SFLOAT
        array = wp.array(ptr=self.last["ptr"], dtype=wp.float32 if float_texels else wp.uint8, shape=(h, w, 4),
                         device=wp.get_device())
        data = array.numpy().astype(np.float64)
        return data[..., :3] if float_texels else data[..., :3] / 255.0


class ByteImageProvider:
    def __init__(self):
        self.data, self.sizes = None, None

    def set_bytes_data(self, data, sizes):
        self.data, self.sizes = data, list(sizes)


class SimpleValueModel:
    def __init__(self, value=None):
        self.value = value
        self._changed, self._end = [], []

    def set_value(self, value):
        self.value = value
        for fn in list(self._changed):
            fn(self)

    def end_edit(self):
        for fn in list(self._end):
            fn(self)

    def get_value_as_string(self):
        return "" if self.value is None else str(self.value)

    def get_value_as_float(self):
        return float(self.value or 0.0)

    def get_value_as_int(self):
        return int(self.value or 0)

    def get_value_as_bool(self):
        return bool(self.value)

    as_string = property(get_value_as_string)
    as_float = property(get_value_as_float)
    as_int = property(get_value_as_int)
    as_bool = property(get_value_as_bool)

    def add_value_changed_fn(self, fn):
        self._changed.append(fn)

    def add_end_edit_fn(self, fn):
        self._end.append(fn)


class Widget:
    def __init__(self, *args, **kwargs):
        self.args, self.kwargs = args, kwargs
        self.enabled = kwargs.get("enabled", True)
        self.visible = kwargs.get("visible", True)
        self.children: list = []
        self.model = SimpleValueModel()
        if _containers:
            _containers[-1].children.append(self)

    def destroy(self):
        self.children = []


class Container(Widget):
    def __enter__(self):
        _containers.append(self)
        return self

    def __exit__(self, *exc):
        _containers.pop()
        return False

    def clear(self):
        self.children = []


class VStack(Container):
    pass


class HStack(Container):
    pass


class ScrollingFrame(Container):
    pass


class CollapsableFrame(Container):
    def __init__(self, title: str = "", **kwargs):
        super().__init__(title, **kwargs)
        self.title = title


class Frame(Container):
    pass


class Label(Widget):
    def __init__(self, text: str = "", **kwargs):
        super().__init__(text, **kwargs)
        self.text = text


class Button(Widget):
    def __init__(self, text: str = "", clicked_fn=None, **kwargs):
        super().__init__(text, **kwargs)
        self.text, self.clicked_fn = text, clicked_fn

    def set_clicked_fn(self, fn):
        self.clicked_fn = fn

    def click(self):
        """Test helper: what a mouse click does (nothing while disabled)."""
        if self.enabled and self.clicked_fn is not None:
            self.clicked_fn()


class StringField(Widget):
    pass


class CheckBox(Widget):
    pass


class FloatSlider(Widget):
    pass


class FloatDrag(Widget):
    pass


class IntDrag(Widget):
    pass


class ProgressBar(Widget):
    pass


class ImageWithProvider(Widget):
    pass


class Window:
    windows: list["Window"] = []

    def __init__(self, title: str, width: int = 400, height: int = 600, visible: bool = True, **kwargs):
        self.title, self.visible = title, visible
        self.frame = Frame()
        self.destroyed = False
        Window.windows.append(self)

    def destroy(self):
        self.destroyed = True
        self.frame.clear()
        if self in Window.windows:
            Window.windows.remove(self)


def find(root, kind, text: str | None = None) -> list:
    """Test helper: every widget of ``kind`` under ``root`` (a Window or container), optionally by text."""
    found, todo = [], [root.frame if isinstance(root, Window) else root]
    while todo:
        widget = todo.pop(0)
        if isinstance(widget, kind) and (text is None or getattr(widget, "text", None) == text
                                          or getattr(widget, "title", None) == text):
            found.append(widget)
        todo.extend(widget.children)
    return found
