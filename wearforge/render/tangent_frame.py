"""A per-texel tangent for Mitsuba's principled BSDF, so grooves glint with their direction.

Mitsuba's ``principled`` BSDF takes an ``anisotropic`` texture, but its anisotropy axis is always the
shading frame's tangent (dp/du). Scratches and machined finishes each run their own way, recorded in the
wear stack's ``tangent`` map, so the ``groove_frame`` BSDF below sits between the ``normalmap`` BSDF and
the principled one: it reads the groove direction at ``si.uv`` and rotates the local directions about the
shading normal before handing them to the nested BSDF (and rotates a sampled direction back).

Which way to rotate: the principled BSDF builds its GGX lobe from
``alpha_x = roughness^2 / aspect`` and ``alpha_y = roughness^2 * aspect`` with
``aspect = sqrt(1 - 0.9 * anisotropic)`` (``calc_dist_params`` in Mitsuba's ``principledhelpers.h``,
after Burley 2012), so the rough axis, along which the highlight stretches, is the frame's x. A groove
tilts the micro-facets across itself: the surface is rough across the groove and smooth along it, and
the highlight of a brushed or scratched surface is a streak across the grooves. The rotated frame
therefore puts x across the groove (``x' = n x g``) and y along it.
"""

from __future__ import annotations

import numpy as np

PLUGIN = "groove_frame"
NEUTRAL_TANGENT = (0.5, 0.5, 0.5)  # encoded zero vector: no groove direction, frame left as it is

_registered: set[str] = set()


def jit_variant(variant: str) -> bool:
    """Whether ``variant`` traces the plugin into its kernels (scalar variants would call Python per ray)."""
    return not variant.startswith("scalar")


def register(mi) -> None:
    """Register the ``groove_frame`` BSDF for the current Mitsuba variant (once per variant)."""
    variant = mi.variant()
    if variant in _registered:
        return
    mi.register_bsdf(PLUGIN, _plugin_class(mi))
    _registered.add(variant)


def grooved_bsdf(principled: dict, tangent: dict) -> dict:
    """A ``load_dict`` entry wrapping a principled BSDF (with an ``anisotropic`` texture) in a groove frame."""
    return {"type": PLUGIN, "tangent": tangent, "nested_bsdf": principled}


def principled_prefix(grooves: bool) -> str:
    """Parameter path of a wear stack's principled BSDF below its ``normalmap`` BSDF."""
    return "nested_bsdf.nested_bsdf." if grooves else "nested_bsdf."


def stack_parameter(name: str, grooves: bool) -> str:
    """Parameter path, below the stack's ``normalmap`` BSDF, of the texture data that holds the stack map
    ``name`` (as ``device_textures.stack_tensors`` names them)."""
    if name == "normal":
        return "normalmap.data"
    if name == "tangent":
        return "nested_bsdf.tangent.data"
    return principled_prefix(grooves) + f"{name}.data"


def _plugin_class(mi):
    import drjit as dr

    class GrooveFrame(mi.BSDF):
        """Rotates the shading frame about its normal so that x runs across the local groove."""

        def __init__(self, props):
            super().__init__(props)
            self.nested = props["nested_bsdf"]
            self.tangent = props.get_texture("tangent", NEUTRAL_TANGENT[0])  # none: the frame as it is
            self.m_components = [self.nested.flags(i) for i in range(self.nested.component_count())]
            self.m_flags = self.nested.flags()

        def _rotation(self, si, active):
            """(cos, sin) of the angle from the frame's x to the direction across the groove."""
            t = self.tangent.eval(si, active)
            gx, gy = dr.fma(t[0], 2.0, -1.0), dr.fma(t[1], 2.0, -1.0)
            length = dr.sqrt(dr.fma(gx, gx, gy * gy))
            # short where the bilinear lookup blends into texels without a groove (or, rarely, into one
            # running the opposite way): the direction is renormalised, and near zero the frame stays
            grooved = length > 1e-3
            inv = dr.rcp(dr.maximum(length, 1e-3))
            # across the groove g = (gx, gy) is n x g = (-gy, gx); no groove: the frame as it is
            return dr.select(grooved, -gy * inv, 1.0), dr.select(grooved, gx * inv, 0.0)

        @staticmethod
        def _to_rotated(v, c, s):
            return mi.Vector3f(dr.fma(c, v.x, s * v.y), dr.fma(-s, v.x, c * v.y), v.z)

        @staticmethod
        def _from_rotated(v, c, s):
            return mi.Vector3f(dr.fma(c, v.x, -s * v.y), dr.fma(s, v.x, c * v.y), v.z)

        def _rotated_si(self, si, active):
            c, s = self._rotation(si, active)
            out = mi.SurfaceInteraction3f(si)
            frame = si.sh_frame
            out.sh_frame = mi.Frame3f(dr.fma(c, frame.s, s * frame.t), dr.fma(-s, frame.s, c * frame.t), frame.n)
            out.wi = self._to_rotated(si.wi, c, s)
            return out, c, s

        def sample(self, ctx, si, sample1, sample2, active=True):
            rsi, c, s = self._rotated_si(si, active)
            bs, weight = self.nested.sample(ctx, rsi, sample1, sample2, active)
            bs.wo = self._from_rotated(bs.wo, c, s)
            return bs, weight

        def eval(self, ctx, si, wo, active=True):
            rsi, c, s = self._rotated_si(si, active)
            return self.nested.eval(ctx, rsi, self._to_rotated(wo, c, s), active)

        def pdf(self, ctx, si, wo, active=True):
            rsi, c, s = self._rotated_si(si, active)
            return self.nested.pdf(ctx, rsi, self._to_rotated(wo, c, s), active)

        def eval_pdf(self, ctx, si, wo, active=True):
            rsi, c, s = self._rotated_si(si, active)
            return self.nested.eval_pdf(ctx, rsi, self._to_rotated(wo, c, s), active)

        def eval_diffuse_reflectance(self, si, active=True):
            return self.nested.eval_diffuse_reflectance(si, active)

        def traverse(self, callback):
            # the nested BSDF's parameters keep their names under "nested_bsdf.", as in normalmap/mask
            callback.put("nested_bsdf", self.nested, mi.ParamFlags.Differentiable)
            callback.put("tangent", self.tangent, mi.ParamFlags.NonDifferentiable)

        def parameters_changed(self, keys):
            pass

        def to_string(self):
            return f"GrooveFrame[nested_bsdf={self.nested}]"

    return GrooveFrame


def neutral_tangent(resolution: int) -> np.ndarray:
    """A tangent map with no groove direction anywhere (R, R, 3)."""
    return np.broadcast_to(np.float32(NEUTRAL_TANGENT), (resolution, resolution, 3))
