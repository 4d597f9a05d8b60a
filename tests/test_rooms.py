"""Procedural room environment maps: reproducible, and lit like rooms (lamps and windows above, a floor
below, clutter in between), not flat rectangles."""

import sys

import cv2
import numpy as np

from wearforge.recipe import ASSETS_DIR

sys.path.insert(0, str(ASSETS_DIR))
import rooms  # noqa: E402


def test_committed_room_maps_are_what_the_generator_makes():
    for path, make in ((ASSETS_DIR / "hdri" / "factory_hall.hdr", rooms.factory_hall),
                       (ASSETS_DIR / "hdri" / "rooms" / "inspection_lab.hdr", rooms.inspection_lab)):
        committed = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)[..., ::-1]
        made = make()
        assert committed.shape == made.shape
        # Radiance RGBE shares one exponent per pixel: about 1 % of the pixel's largest channel
        assert np.all(np.abs(committed - made) <= 0.01 * made.max(-1, keepdims=True) + 1e-4)


def test_rooms_have_light_sources_windows_floor_and_clutter():
    img = rooms.factory_hall(256)
    h = img.shape[0]
    lum = img @ np.array([0.2126, 0.7152, 0.0722])
    top, bottom = lum[: h // 4], lum[3 * h // 4:]
    assert np.percentile(top, 99.5) > 20 * np.median(lum)  # lamps: small, far brighter than the room
    assert np.median(bottom) < np.median(lum[h // 4: h // 2]) * 2  # the floor is not a light
    horizon = img[h // 2 - h // 8: h // 2]
    blue = horizon[..., 2] / np.maximum(horizon[..., 0], 1e-6)
    assert (blue > 1.2).mean() > 0.02  # daylight through windows
    # clutter: strongly coloured objects along the walls, and more structure than a few flat boxes
    sat = img.max(-1) / np.maximum(img.min(-1), 1e-6)
    assert (sat[h // 3: h // 2] > 2.0).mean() > 0.02
    assert len(np.unique(np.round(lum, 3))) > 500
    assert np.array_equal(rooms.factory_hall(256), img)
