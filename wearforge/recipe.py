"""Recipe models (pydantic v2), YAML loading with ``extends:`` and ``--set`` overrides, friendly errors.

A recipe says which twin to load, which prims are inspected parts, how the camera and lights start,
what to randomize, how to render and where to write. Every field has a description; ``wearforge
validate`` and docs/recipes.md are generated from the same text.
"""

from __future__ import annotations

import copy
import fnmatch
import re
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from wearforge.distributions import Distribution, Name, Scalar, Vec3, ranged
from wearforge.errors import InputError


def _assets_dir() -> Path:
    """Bundled twins, presets and HDRIs: inside the installed package, or at the root of a checkout."""
    installed = Path(__file__).resolve().parent / "usd_assets"
    return installed if installed.is_dir() else Path(__file__).resolve().parent.parent / "usd_assets"


ASSETS_DIR = _assets_dir()
ASSET_PREFIX = "asset:"

# Documented caps (docs/recipes.md): beyond them a run takes minutes per frame or all memory.
MAX_LIGHTS = 64  # lights created per frame
MAX_DEFECTS = 1000  # discrete defects (scratches, dents, oil spots) per layer
MAX_BLUR_PX = 100  # defocus / motion blur kernel radius or length, pixels
MAX_LABEL_BYTES = 16 * 2**30  # label buffers of one frame (pixel count x bytes per pixel)
LABEL_BYTES_PER_PIXEL = 36 + 4 * 33  # uv, position, normal, mesh id, and one mesh id per peel layer
UNIT = ranged(0, 1)
NONNEG = ranged(0)
POSITIVE = ranged(1e-9)


def _world_point(value: list[float]) -> list[float]:
    """A point in world units: within +-1e6 (a kilometre-scale scene in millimetres), so view maths stays finite."""
    if any(abs(v) > 1e6 for v in value):
        raise ValueError("coordinates must lie in [-1e6, 1e6] world units")
    return value


WORLD = AfterValidator(_world_point)


def _check_selector(value: str) -> str:
    """A part selector must compile (a bad [..] range would otherwise fail mid-run)."""
    if "\x00" in value:
        raise ValueError("NUL character in a selector")
    if not value.startswith("class:"):
        _path_regex(value)
    return value


Selector = Annotated[str, AfterValidator(_check_selector)]


def _check_path(value: str) -> str:
    """A file or folder name from a recipe: no NUL, not empty, and 'asset:' names stay in the assets folder."""
    if value is None:
        return value
    if not value.strip():
        raise ValueError("empty path")
    if "\x00" in value:
        raise ValueError("NUL character in a path")
    if len(value) > 4096:
        raise ValueError("path longer than 4096 characters")
    if value.startswith(ASSET_PREFIX):
        asset_path(value[len(ASSET_PREFIX):])
    return value


PathStr = Annotated[str, AfterValidator(_check_path)]


def asset_path(name: str) -> Path:
    """A bundled asset by name; names that would leave usd_assets/ (.., absolute paths) are refused."""
    root = ASSETS_DIR.resolve()
    path = (ASSETS_DIR / name).resolve()
    if not name or Path(name).is_absolute() or (path != root and root not in path.parents):
        raise ValueError(f"asset name {name[:80]!r} leaves the bundled assets folder")
    return ASSETS_DIR / name


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True, validate_default=True, allow_inf_nan=False)


# --------------------------------------------------------------------------------------------- scene
class PartSelector(_Model):
    """Which prims are inspected parts."""

    path: Selector = Field(description="Prim path, or a glob such as /World/Parts/* (* stays in one path segment, ** spans several).")
    semantic_class: str | None = Field(
        default=None,
        alias="class",
        description="Semantic class for the matched parts; default: the prim's own USD semantic label.",
    )


class Distractors(_Model):
    """Extra objects (bolts, nuts, washers, cable ties...) scattered with the parts."""

    asset: PathStr = Field(description="USD file of the object (relative to the recipe) or 'asset:NAME'.")
    max_count: int = Field(default=4, ge=1, le=100, description="Instances added to the scene.")
    count: Annotated[Scalar | None, ranged(0, 100)] = Field(default=None, description="Instances shown per frame (rounded; default all).")
    semantic_class: str | None = Field(default=None, alias="class",
                                       description="Label, e.g. 'distractor'; default: the asset's own class.")


class Background(_Model):
    """A support drawn per frame in place of the twin's support (``scene.support``)."""

    usd: PathStr = Field(description="USD file of the support (relative to the recipe) or 'asset:NAME' "
                                     "(bundled: table, conveyor_belt, workbench, tote).")
    weight: float = Field(default=1.0, ge=0, le=1e6, description="Relative weight of this background in the per-frame "
                                                                  "draw (>= 0; the weights must not all be 0).")
    hide: list[str] = Field(default_factory=list, max_length=64,
                            description="Prim paths of the twin hidden while this background is shown (fixtures "
                                        "that do not fit on it, e.g. a bin wider than a conveyor belt); not parts.")


class SceneConfig(_Model):
    """The digital twin."""

    usd: PathStr = Field(
        description="USD file of the twin, relative to the recipe, or 'asset:NAME' for a bundled twin "
                    "(inspection_cell; conveyor_cell, workbench_cell and tote_cell put a textured conveyor belt, "
                    "beech workbench or blue tote at /World/Table instead of the table; to vary it per frame, "
                    "see scene.backgrounds)."
    )
    parts: list[PartSelector] = Field(
        default_factory=list,
        description="Inspected parts. Empty: every prim that carries a semantic class label, except the support.",
    )
    support: str | None = Field(
        default=None, description="Prim path of the support surface (table, conveyor, bin floor)."
    )
    distractors: list[Distractors] = Field(
        default_factory=list, description="Objects added under <defaultPrim>/Distractors (needs a scatter randomizer).")
    backgrounds: list[Background] | None = Field(
        default=None, min_length=1, max_length=32,
        description="Supports to draw one of per frame (weighted): each is loaded once per run under "
                    "<defaultPrim>/Backgrounds with the support's transform, the twin's support prim is "
                    "deactivated, and each frame shows only the drawn one. Needs scene.support; a scatter on "
                    "scene.support lands on the drawn background. Backgrounds carry no labels "
                    "(UNLABELLED pixels, no instances).")

    @model_validator(mode="after")
    def _backgrounds(self) -> "SceneConfig":
        if self.backgrounds is not None:
            if not self.support:
                raise ValueError("scene.backgrounds replaces the support: set scene.support to its prim path")
            if sum(b.weight for b in self.backgrounds) <= 0:
                raise ValueError("scene.backgrounds: the weights must not all be 0")
        return self


