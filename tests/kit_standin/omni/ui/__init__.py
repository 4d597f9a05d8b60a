"""Test-only stand-in for the two omni.ui names wearforge's texture binder uses."""

import enum


class TextureFormat(enum.Enum):
    RGBA8_UNORM = 1
    RGBA32_SFLOAT = 2


class DynamicTextureProvider:
    uploads: list[dict] = []

    def __init__(self, name: str):
        self.name = name

    def set_bytes_data_from_gpu(self, gpu_bytes: int, sizes: list, format: TextureFormat = TextureFormat.RGBA8_UNORM,
                                stride: int = -1):
        DynamicTextureProvider.uploads.append({"name": self.name, "ptr": gpu_bytes, "sizes": list(sizes), "format": format})
