"""Test-only stand-in for isaacsim.SimulationApp.

Like the real one (``isaacsim/simulation_app/simulation_app.py``, ``SimulationApp.__init__``), creating the app
marks the process as a standalone workflow by setting ``builtins.ISAAC_LAUNCHED_FROM_TERMINAL = False``, which is
what ``omni.replicator.core``'s synchronous ``orchestrator.step`` / ``wait_until_complete`` check; and, as the real
one warns, it records the ``pxr`` / ``omni`` modules imported before it (``loaded_before``), which may not load
correctly once Kit starts (a pip ``warp`` imported first would likewise shadow Kit's ``omni.warp.core``).
"""

import builtins


class SimulationApp:
    instances: list["SimulationApp"] = []

    def __init__(self, launch_config: dict | None = None, experience: str = ""):
        import omni.kit.app

        import sys

        self.loaded_before = sorted(m for m in sys.modules
                                    if (m.startswith("pxr") or m == "warp" or m.startswith("warp."))
                                    or (m.startswith("omni.") and not m.startswith(("omni.kit.app", "omni.kit", "omni.ext"))))
        self.config = dict(launch_config or {})
        builtins.ISAAC_LAUNCHED_FROM_TERMINAL = False
        omni.kit.app.get_app()._running = True
        self.closed = False
        SimulationApp.instances.append(self)

    def update(self) -> None:
        pass

    def close(self) -> None:
        import omni.kit.app

        self.closed = True
        omni.kit.app.get_app()._running = False
        if hasattr(builtins, "ISAAC_LAUNCHED_FROM_TERMINAL"):
            del builtins.ISAAC_LAUNCHED_FROM_TERMINAL