# -------------------------------------------------------------------------------- camera and lights
class CameraConfig(_Model):
    """The camera before randomization."""

    prim: str | None = Field(
        default=None,
        description="A UsdGeom.Camera in the twin to use (e.g. an inspection-cell camera). "
        "Default: wearforge creates /wearforge/Camera on the session layer.",
    )
    position: Annotated[list[float], WORLD] = Field(default=[1.0, -1.0, 1.0], min_length=3, max_length=3,
                                                    description="Camera position in world units (each within +-1e6).")
    look_at: Annotated[list[float], WORLD] = Field(default=[0.0, 0.0, 0.0], min_length=3, max_length=3,
                                 description="Point the camera looks at.")
    focal_length: float = Field(default=24.0, gt=0, le=10000, description="Focal length in millimetres.")
    horizontal_aperture: float = Field(default=20.955, gt=0, le=1000, description="Film width in millimetres.")
    clipping: tuple[float, float] = Field(default=(0.01, 1000.0), description="Near and far clip, world units.")
    f_stop: float = Field(default=0.0, ge=0, le=1024, description="Aperture f-number; 0 = pinhole (no depth of field).")
    focus_distance: float = Field(default=0.0, ge=0, description="Focus distance in world units (thin lens).")

    @field_validator("clipping")
    @classmethod
    def _clip_order(cls, v: tuple[float, float]) -> tuple[float, float]:
        if not 0 < v[0] < v[1]:
            raise ValueError(f"expected 0 < near < far, got {list(v)}")
        return v


LightType = Literal["distant", "sphere", "rect", "disk", "dome"]
LIGHT_TYPES = ("distant", "sphere", "rect", "disk", "dome")


class LightConfig(_Model):
    """A light created by the recipe (on the session layer, not in the user's file)."""

    name: str = Field(pattern=r"^[A-Za-z_][A-Za-z0-9_]*$", description="Prim name under /wearforge/Lights.")
    type: LightType = Field(description="UsdLux light type.")
    intensity: float = Field(ge=0, le=1e9, description="UsdLux inputs:intensity.")
    exposure: float = Field(default=0.0, ge=-60, le=60, description="UsdLux inputs:exposure (power of two).")
    color: list[Annotated[float, Field(ge=0, le=1000)]] = Field(default=[1.0, 1.0, 1.0], min_length=3, max_length=3,
                                                                description="Linear RGB, each in [0, 1000].")
    color_temperature: float | None = Field(
        default=None, ge=1000, le=40000, description="Kelvin; enables UsdLux color temperature when set."
    )
    position: list[float] = Field(default=[0.0, 0.0, 2.0], min_length=3, max_length=3,
                                  description="Position (ignored by distant and dome lights).")
    look_at: Annotated[list[float], WORLD] = Field(default=[0.0, 0.0, 0.0], min_length=3, max_length=3,
                                 description="Point the light faces (distant, rect, disk).")
    radius: float = Field(default=0.1, gt=0, description="Sphere/disk radius in world units.")
    width: float = Field(default=0.5, gt=0, description="Rect light width.")
    height: float = Field(default=0.5, gt=0, description="Rect light height.")
    angle: float = Field(default=0.53, ge=0, le=180, description="Distant light angular diameter, degrees.")
    texture: PathStr | None = Field(default=None, description="Dome light lat-long image (relative to the recipe).")


# --------------------------------------------------------------------------------------- randomizers
class Orbit(_Model):
    """Spherical placement around a target (z or y up, as the stage says)."""

    target: Vec3 = Field(default=[0.0, 0.0, 0.0], description="Point orbited and looked at.")
    distance: Annotated[Scalar, POSITIVE] = Field(description="Distance from the target, world units.")
    azimuth: Scalar = Field(default=0.0, description="Degrees around the up axis.")
    elevation: Annotated[Scalar, ranged(-90, 90)] = Field(default=30.0, description="Degrees above the horizontal plane.")


class MaterialRandomizer(_Model):
    """Clean material of matching parts (UsdPreviewSurface inputs; a part without any material gets a
    UsdPreviewSurface of its own, bound on wearforge's layer, in both homes)."""

    parts: Selector = Field(default="**", description="Prim-path glob over parts (** = all), or 'class:NAME'.")
    preset: Name | None = Field(default=None, description="Name(s) from the material library (usd_assets/materials.yaml).")
    base_color: Annotated[Vec3 | None, UNIT] = Field(default=None, description="Linear RGB diffuseColor.")
    metallic: Annotated[Scalar | None, UNIT] = Field(default=None, description="0 dielectric .. 1 metal.")
    roughness: Annotated[Scalar | None, UNIT] = Field(default=None, description="Perceptual roughness 0..1.")
    ior: Annotated[Scalar | None, ranged(1, 5)] = Field(default=None, description="Index of refraction (specular level).")
    clearcoat: Annotated[Scalar | None, UNIT] = Field(default=None, description="Clear-coat weight 0..1.")
    clearcoat_roughness: Annotated[Scalar | None, UNIT] = Field(default=None, description="Clear-coat roughness 0..1.")
    finish: Name | None = Field(default=None, description="Surface finish grown into the wear stack of parts with a "
                                "wear entry (brushed, turned, milled, cast, forged, orange_peel, powder_coat, "
                                "plastic_grain, none); default: the preset's. Never labelled as a defect.")

    @field_validator("preset")
    @classmethod
    def _known_preset(cls, v):
        if v is not None:
            known = preset_names()
            unknown = sorted({name for name in _names(v) if name not in known})
            if unknown:
                raise ValueError(f"unknown material preset(s) {unknown}; the library has {sorted(known)}")
        return v


class LightRandomizer(_Model):
    """Per-frame values of existing lights (``light``), or new lights each frame (``count`` and ``type``)."""

    light: str | None = Field(default=None, description="Recipe light name, or prim path / glob of UsdLux lights in "
                                                        "the twin. Leave out to create ``count`` new lights per frame.")
    count: Annotated[Scalar | None, ranged(0, MAX_LIGHTS)] = Field(
        default=None, description="New lights per frame (rounded; without ``light``).")
    type: Name | None = Field(default=None, description="Type of each new light: distant, sphere, rect, disk, dome.")
    look_at: Vec3 | None = Field(default=None, description="Point new lights face (default: the orbit target or origin).")
    radius: Annotated[Scalar | None, POSITIVE] = Field(default=None, description="Sphere/disk radius.")
    width: Annotated[Scalar | None, POSITIVE] = Field(default=None, description="Rect width.")
    height: Annotated[Scalar | None, POSITIVE] = Field(default=None, description="Rect height.")
    texture: Name | None = Field(default=None, description="Dome lat-long image(s), relative to the recipe "
                                                            "(asset:hdri/NAME for the bundled ones).")
    texture_folder: PathStr | None = Field(default=None, description="Pick a dome image from this folder each frame.")
    intensity: Annotated[Scalar | None, ranged(0, 1e9)] = Field(default=None, description="inputs:intensity.")
    exposure: Annotated[Scalar | None, ranged(-60, 60)] = Field(default=None, description="inputs:exposure.")
    color_temperature: Annotated[Scalar | None, ranged(1000, 40000)] = Field(default=None, description="Kelvin.")
    color: Annotated[Vec3 | None, ranged(0, 1000)] = Field(default=None, description="Linear RGB.")
    position: Vec3 | None = Field(default=None, description="World position (exclusive with orbit).")
    orbit: Orbit | None = Field(default=None, description="Place on an orbit looking at its target.")

    @model_validator(mode="after")
    def _exclusive(self) -> "LightRandomizer":
        if self.position is not None and self.orbit is not None:
            raise ValueError("position and orbit are exclusive")
        if self.light is None and self.type is None:
            raise ValueError("give either 'light' (lights to change) or 'type' (lights to create)")
        if self.light is not None and (self.count is not None or self.type is not None):
            raise ValueError("'count' and 'type' create new lights; they do not go with 'light'")
        if self.texture is not None and self.texture_folder is not None:
            raise ValueError("texture and texture_folder are exclusive")
        for name in _names(self.texture) if self.texture is not None else []:
            _check_path(name)
        if self.type is not None:
            unknown = sorted({t for t in _names(self.type) if t not in LIGHT_TYPES})
            if unknown:
                raise ValueError(f"unknown light type(s) {unknown}; expected some of {list(LIGHT_TYPES)}")
        return self


