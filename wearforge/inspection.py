"""Machine-vision inspection stations as recipe building blocks: optics, sensors and lighting.

Each function returns plain recipe dictionaries (the ``camera`` section, ``lights`` entries, the
``sensor`` randomizer), so a station is an ordinary recipe and goes through the same validation.
Geometry is in metres (the bundled twins' units); working distances and fields of view are given in mm.

Lighting types (as sold by machine-vision lighting makers):
  ring      LED ring around the lens: bright-field, specular parts show the ring's reflection
  dome      diffuse dome: shadow-free, suppresses texture and glare (curved shiny parts)
  coaxial   light on the optical axis through a beam splitter: flat mirror-like surfaces bright,
            anything that tilts (scratches, dents, pits) dark
  darkfield low-angle bar lights on all four sides: flat surfaces stay dark, edges, scratches and
            raised or sunken features scatter light into the lens
  backlight diffuse panel behind the part: silhouette for gauging
  bar       one bar light at 30 degrees elevation from one side: raking light that shows relief
            (dents, pits, scratches) as light and shade
  ring_bar  the default station: a ring light for even illumination plus one raking bar light. A ring
            alone lights a dent from all sides at once, so the shading of its slopes cancels to first
            order; the bar breaks that symmetry the way a real inspection station's key light does.
"""

from __future__ import annotations

import numpy as np

LIGHTING = ("ring", "dome", "coaxial", "darkfield", "backlight", "bar", "ring_bar")
DEFAULT_LIGHTING = "ring_bar"
OPTICS = ("macro", "telecentric")
# Sensor models (typical data-sheet values of global-shutter machine-vision sensors, e.g. 2/3" 5 MP
# class): full well in electrons (the Poisson shot noise) and read noise as a fraction of full scale.
SENSORS = {
    "mono": {"full_well": 10500.0, "read_noise": 2.4 / 10500.0},
    "color": {"full_well": 10500.0, "read_noise": 2.4 / 10500.0},
}
SENSOR_WIDTH_MM = 8.45  # 2/3" sensor, 2448 px at 3.45 um


def _frame(camera: np.ndarray, target: np.ndarray, up: np.ndarray):
    view = target - camera
    view /= np.linalg.norm(view)
    u = up - view * (up @ view)
    if np.linalg.norm(u) < 1e-6:
        u = np.array([1.0, 0.0, 0.0]) - view * view[0]
    u /= np.linalg.norm(u)
    return view, u, np.cross(view, u)


def camera(target, direction, field_of_view_mm: float, working_distance_mm: float | None = None,
           optics: str = "macro", sensor_width_mm: float = SENSOR_WIDTH_MM) -> dict:
    """A camera looking at ``target`` from ``direction`` (unit vector from target to camera) that sees a
    field ``field_of_view_mm`` wide. Macro: at the working distance (default 2.5x the field). Telecentric
    (constant magnification, no perspective) is approximated by a long lens far away (20x the field),
    which keeps magnification within 1 % over +-1 % of depth: Mitsuba's camera is perspective."""
    if optics not in OPTICS:
        raise ValueError(f"unknown optics {optics!r}; expected one of {list(OPTICS)}")
    target = np.asarray(target, float)
    d = np.asarray(direction, float)
    d /= np.linalg.norm(d)
    wd = (working_distance_mm or 2.5 * field_of_view_mm) if optics == "macro" else 20.0 * field_of_view_mm
    focal = sensor_width_mm * wd / field_of_view_mm
    pos = target + d * wd * 1e-3
    return {"position": [float(v) for v in pos], "look_at": [float(v) for v in target], "focal_length": float(focal),
            "horizontal_aperture": float(sensor_width_mm), "clipping": [max(wd * 1e-3 * 0.05, 1e-4), 10.0]}


