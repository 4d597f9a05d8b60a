"""FrameSpec: every value drawn for one frame, as plain JSON-ready data.

A FrameSpec is the contract between sampling and backends: the standalone renderer and the Isaac Sim
adapter apply it identically, and it alone reproduces a frame. Fields left ``None`` were not
randomized and keep the value authored in the twin.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class _Spec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class PoseSpec(_Spec):
    """Local transform of a part (parent frame): translate, rotateXYZ (degrees), scale."""

    position: list[float] | None = None
    rotation: list[float] | None = None
    scale: list[float] | None = None


class MaterialSpec(_Spec):
    """UsdPreviewSurface inputs of a part's material."""

    preset: str | None = None
    base_color: list[float] | None = None
    metallic: float | None = None
    roughness: float | None = None
    ior: float | None = None
    clearcoat: float | None = None
    clearcoat_roughness: float | None = None
    finish: str | None = None  # surface finish grown into the part's wear stack (never labelled)
    finish_params: dict[str, float] | None = None
    finish_seed: int | None = None

    def inputs(self) -> dict[str, Any]:
        """UsdPreviewSurface input name -> value, for the fields that are set."""
        names = {"base_color": "diffuseColor", "metallic": "metallic", "roughness": "roughness", "ior": "ior",
                 "clearcoat": "clearcoat", "clearcoat_roughness": "clearcoatRoughness"}
        return {names[k]: v for k, v in self.model_dump(exclude={"preset", "finish", "finish_params", "finish_seed"}).items()
                if v is not None}


class PhysicsSpec(_Spec):
    """UsdPhysics values of a part."""

    mass: float | None = None
    density: float | None = None
    static_friction: float | None = None
    dynamic_friction: float | None = None
    restitution: float | None = None


class WearLayerSpec(_Spec):
    """One defect layer with the seed its kernel uses."""

    type: str
    seed: int
    params: dict[str, float] = Field(default_factory=dict)


class WearSpec(_Spec):
    resolution: int  # the stack size, or with texels_per_pixel > 0 the cap of a size that follows the screen
    texels_per_pixel: float = 0.0
    layers: list[WearLayerSpec] = Field(default_factory=list)
    focus: list[float] | None = None  # world point that discrete defects are placed around
    focus_radius: float | None = None


class PartSpec(_Spec):
    path: str
    semantic_class: str
    visible: bool = True
    pose: PoseSpec = Field(default_factory=PoseSpec)
    material: MaterialSpec = Field(default_factory=MaterialSpec)
    physics: PhysicsSpec = Field(default_factory=PhysicsSpec)
    wear: WearSpec | None = None
    drop_pose: PoseSpec | None = None  # the pose before a settle step moved the part
    at_rest: bool | None = None  # after settling: did it come to rest within the time limit


class LightSpec(_Spec):
    """A light: created by the recipe (``create`` holds its type) or a twin light being changed."""

    path: str
    create: str | None = None  # UsdLux type to create, None = the light exists in the twin
    intensity: float | None = None
    exposure: float | None = None
    color: list[float] | None = None
    color_temperature: float | None = None
    position: list[float] | None = None
    look_at: list[float] | None = None
    radius: float | None = None
    width: float | None = None
    height: float | None = None
    angle: float | None = None
    texture: str | None = None


class CameraSpec(_Spec):
    path: str
    create: bool
    position: list[float]
    look_at: list[float]
    up: list[float]
    roll: float = 0.0
    focal_length: float
    horizontal_aperture: float
    clipping: list[float]
    f_stop: float = 0.0
    focus_distance: float = 0.0


class SensorSpec(_Spec):
    exposure: float = 0.0
    gain: float = 1.0
    full_well: float | None = None
    read_noise: float | None = None
    vignetting: float | None = None
    jpeg_quality: int | None = None
    defocus_blur: float | None = None
    motion_blur: float | None = None
    motion_angle: float = 0.0
    chromatic_aberration: float | None = None
    distortion: list[float] | None = None  # Brown-Conrady (k1, k2, p1, p2, k3), OpenCV order
    mono: bool = False  # monochrome sensor
    seed: int = 0


class RenderSpec(_Spec):
    resolution: list[int]
    spp: int
    max_depth: int
    seed: int  # the renderer's sampler seed, drawn here so backends draw nothing themselves


class FrameSpec(_Spec):
    version: int = 1
    recipe: str
    seed: int
    index: int
    usd: str
    parts: list[PartSpec]
    lights: list[LightSpec]
    camera: CameraSpec
    sensor: SensorSpec
    render: RenderSpec
    background: str | None = None  # prim path of the background shown (scene.backgrounds); the others are hidden
    hidden: list[str] = Field(default_factory=list)  # twin prims the drawn background hides (its 'hide')
    settled: bool = False  # part poses come from a physics settle step (not re-simulated when rendering)

    def to_json(self) -> str:
        return self.model_dump_json(indent=2)

    @classmethod
    def from_json(cls, text: str) -> "FrameSpec":
        return cls.model_validate_json(text)