class Scatter(_Model):
    """Place parts on a support surface (Z-up or Y-up stages) without interpenetration, yaw drawn uniformly
    about the up axis. Lengths are metres, whatever the stage's unit."""

    surface: str = Field(description="Prim path of the support (its meshes are ray-cast from above).")
    margin: float = Field(default=0.01, ge=0, description="Keep parts this far inside the surface's edges, metres.")
    gap: float = Field(default=0.005, ge=0, description="Minimum clearance between parts' footprints, metres.")
    drop_height: float = Field(default=0.0, ge=0, description="Lift above the surface, metres (a settle step drops them).")
    flatness: float = Field(default=0.002, ge=0, description="Largest height change allowed under a footprint, metres.")
    attempts: int = Field(default=200, ge=1, le=10000, description="Tries per part before it is hidden for the frame.")


class PoseRandomizer(_Model):
    """Pose of matching parts, in their parent's frame."""

    parts: Selector = Field(default="**", description="Prim-path glob over parts (** = all), or 'class:NAME'.")
    position: Vec3 | None = Field(default=None, description="Translation.")
    rotation: Vec3 | None = Field(default=None, description="XYZ Euler angles, degrees.")
    scale: Annotated[Vec3 | None, ranged(-1000, 1000, nonzero=True)] = Field(default=None, description="Per-axis scale.")
    visible: Annotated[Scalar | None, UNIT] = Field(default=None, description="Probability in [0, 1] that the part is shown.")
    scatter: Scatter | None = Field(default=None, description="Scatter the parts on a support surface.")


class CameraRandomizer(_Model):
    """Per-frame camera values."""

    prim: Name | None = Field(default=None, description="Pick one of the twin's cameras (prim paths) per frame.")
    resolution: Distribution | None = Field(default=None,
                                            description="Output size [w, h] per frame, e.g. {choice: [[640, 480], [512, 512]]}.")
    orbit: Orbit | None = Field(default=None, description="Orbit around a target with look-at.")
    position: Vec3 | None = Field(default=None, description="World position (exclusive with orbit).")
    look_at: Vec3 | None = Field(default=None, description="Look-at point (default: orbit target or base).")
    roll: Scalar | None = Field(default=None, description="Roll about the view axis, degrees.")
    focal_length: Annotated[Scalar | None, ranged(0.1, 10000)] = Field(default=None, description="Millimetres.")
    f_stop: Annotated[Scalar | None, ranged(0, 1024)] = Field(default=None, description="f-number; 0 = pinhole.")
    focus_distance: Annotated[Scalar | None, NONNEG] = Field(default=None, description="World units.")

    @model_validator(mode="after")
    def _exclusive(self) -> "CameraRandomizer":
        if self.position is not None and self.orbit is not None:
            raise ValueError("position and orbit are exclusive")
        if self.resolution is not None:
            if self.resolution.dim() != 2:
                raise ValueError("resolution: expected [width, height] pairs")
            from wearforge.distributions import support

            bounds = support(self.resolution)
            if bounds is not None:
                check_resolution((bounds[1][0], bounds[1][1]))
                if bounds[0].min() < 1:
                    raise ValueError("resolution: width and height must be >= 1")
        return self


class PhysicsRandomizer(_Model):
    """UsdPhysics attributes of matching parts (read by PhysX in Isaac Sim)."""

    parts: Selector = Field(default="**", description="Prim-path glob over parts (** = all), or 'class:NAME'.")
    mass: Annotated[Scalar | None, POSITIVE] = Field(default=None, description="physics:mass, kg (exclusive with density).")
    density: Annotated[Scalar | None, POSITIVE] = Field(default=None, description="physics:density, kg/m^3.")
    static_friction: Annotated[Scalar | None, ranged(0, 10)] = Field(default=None, description="physics:staticFriction.")
    dynamic_friction: Annotated[Scalar | None, ranged(0, 10)] = Field(default=None, description="physics:dynamicFriction.")
    restitution: Annotated[Scalar | None, UNIT] = Field(default=None, description="physics:restitution 0..1.")

    @model_validator(mode="after")
    def _exclusive(self) -> "PhysicsRandomizer":
        if self.mass is not None and self.density is not None:
            raise ValueError("mass and density are exclusive (as in rep.physics.mass)")
        return self


DefectType = Literal[
    "rust", "pitting", "scratches", "edge_wear", "dirt", "dust", "oil", "dents", "cracks", "discoloration"
]


class WearLayer(_Model):
    """One defect layer; layers compose in list order (later ones on top)."""

    type: DefectType = Field(description="Defect type.")
    probability: float = Field(default=1.0, ge=0, le=1, description="Chance the layer appears on a part.")
    params: dict[str, Scalar] = Field(default_factory=dict,
                                      description="Kernel parameters (per defect type, see docs/wear.md).")

    @model_validator(mode="after")
    def _known_params(self) -> "WearLayer":
        from wearforge.wear.defects import param_names  # imports Warp; only recipes with wear pay for it

        known = param_names(self.type)
        unknown = sorted(set(self.params) - set(known))
        if unknown:
            raise ValueError(f"unknown {self.type} parameter(s) {unknown}; expected some of {known}")
        for name, dist in self.params.items():
            try:
                self.params[name] = wear_param_range(name)(dist)
            except ValueError as exc:
                raise ValueError(f"params.{name}: {exc}") from None
        return self


# Wear parameters by name: fractions in [0, 1], counts capped, every other one a non-negative size.
_WEAR_FRACTIONS = {"coverage", "amount", "probability", "darkness", "strength", "breakup", "edge_bias", "facing",
                   "roughness"}


def wear_param_range(name: str):
    """The documented range of a wear parameter (docs/wear.md)."""
    from wearforge.distributions import Range

    if name == "count":
        return Range(0, MAX_DEFECTS)
    if name in _WEAR_FRACTIONS:
        return Range(0, 1)
    if name == "spread":
        return Range(0, 180)
    return Range(0, 1e3)