def lighting(kind: str, cam: dict, up=(0.0, 0.0, 1.0), intensity: float = 1.0, color_temperature: float = 6500.0) -> list[dict]:
    """Light entries of one lighting type for ``cam`` (a dict from :func:`camera`)."""
    if kind not in LIGHTING:
        raise ValueError(f"unknown lighting {kind!r}; expected one of {list(LIGHTING)}")
    c = np.asarray(cam["position"], float)
    t = np.asarray(cam["look_at"], float)
    wd = float(np.linalg.norm(t - c))
    view, u, v = _frame(c, t, np.asarray(up, float))
    f = lambda x: [float(q) for q in x]  # noqa: E731
    base = {"color_temperature": color_temperature}
    up_v = np.asarray(up, float) / np.linalg.norm(up)
    if kind == "ring_bar":
        return lighting("ring", cam, up, 0.6 * intensity, color_temperature) + \
            [b for b in lighting("bar", cam, up, intensity, color_temperature) if b["name"] != "ambient"]
    if kind == "bar":
        # from the side the camera's image x axis points to, 30 degrees above the part's plane
        side = v - up_v * (v @ up_v)
        side = side / np.linalg.norm(side) if np.linalg.norm(side) > 1e-6 else u
        p = t + side * 0.8 * wd * np.cos(np.radians(30)) + up_v * 0.8 * wd * np.sin(np.radians(30))
        return [{"name": "bar", "type": "rect", "width": 0.15 * wd, "height": 1.2 * wd, "position": f(p),
                 "look_at": f(t), "intensity": 12.0 * intensity, **base},
                {"name": "ambient", "type": "dome", "intensity": 0.05 * intensity}]
    if kind == "ring":
        ring_r, r = 0.45 * wd, 0.03 * wd
        out = []
        for k in range(12):
            a = 2 * np.pi * k / 12
            p = c + 0.05 * wd * view + ring_r * (np.cos(a) * u + np.sin(a) * v)
            out.append({"name": f"ring_{k}", "type": "sphere", "radius": r, "position": f(p),
                        "intensity": 60.0 * intensity, **base})
        return out + [{"name": "ambient", "type": "dome", "intensity": 0.05 * intensity}]
    if kind == "dome":
        return [{"name": "dome", "type": "dome", "intensity": 1.2 * intensity, **base}]
    if kind == "coaxial":
        # behind the camera's centre of projection, facing along the view: reflections off flat faces come
        # back into the lens; a real beam splitter does the same from the side
        p = c - 0.002 * wd * view
        return [{"name": "coaxial", "type": "rect", "width": 0.6 * wd, "height": 0.6 * wd, "position": f(p),
                 "look_at": f(t), "intensity": 8.0 * intensity, **base},
                {"name": "ambient", "type": "dome", "intensity": 0.02 * intensity}]
    if kind == "darkfield":
        out = []
        side = np.cross(up_v, view)
        if np.linalg.norm(side) < 1e-6:
            side = u
        side /= np.linalg.norm(side)
        fwd = np.cross(side, up_v)
        for k, axis in enumerate((side, -side, fwd, -fwd)):
            # 10 degrees above the part's plane, one bar per side
            p = t + axis * 0.6 * wd + up_v * 0.6 * wd * np.tan(np.radians(10.0))
            out.append({"name": f"bar_{k}", "type": "rect", "width": 0.8 * wd, "height": 0.04 * wd, "position": f(p),
                        "look_at": f(t), "intensity": 40.0 * intensity, **base})
        return out + [{"name": "ambient", "type": "dome", "intensity": 0.01 * intensity}]
    # backlight: a panel under the part, facing the camera
    p = t + view * 0.5 * wd
    return [{"name": "backlight", "type": "rect", "width": 3.0 * wd, "height": 3.0 * wd, "position": f(p),
             "look_at": f(c), "intensity": 3.0 * intensity, **base}]


def sensor(kind: str = "color") -> dict:
    """Sensor randomizer values of a sensor model (shot noise from the full well, read noise)."""
    if kind not in SENSORS:
        raise ValueError(f"unknown sensor {kind!r}; expected one of {list(SENSORS)}")
    return dict(SENSORS[kind])


def mm_per_pixel(field_of_view_mm: float, width_px: int) -> float:
    return field_of_view_mm / width_px


def pixels_to_mm(pixels: float, field_of_view_mm: float, width_px: int) -> float:
    """A size on the sensor (pixels) as a size on the part (mm), for defect sizes sampled in pixels."""
    return pixels * mm_per_pixel(field_of_view_mm, width_px)


def _scale_numbers(value, factor: float):
    """Multiply every number in a scalar or distribution ({uniform: [a, b]}, lists...) by ``factor``."""
    if isinstance(value, bool):
        return value
    if isinstance(value, (int, float)):
        return value * factor
    if isinstance(value, list):
        return [_scale_numbers(v, factor) for v in value]
    if isinstance(value, dict):
        return {k: _scale_numbers(v, factor) for k, v in value.items()}
    return value


def expand_station(data: dict) -> dict:
    """A recipe's ``station`` section written out as its camera, lights and sensor, and wear parameters
    given in sensor pixels (``length_px``, ``width_px``...) converted to millimetres at the station's scale.
    Entries the recipe sets itself are kept (the station only fills what is missing)."""
    station = data.get("station")
    if not isinstance(station, dict):
        return data
    out = dict(data)
    fov = float(station.get("field_of_view_mm", 30.0))
    cam = camera(station.get("target", [0.0, 0.0, 0.0]), station.get("direction", [0.0, 0.0, 1.0]), fov,
                 station.get("working_distance_mm"), station.get("optics", "macro"))
    out["camera"] = {**cam, **(data.get("camera") or {})}
    if "lights" not in data:
        out["lights"] = lighting(station.get("lighting", DEFAULT_LIGHTING), out["camera"],
                                 station.get("up", [0.0, 0.0, 1.0]), float(station.get("light_intensity", 1.0)))
    randomizers = dict(data.get("randomizers") or {})
    kind = station.get("sensor", "color")
    randomizers["sensor"] = {**sensor(kind), "mono": kind == "mono", **(randomizers.get("sensor") or {})}
    width_px = int((data.get("render") or {}).get("resolution", [512, 384])[0])
    mm_px = mm_per_pixel(fov, width_px)
    wear = []
    for entry in randomizers.get("wear") or []:
        entry = dict(entry)
        layers = []
        for layer in entry.get("layers") or []:
            layer = dict(layer)
            params = {}
            for name, value in (layer.get("params") or {}).items():
                if isinstance(name, str) and name.endswith("_px"):
                    params[name[:-3]] = _scale_numbers(value, mm_px)
                else:
                    params[name] = value
            layer["params"] = params
            layers.append(layer)
        entry["layers"] = layers
        # at inspection scale the part is larger than the field: place discrete defects where the camera looks
        entry.setdefault("focus", [float(v) for v in station.get("target", [0.0, 0.0, 0.0])])
        entry.setdefault("focus_radius", 0.5 * fov * 1e-3)
        wear.append(entry)
    if wear:
        randomizers["wear"] = wear
    out["randomizers"] = randomizers
    return out
