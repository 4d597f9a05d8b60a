"""The core Kit extension: on startup, wearforge's randomizers and writers join Replicator's registries."""

from __future__ import annotations

import omni.ext  # only imported by Kit (listed as a python.module in extension.toml)


class WearforgeExtension(omni.ext.IExt):
    def on_startup(self, ext_id: str) -> None:
        import omni.replicator.core as rep

        from wearforge.kit.randomizers import register_randomizers
        from wearforge.kit.writers import register_writers

        self.randomizers = register_randomizers(rep)
        self.writers = register_writers(rep)

    def on_shutdown(self) -> None:
        self.randomizers, self.writers = [], []