class WearRandomizer(_Model):
    """Procedural wear texture stacks for matching parts."""

    parts: Selector = Field(default="**", description="Prim-path glob over parts (** = all), or 'class:NAME'.")
    resolution: int = Field(default=1024, ge=16, le=8192,
                            description="Texture size in texels (square); with texels_per_pixel, the largest size.")
    texels_per_pixel: float = Field(default=2.0, ge=0, le=64,
                                    description="Follow the part's size on screen: about this many texels per pixel "
                                                "of the mesh's on-screen extent, rounded up to a power of two (at "
                                                "least 64), never above resolution; 0 = always resolution. Labels "
                                                "stay exact: they are read from the stack that was rendered.")
    layers: list[WearLayer] = Field(default_factory=list, description="Defect layers, bottom to top.")
    focus: list[float] | None = Field(default=None, min_length=3, max_length=3,
                                      description="World point that discrete defects (scratches, pits' clusters "
                                      "aside, dents, oil, cracks, heat sources, fingerprints) are placed around, "
                                      "e.g. an inspection camera's field; default: anywhere on the part.")
    focus_radius: float = Field(default=0.02, gt=0, description="Distance from focus, world units.")


class SensorRandomizer(_Model):
    """Camera-sensor effects. Photometric ones change rgb only; lens distortion warps rgb and every label."""

    exposure: Annotated[Scalar | None, ranged(-20, 20)] = Field(default=None, description="Exposure compensation, EV (stops).")
    gain: Annotated[Scalar | None, ranged(0, 1000)] = Field(default=None, description="Linear gain after exposure.")
    full_well: Annotated[Scalar | None, ranged(1, 1e7)] = Field(
        default=None, description="Photo-electrons at white; Poisson shot noise (lower = noisier)."
    )
    read_noise: Annotated[Scalar | None, UNIT] = Field(default=None, description="Gaussian read noise std, in linear [0, 1] units.")
    vignetting: Annotated[Scalar | None, UNIT] = Field(default=None, description="Corner darkening 0..1 (cos^4-like falloff).")
    jpeg_quality: Annotated[Scalar | None, ranged(1, 100)] = Field(default=None, description="Re-compress rgb as JPEG at this quality 1..100.")
    mono: bool = Field(default=False, description="Monochrome sensor: rgb holds the luminance in all channels.")
    defocus_blur: Annotated[Scalar | None, ranged(0, MAX_BLUR_PX)] = Field(default=None, description="Disk blur radius in pixels (photometric).")
    motion_blur: Annotated[Scalar | None, ranged(0, MAX_BLUR_PX)] = Field(default=None, description="Linear motion-blur length in pixels (photometric).")
    motion_angle: Scalar | None = Field(default=None, description="Motion-blur direction, degrees from +x.")
    chromatic_aberration: Annotated[Scalar | None, ranged(-0.2, 0.2)] = Field(
        default=None, description="Lateral chromatic aberration: red scaled by 1+a, blue by 1-a about the centre.")
    k1: Annotated[Scalar | None, ranged(-10, 10)] = Field(default=None, description="Brown-Conrady radial distortion k1 (<0 barrel, >0 pincushion).")
    k2: Annotated[Scalar | None, ranged(-10, 10)] = Field(default=None, description="Radial distortion k2.")
    k3: Annotated[Scalar | None, ranged(-10, 10)] = Field(default=None, description="Radial distortion k3.")
    p1: Annotated[Scalar | None, ranged(-1, 1)] = Field(default=None, description="Tangential distortion p1.")
    p2: Annotated[Scalar | None, ranged(-1, 1)] = Field(default=None, description="Tangential distortion p2.")


class Station(_Model):
    """A machine-vision inspection station (wearforge.inspection): fills the camera, lights and sensor, and
    lets wear parameters be given in sensor pixels (``length_px: {uniform: [20, 200]}``)."""

    target: list[float] = Field(default=[0.0, 0.0, 0.0], min_length=3, max_length=3,
                                description="Point inspected, world units.")
    direction: list[float] = Field(default=[0.0, 0.0, 1.0], min_length=3, max_length=3,
                                   description="From the target towards the camera.")
    up: list[float] = Field(default=[0.0, 0.0, 1.0], min_length=3, max_length=3, description="World up.")
    field_of_view_mm: float = Field(default=30.0, gt=0, description="Width of the field seen on the part, mm.")
    working_distance_mm: float | None = Field(default=None, gt=0,
                                              description="Lens to part, mm (macro; default 2.5 fields).")
    optics: Literal["macro", "telecentric"] = Field(default="macro", description="Lens type.")
    lighting: Literal["ring", "dome", "coaxial", "darkfield", "backlight", "bar", "ring_bar"] = Field(
        default="ring_bar", description="Lighting type (machine-vision lights).")
    light_intensity: float = Field(default=1.0, gt=0, description="Scale on the lighting preset's intensities.")
    sensor: Literal["mono", "color"] = Field(default="color", description="Sensor model (noise; mono = grey).")


class Settle(_Model):
    """Drop the (scattered) parts and simulate them with Newton until they rest; rest poses go into the FrameSpec."""

    duration: float = Field(default=3.0, gt=0, le=60, description="Longest simulated time, seconds.")
    dt: float = Field(default=1.0 / 480.0, gt=0, le=0.05, description="Time step, seconds (small enough that thin parts do not tunnel).")
    iterations: int = Field(default=10, ge=1, le=200, description="XPBD solver iterations per step.")
    rest_speed: float = Field(default=0.005, gt=0, le=100, description="At rest below this speed (m/s, rad/s).")
    rest_time: float = Field(default=0.25, ge=0, le=60, description="Seconds every part must stay at rest.")
    contact_gap: float = Field(default=0.01, ge=0, description="Speculative contact distance (stops thin parts "
                                                                 "tunnelling through colliders), world units.")
    device: Literal["auto", "cpu", "cuda"] = Field(default="auto", description="Warp device for Newton.")


class Randomizers(_Model):
    """Everything drawn per frame, one section per randomizer."""

    materials: list[MaterialRandomizer] = Field(default_factory=list, description="Material randomizers.")
    lights: list[LightRandomizer] = Field(default_factory=list, description="Light randomizers.")
    poses: list[PoseRandomizer] = Field(default_factory=list, description="Pose randomizers.")
    camera: CameraRandomizer | None = Field(default=None, description="Camera randomizer.")
    physics: list[PhysicsRandomizer] = Field(default_factory=list, description="Physics randomizers.")
    wear: list[WearRandomizer] = Field(default_factory=list, description="Wear and defect randomizers.")
    sensor: SensorRandomizer | None = Field(default=None, description="Sensor randomizer.")
    settle: Settle | None = Field(default=None, description="Physics settle step (standalone, Newton).")


# ------------------------------------------------------------------------------------ defect labels
class LabelConfig(_Model):
    """How defect labels follow what the camera sees (standalone renderer; see docs/wear.md)."""

    visibility: bool = Field(default=True, description="Decide per pixel whether wear is visible (a paired pass with "
                             "and without wear); off: every defect texel a pixel sees is labelled.")
    visible_delta_e: float = Field(default=2.0, ge=0, description="CIEDE2000 difference between the frame with and "
                                   "without wear at or above which a pixel's change counts as visible (about 2 = "
                                   "just noticeable). Visible defect pixels are labelled; defect pixels below it and "
                                   "visible changes on a worn surface outside every defect mask become ignore regions.")
    label_margin: float = Field(default=0.5, ge=0, description="A defect pixel is labelled when both visibility "
                                "estimates reach visible_delta_e plus this margin (colour differences of noisy "
                                "low-spp pairs are biased upwards); between the two it is ignored.")
    visibility_spp: int = Field(default=16, ge=2, le=4096, description="Samples per pixel of the visibility estimate "
                                "(independent of render.spp): two independent pairs of renders with and without wear at half "
                                "of it each; a pixel is labelled when both pairs see the change, ignored when one does.")
    supersampling: int = Field(default=4, ge=1, le=8, description="Label rays per pixel side for defect coverage "
                               "(k x k per pixel): 4 keeps lines down to 0.25 px wide continuous.")
    min_instance_pixels: int = Field(default=16, ge=1, description="Defect instances with fewer visible pixels become "
                                     "ignore regions, not annotations (16 px = 4 x 4, about the smallest object a "
                                     "stride-8 detector head localises).")


# ------------------------------------------------------------------------------------ render, output
class RenderConfig(_Model):
    """How frames are rendered."""

    backend: Literal["mitsuba"] = Field(default="mitsuba", description="Standalone renderer.")
    resolution: tuple[int, int] = Field(default=(512, 384), description="Width and height in pixels.")
    spp: int = Field(default=32, ge=1, le=65536, description="Samples per pixel of the beauty pass.")
    max_depth: int = Field(default=6, ge=1, le=64, description="Path length (bounces + 1).")
    variant: Literal["auto", "cuda", "llvm", "scalar"] = Field(
        default="auto", description="Mitsuba variant family; auto picks CUDA, then LLVM, then scalar."
    )
    exposure: float = Field(default=0.0, ge=-20, le=20, description="Camera exposure compensation, EV, for the whole run.")
    denoise: bool = Field(default=False, description="Denoise the RGB with Intel Open Image Denoise (pyoidn), guided "
                                                     "by albedo and normal AOVs: fewer spp for the same quality "
                                                     "(see docs/benchmarks.md). Labels are unaffected.")
    overlap_wear: bool = Field(default=True, description="Grow the next frame's wear textures on a background thread "
                                                         "while the current frame renders. The dataset's bytes are "
                                                         "the same either way; off runs one step after the other.")

    @field_validator("resolution")
    @classmethod
    def _res(cls, v: tuple[int, int]) -> tuple[int, int]:
        if not (1 <= v[0] <= 16384 and 1 <= v[1] <= 16384):
            raise ValueError(f"expected width and height in 1..16384, got {list(v)}")
        check_resolution(v)
        return v


def check_resolution(size) -> None:
    """Refuse image sizes whose label buffers alone would not fit in memory."""
    need = float(size[0]) * float(size[1]) * LABEL_BYTES_PER_PIXEL
    if need > MAX_LABEL_BYTES:
        raise ValueError(f"{int(size[0])}x{int(size[1])} px needs about {need / 2**30:.0f} GiB for the label buffers "
                         f"of one frame (cap {MAX_LABEL_BYTES // 2**30} GiB); render smaller images")


WriterName = Literal["basic", "coco", "yolo", "webdataset", "stream"]


class CocoOptions(_Model):
    """COCO writer (output.dir/coco)."""

    categories: Literal["parts", "defects", "both"] = Field(default="both", description="Which objects become annotations.")
    skip_classes: list[str] = Field(default=["table", "bin"], description="Classes left out (e.g. fixtures).")


class YoloOptions(_Model):
    """YOLO writer (output.dir/yolo, Ultralytics layout)."""

    task: Literal["detect", "segment"] = Field(default="detect", description="Boxes, or polygons traced from masks.")
    objects: Literal["parts", "defects", "both"] = Field(default="both", description="Which objects get labels.")
    val_fraction: float = Field(default=0.2, ge=0, le=1, description="Share of frames in the val split.")
    skip_classes: list[str] = Field(default=["table", "bin"], description="Classes left out.")


class WebDatasetOptions(_Model):
    """WebDataset writer (output.dir/webdataset)."""

    shard_size: int = Field(default=256, ge=1, le=1_000_000, description="Samples per tar shard.")


class StreamOptions(_Model):
    """Live stream to a training process (consumer: wearforge.stream.FrameStream)."""

    endpoint: str = Field(default="tcp://127.0.0.1:5557", description="ZeroMQ endpoint the producer binds.")
    queue: int = Field(default=8, ge=1, le=10_000, description="Frames kept until acknowledged; generation waits beyond.")
    wait_timeout: float = Field(default=600.0, gt=0, le=604800, description="Seconds to wait for a consumer before failing.")
    allow_remote: bool = Field(default=False, description="Allow an endpoint beyond this machine (e.g. tcp://*:5557); "
                                                          "a warning is printed, and a shared secret is advised.")
    secret_env: str = Field(default="WEARFORGE_STREAM_SECRET", pattern=r"^[A-Za-z_][A-Za-z0-9_]*$",
                            description="Environment variable holding a shared secret; when it is set, only "
                                        "consumers that send it are served.")
    heartbeat: float = Field(default=1.0, ge=0.05, le=60, description="Seconds between heartbeats to the consumer.")

    @field_validator("endpoint")
    @classmethod
    def _endpoint(cls, v: str) -> str:
        if not re.fullmatch(r"(tcp://[^\s:]+:\d{1,5}|ipc://\S+|inproc://\S+)", v):
            raise ValueError("expected tcp://HOST:PORT, ipc://PATH or inproc://NAME")
        return v

    @model_validator(mode="after")
    def _loopback(self) -> "StreamOptions":
        if not self.allow_remote and not is_local_endpoint(self.endpoint):
            raise ValueError(f"endpoint {self.endpoint} accepts connections from other machines; use "
                             "tcp://127.0.0.1:PORT, or set output.stream.allow_remote=true (and a shared secret)")
        return self


def is_local_endpoint(endpoint: str) -> bool:
    """True for endpoints only this machine can reach (loopback TCP, ipc, inproc)."""
    if not endpoint.startswith("tcp://"):
        return True
    host = endpoint[6:].rsplit(":", 1)[0].strip("[]")
    return host in ("localhost", "::1") or host.startswith("127.")


class OutputConfig(_Model):
    """Where and how frames are written."""

    dir: PathStr = Field(default="out/dataset", description="Output directory, relative to the working directory.")
    writers: list[WriterName] = Field(default=["basic"], min_length=1,
                                      description="Writers to run: basic (at dir), coco, yolo, webdataset (subfolders), "
                                                  "stream (live, to a consumer).")
    contact_sheet: int = Field(default=8, ge=0, le=64, description="Frames in contact_sheet.png; 0 = none.")
    overwrite: bool = Field(default=False, description="Start over in a folder that holds another recipe's frames.")
    allow_empty: bool = Field(default=False, description="Accept a run that labels no part (no parts, parts "
                              "without meshes, wear that binds to nothing, or no part ever in view); "
                              "otherwise such a run is an error (exit status 2).")
    shard_frames: int = Field(default=8, ge=1, le=100_000,
                              description="Consecutive frames per shard, the unit of work a worker renders and commits "
                                          "atomically; independent of the worker count (keep it for a folder's "
                                          "lifetime: resuming needs the same value).")
    classes: list[str] | None = Field(default=None, description="Pinned class list (defect and part names) shared by "
                                      "every writer: COCO category ids and YOLO indices follow its order, so datasets "
                                      "made with the same list concatenate without remapping. Default: the defect "
                                      "classes the wear layers can produce, then the twin's part classes, sorted.")
    coco: CocoOptions = Field(default_factory=CocoOptions, description="COCO options.")
    yolo: YoloOptions = Field(default_factory=YoloOptions, description="YOLO options.")
    webdataset: WebDatasetOptions = Field(default_factory=WebDatasetOptions, description="WebDataset options.")
    stream: StreamOptions = Field(default_factory=StreamOptions, description="Live stream options.")


# ------------------------------------------------------------------------------------ targets, focus
class Target(_Model):
    """How many instances of one class the dataset must hold, and which of them count."""

    cls: str = Field(alias="class", description="Defect class (rust, scratches, ...) or part class (gear, ...).")
    count: int = Field(ge=1, description="Instances needed over the whole dataset.")
    pixels: tuple[float, float] | None = Field(
        default=None, description="Visible size range [min, max] in pixels; instances outside it do not count.")
    mm2: tuple[float, float] | None = Field(
        default=None, description="Visible surface area range [min, max] in mm²; instances outside it do not count.")
    min_visibility: float = Field(
        default=0.0, ge=0, le=1,
        description="Least visible share: labelled / (labelled + ignored) pixels for defects, 1 - occlusion for parts.")


class Targets(_Model):
    """Dataset targets: `wearforge report` measures them; generate may render extra frames to meet them."""

    instances: list[Target] = Field(default_factory=list, description="Per-class instance targets.")
    frame_budget: int = Field(
        default=0, ge=0, le=1_000_000,
        description="Extra frames generate may render after `frames` to meet the targets; 0 = measure only.")
    candidates: int = Field(
        default=8, ge=1, le=1024,
        description="FrameSpecs drawn per extra frame; the one whose parts and wear serve the unmet targets most "
                    "is rendered (ties: the lowest frame index), so the same recipe and seed give the same frames.")


class Focus(_Model):
    """Concentrate sampling around hard cases (written by `wearforge focus`, see docs/quality.md).

    A frame is drawn from the recipe as usual; with probability ``weight`` it is then pulled towards one hard
    case h: every randomized number x becomes h + width * (x - h) (the original distribution shrunk around h),
    names and wear layers take h's values, and seeds stay fresh, so no frame repeats a hard one.
    """

    weight: float = Field(default=0.7, ge=0, le=1, description="Share of frames drawn around a hard case.")
    width: float = Field(default=0.15, ge=0, le=1,
                         description="Spread around a hard case as a fraction of the original spread (0 = exact).")
    cases: list[dict[str, Any]] = Field(default_factory=list,
                                        description="The hard cases' FrameSpecs (as written in frame_spec_N.json).")
    note: str = Field(default="", description="What the cases are (shown in the report).")


class Recipe(_Model):
    """A wearforge recipe."""

    scene: SceneConfig = Field(description="The digital twin and its parts.")
    camera: CameraConfig = Field(default_factory=CameraConfig, description="Base camera.")
    lights: list[LightConfig] = Field(default_factory=list, description="Lights created by the recipe.")
    randomizers: Randomizers = Field(default_factory=Randomizers, description="Per-frame randomization.")
    render: RenderConfig = Field(default_factory=RenderConfig, description="Rendering.")
    labels: LabelConfig = Field(default_factory=LabelConfig, description="Defect label visibility and instances.")
    output: OutputConfig = Field(default_factory=OutputConfig, description="Output.")
    frames: int = Field(default=16, ge=1, le=10_000_000, description="Number of frames.")
    seed: int = Field(default=0, ge=0, lt=2**63, description="Master seed.")
    name: str = Field(default="recipe", description="Recipe name (set from the file name).")
    targets: Targets = Field(default_factory=Targets, description="Dataset targets (measured by `wearforge report`).")
    focus: Focus | None = Field(default=None, description="Sampling concentrated around hard cases.")
    station: Station | None = Field(default=None, description="Inspection station preset (camera, lights, sensor).")

    # Where relative paths in this recipe are resolved from (not part of the YAML).
    base_dir: Path = Field(default=".", exclude=True, description="Directory of the recipe file.")

    @model_validator(mode="before")
    @classmethod
    def _expand_station(cls, data):
        if isinstance(data, dict) and isinstance(data.get("station"), dict):
            from wearforge.inspection import expand_station

            try:
                return expand_station(data)
            except (ValueError, TypeError, IndexError) as exc:
                raise ValueError(f"station: {exc}") from None
        return data

    @model_validator(mode="after")
    def _unique_lights(self) -> "Recipe":
        names = [light.name for light in self.lights]
        dup = {n for n in names if names.count(n) > 1}
        if dup:
            raise ValueError(f"light names must be unique, repeated: {sorted(dup)}")
        return self

    def content_hash(self) -> str:
        """What makes frames what they are (not how many, nor where they go): resume checks this."""
        import hashlib

        # targets decide which extra frames get rendered, never what frame i is; no focus = as before
        skip = {"frames", "output", "name", "targets"} | ({"focus"} if self.focus is None else set())
        exclude: dict = {name: True for name in skip}
        exclude["render"] = {"overlap_wear"}  # how fast, never what: same bytes either way
        body = self.model_dump_json(exclude=exclude)
        return hashlib.sha1(body.encode()).hexdigest()[:16]

    def usd_path(self) -> Path:
        """Absolute path of the twin."""
        return resolve_usd(self.scene.usd, self.base_dir)

    def resolve(self, relative: str) -> Path:
        """A path from the recipe, resolved against the recipe's directory."""
        p = Path(relative).expanduser()
        return p if p.is_absolute() else (self.base_dir / p).resolve()


def resolve_file(spec: str, base_dir: Path) -> Path:
    """'asset:REL' -> inside usd_assets/; otherwise a path relative to ``base_dir``."""
    if spec.startswith(ASSET_PREFIX):
        return asset_path(spec[len(ASSET_PREFIX):])
    p = Path(spec).expanduser()
    return p if p.is_absolute() else (base_dir / p).resolve()


def resolve_usd(spec: str, base_dir: Path) -> Path:
    """'asset:NAME' -> bundled twin; otherwise a path relative to ``base_dir``."""
    if spec.startswith(ASSET_PREFIX):
        name = spec[len(ASSET_PREFIX):]
        return asset_path(name if name.endswith((".usda", ".usd", ".usdc")) else f"{name}.usda")
    p = Path(spec).expanduser()
    return p if p.is_absolute() else (base_dir / p).resolve()


def path_match(pattern: str, path: str) -> bool:
    """Prim-path glob: ``*``, ``?`` and ``[..]`` stay inside one path segment, ``**`` spans segments."""
    return _path_regex(pattern).fullmatch(path) is not None


@lru_cache(maxsize=256)
def _path_regex(pattern: str) -> re.Pattern:
    out, i = [], 0
    while i < len(pattern):
        if pattern.startswith("**", i):
            out.append(".*")
            i += 2
        elif pattern[i] == "*":
            out.append("[^/]*")
            i += 1
        elif pattern[i] == "?":
            out.append("[^/]")
            i += 1
        elif pattern[i] == "[" and "]" in pattern[i + 1:]:
            j = pattern.index("]", i + 1)
            body = pattern[i + 1:j].replace("\\", "\\\\")
            out.append("[^" + body[1:] + "]" if body.startswith("!") else "[" + body + "]")
            i = j + 1
        else:
            out.append(re.escape(pattern[i]))
            i += 1
    try:
        return re.compile("".join(out))
    except re.error as exc:
        raise ValueError(f"bad glob {pattern[:60]!r}: {exc}") from None


def matches(selector: str, path: str, semantic_class: str | None) -> bool:
    """Part selector: a prim-path glob (see path_match), or 'class:NAME' (NAME may use * and ?)."""
    if selector.startswith("class:"):
        return semantic_class is not None and fnmatch.fnmatchcase(semantic_class, selector[6:])
    return path_match(selector, path)


# -------------------------------------------------------------------------------------------- loading
def deep_merge(base: dict, override: dict) -> dict:
    """Recursive dict merge; lists and scalars from ``override`` replace those in ``base``."""
    out = copy.deepcopy(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = deep_merge(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


# Hostile YAML bounds: a recipe is a few kilobytes; these leave two orders of magnitude of room.
MAX_RECIPE_BYTES = 1 << 20
MAX_YAML_DEPTH = 48
MAX_YAML_ALIASES = 256
MAX_YAML_NODES = 200_000  # after alias expansion (what validation would walk)
MAX_EXTENDS = 16


class _BoundedLoader(yaml.SafeLoader):
    """SafeLoader that refuses deep nesting and alias bombs while composing, before anything is built."""

    def __init__(self, stream):
        super().__init__(stream)
        self._depth = 0
        self._aliases = 0

    def compose_node(self, parent, index):
        if self.check_event(yaml.AliasEvent):
            self._aliases += 1
            if self._aliases > MAX_YAML_ALIASES:
                raise _YamlLimit(f"has more than {MAX_YAML_ALIASES} aliases (*name)")
        self._depth += 1
        if self._depth > MAX_YAML_DEPTH:
            raise _YamlLimit(f"is nested more than {MAX_YAML_DEPTH} levels deep")
        try:
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1


class _YamlLimit(Exception):
    pass


def _expanded_size(data: Any, budget: int) -> int:
    """Nodes in ``data`` with every alias expanded, counting no further than ``budget``."""
    count, stack = 0, [data]
    while stack and count <= budget:
        node = stack.pop()
        count += 1
        if isinstance(node, dict):
            stack.extend(node.values())
            count += len(node)
        elif isinstance(node, list):
            stack.extend(node)
    return count


def _read_yaml(path: Path) -> dict:
    if not path.is_file():
        raise InputError("recipe file not found", source=str(path))
    try:
        size = path.stat().st_size
        if size > MAX_RECIPE_BYTES:
            raise InputError(f"recipe is {size} bytes; recipes are limited to {MAX_RECIPE_BYTES} bytes", source=str(path))
        data = yaml.load(path.read_text(encoding="utf-8"), Loader=_BoundedLoader)  # noqa: S506 (a SafeLoader)
        if _expanded_size(data, MAX_YAML_NODES) > MAX_YAML_NODES:
            raise _YamlLimit(f"expands to more than {MAX_YAML_NODES} values (aliases repeat their anchor)")
    except _YamlLimit as exc:
        raise InputError(f"refused: the YAML {exc}", source=str(path)) from None
    except RecursionError:
        raise InputError(f"refused: the YAML is nested more than {MAX_YAML_DEPTH} levels deep", source=str(path)) from None
    except OSError as exc:
        raise InputError(f"cannot read the recipe: {exc.strerror}", source=str(path)) from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        raise InputError(f"not valid YAML{where}: {getattr(exc, 'problem', exc)}", source=str(path)) from None
    except UnicodeDecodeError:
        raise InputError("not a UTF-8 text file", source=str(path)) from None
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise InputError("a recipe must be a mapping of sections (scene, camera, ...)", source=str(path))
    return data


def load_raw(path: Path, _chain: tuple[Path, ...] = ()) -> dict:
    """Read a recipe and everything it ``extends:``; relative paths are rebased onto ``path``'s folder."""
    if "\x00" in str(path):
        raise InputError("NUL character in the recipe path", source=repr(str(path))[:80])
    if not path.is_file():
        raise InputError("recipe file not found", source=str(path))
    path = path.resolve()
    if len(_chain) >= MAX_EXTENDS:
        raise InputError(f"extends chain longer than {MAX_EXTENDS} recipes", source=str(path), field="extends")
    if path in _chain:
        raise InputError(f"extends forms a cycle: {' -> '.join(str(p) for p in (*_chain, path))}", source=str(path))
    data = _read_yaml(path)
    _rebase_paths(data, path.parent)
    parent = data.pop("extends", None)
    if parent is None:
        return data
    if not isinstance(parent, str):
        raise InputError("expected a path to another recipe", source=str(path), field="extends")
    base = load_raw(path.parent / parent, (*_chain, path))
    return deep_merge(base, data)


def _rebase_paths(data: dict, folder: Path) -> None:
    """Make file paths absolute so a recipe that extends another keeps each file's own base.

    Sections of the wrong type are left alone here: validation reports them with their field.
    """
    def items(node, key):
        value = node.get(key) if isinstance(node, dict) else None
        return [v for v in value if isinstance(v, dict)] if isinstance(value, list) else []

    scene = data.get("scene")
    if isinstance(scene, dict) and _is_path(scene.get("usd")) and not scene["usd"].startswith(ASSET_PREFIX):
        scene["usd"] = str(resolve_usd(scene["usd"], folder))
    for d in items(scene, "distractors"):
        if _is_path(d.get("asset")) and not d["asset"].startswith(ASSET_PREFIX):
            d["asset"] = str(resolve_usd(d["asset"], folder))
    for b in items(scene, "backgrounds"):
        if _is_path(b.get("usd")) and not b["usd"].startswith(ASSET_PREFIX):
            b["usd"] = str(resolve_usd(b["usd"], folder))
    for light in items(data, "lights"):
        if _is_path(light.get("texture")):
            light["texture"] = str(resolve_file(light["texture"], folder))
    for entry in items(data.get("randomizers"), "lights"):
        if _is_path(entry.get("texture_folder")):
            entry["texture_folder"] = str(resolve_file(entry["texture_folder"], folder))
        if "texture" in entry:
            entry["texture"] = _rebase_names(entry["texture"], folder)


def _is_path(value: Any) -> bool:
    """A string usable as a file path (NUL bytes and empty strings are left for validation to refuse)."""
    return isinstance(value, str) and value != "" and "\x00" not in value


def _rebase_names(value: Any, folder: Path) -> Any:
    """File names inside a name distribution (plain, choice, sequence) made absolute."""
    if isinstance(value, str):
        return value if value.startswith(ASSET_PREFIX) or not _is_path(value) else str(resolve_file(value, folder))
    if isinstance(value, list):
        return [_rebase_names(v, folder) for v in value]
    if isinstance(value, dict):
        return {k: (_rebase_names(v, folder) if k in ("choice", "sequence", "items", "constant", "value") else v)
                for k, v in value.items()}
    return value


def apply_overrides(data: dict, overrides: list[str]) -> dict:
    """Apply ``a.b.c=value`` overrides (value parsed as YAML; list items by index, len(list) appends)."""
    data = copy.deepcopy(data)
    for item in overrides:
        if "=" not in item:
            raise InputError(f"expected KEY=VALUE, got {item!r}", source="--set")
        key, _, text = item.partition("=")
        parts = [p for p in key.strip().split(".") if p]
        if not parts:
            raise InputError(f"empty key in {item!r}", source="--set")
        try:
            value = yaml.safe_load(text)
        except yaml.YAMLError:
            value = text
        node: Any = data
        for i, part in enumerate(parts[:-1]):
            node = _step(node, part, key, create_next=not parts[i + 1].isdigit())
        last = parts[-1]
        if not isinstance(node, (dict, list)):
            raise InputError(f"cannot set {key!r}: {parts[-2]!r} is a value, not a section", source="--set")
        if isinstance(node, list) and last.isdigit() and int(last) == len(node):
            node.append(value)  # one past the end appends, e.g. --set randomizers.poses.2={...}
        elif isinstance(node, list):
            node[_index(node, last, key)] = value
        else:
            node[last] = value
    return data


def _step(node: Any, part: str, key: str, create_next: bool) -> Any:
    if isinstance(node, list):
        return node[_index(node, part, key)]
    if not isinstance(node, dict):
        raise InputError(f"cannot set {key!r}: {part!r} is inside a value, not a section", source="--set")
    if part not in node or node[part] is None:
        node[part] = {} if create_next else []
    return node[part]


def _index(node: list, part: str, key: str) -> int:
    if not part.isdigit() or int(part) >= len(node):
        raise InputError(f"cannot set {key!r}: no item {part!r} in a list of {len(node)}", source="--set")
    return int(part)


def load_recipe(path: str | Path, overrides: list[str] | None = None) -> Recipe:
    """Load, merge, override and validate a recipe; raises InputError with file and field on problems."""
    path = Path(path)
    data = load_raw(path)
    if overrides:
        data = apply_overrides(data, overrides)
    data.setdefault("name", path.stem)
    return validate_recipe(data, source=str(path), base_dir=path.resolve().parent)


def validate_recipe(data: dict, source: str = "<recipe>", base_dir: Path = Path(".")) -> Recipe:
    """Validate a raw dict; errors name the field path and what was expected."""
    try:
        recipe = Recipe.model_validate({**data, "base_dir": base_dir})
    except ValidationError as exc:
        raise InputError(format_validation_error(exc), source=source) from None
    usd = recipe.usd_path()
    if not usd.is_file():
        raise InputError(f"USD file not found: {usd}", source=source, field="scene.usd")
    for i, d in enumerate(recipe.scene.distractors):
        if not resolve_usd(d.asset, recipe.base_dir).is_file():
            raise InputError(f"USD file not found: {resolve_usd(d.asset, recipe.base_dir)}", source=source,
                             field=f"scene.distractors.{i}.asset")
    for i, b in enumerate(recipe.scene.backgrounds or []):
        if not resolve_usd(b.usd, recipe.base_dir).is_file():
            raise InputError(f"USD file not found: {resolve_usd(b.usd, recipe.base_dir)}", source=source,
                             field=f"scene.backgrounds.{i}.usd")
    if recipe.scene.distractors and not any(p.scatter for p in recipe.randomizers.poses):
        raise InputError("distractors are placed by a scatter pose randomizer: add randomizers.poses[].scatter",
                         source=source, field="scene.distractors")
    for i, light in enumerate(recipe.lights):
        if light.texture and not resolve_file(light.texture, recipe.base_dir).is_file():
            raise InputError(f"texture not found: {resolve_file(light.texture, recipe.base_dir)}", source=source,
                             field=f"lights.{i}.texture")
    for i, entry in enumerate(recipe.randomizers.lights):
        if entry.texture is not None:
            for name in _names(entry.texture):
                if not resolve_file(name, recipe.base_dir).is_file():
                    raise InputError(f"texture not found: {resolve_file(name, recipe.base_dir)}", source=source,
                                     field=f"randomizers.lights.{i}.texture")
        if entry.texture_folder is not None and not dome_images(resolve_file(entry.texture_folder, recipe.base_dir)):
            raise InputError(f"no .hdr/.exr/.png/.jpg images in {resolve_file(entry.texture_folder, recipe.base_dir)}",
                             source=source, field=f"randomizers.lights.{i}.texture_folder")
    return recipe


def _names(dist) -> list[str]:
    return [dist.value] if hasattr(dist, "value") else list(dist.items)


@lru_cache(maxsize=1)
def preset_names() -> frozenset[str]:
    """Names in the bundled material library (usd_assets/materials.yaml)."""
    return frozenset(yaml.safe_load((ASSETS_DIR / "materials.yaml").read_text())["materials"])


def dome_images(folder: Path) -> list[Path]:
    """Lat-long images in a folder, sorted (so a choice by index is reproducible)."""
    if not folder.is_dir():
        return []
    return sorted(p for p in folder.iterdir() if p.suffix.lower() in (".hdr", ".exr", ".png", ".jpg", ".jpeg"))


def format_validation_error(exc: ValidationError) -> str:
    """One line per problem: field path, what was expected, what was given."""
    lines = []
    for err in exc.errors(include_url=False):
        loc = ".".join(str(p) for p in err["loc"] if p not in _TAGS) or "(top level)"
        msg = err["msg"]
        if err["type"] == "extra_forbidden":
            msg = "unknown key (check the spelling; `wearforge validate --help` lists the sections)"
        elif msg.startswith("Value error, "):
            msg = msg[len("Value error, "):]
        given = err.get("input")
        shown = "" if err["type"] in ("missing", "extra_forbidden") or isinstance(given, dict) else f" (got {_excerpt(given)})"
        lines.append(f"field '{_excerpt(loc, 120, quote=False)}': {_excerpt(msg, 300, quote=False)}{shown}")
    if len(lines) == 1:
        return lines[0]
    more = f"\n  ... and {len(lines) - 5} more" if len(lines) > 5 else ""
    return f"{len(lines)} problems:\n  " + "\n  ".join(lines[:5]) + more


def _excerpt(value: Any, limit: int = 60, quote: bool = True) -> str:
    """At most ``limit`` characters of an input, on one line: messages never echo a whole document."""
    text = repr(value) if quote else str(value)
    text = text.replace("\n", "\\n")
    return text if len(text) <= limit else text[: limit - 3] + "..."


# Discriminator tags pydantic puts into error locations; users never wrote them.
_TAGS = {"constant", "uniform", "normal", "choice", "sequence", "per_axis", "function-after[check()]",
         "function-before[_normalize()]"}
