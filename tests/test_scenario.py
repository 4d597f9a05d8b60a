"""FrameSpecs are pure functions of (recipe, seed, index): order, workers and other randomizers don't matter."""

from concurrent.futures import ProcessPoolExecutor

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from wearforge.framespec import FrameSpec
from wearforge.recipe import load_recipe
from wearforge.scenario import sample_frame
from wearforge.stage import scene_for

from conftest import DEMO

RECIPE = load_recipe(DEMO)
SCENE = scene_for(RECIPE)
FAST = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _spec_json(args):
    seed, index = args
    return sample_frame(load_recipe(DEMO), seed, index).to_json()


@FAST
@given(seed=st.integers(0, 2**63 - 1), index=st.integers(0, 10**6))
def test_same_inputs_same_framespec(seed, index):
    a = sample_frame(RECIPE, seed, index, SCENE)
    b = sample_frame(RECIPE, seed, index, SCENE)
    assert a == b and a.to_json() == b.to_json()


@FAST
@given(seed=st.integers(0, 2**32), order=st.permutations(list(range(6))))
def test_order_of_sampling_does_not_matter(seed, order):
    forward = {i: sample_frame(RECIPE, seed, i, SCENE) for i in range(6)}
    shuffled = {i: sample_frame(RECIPE, seed, i, SCENE) for i in order}
    assert forward == shuffled


def test_worker_processes_give_the_same_framespecs():
    jobs = [(7, i) for i in range(8)]
    local = [_spec_json(j) for j in jobs]
    with ProcessPoolExecutor(max_workers=2) as pool:
        remote = list(pool.map(_spec_json, reversed(jobs)))
    assert local == list(reversed(remote))


@FAST
@given(seed=st.integers(0, 2**32), index=st.integers(0, 1000))
def test_adding_a_randomizer_leaves_the_others_unchanged(seed, index):
    extra = load_recipe(DEMO, ["randomizers.sensor.gain={uniform: [0.5, 2.0]}",
                               "randomizers.poses.2={parts: class:pipe_spool, position: [0, 0, {uniform: [0.8, 0.9]}]}",
                               "randomizers.physics.0.restitution={uniform: [0.1, 0.5]}"])
    a = sample_frame(RECIPE, seed, index, SCENE)
    b = sample_frame(extra, seed, index, scene_for(extra))
    assert a.camera == b.camera and a.lights == b.lights
    for pa, pb in zip(a.parts, b.parts):
        assert pa.material == pb.material
        assert pa.physics.static_friction == pb.physics.static_friction
        if pa.semantic_class != "pipe_spool":
            assert pa.pose == pb.pose
    assert a.sensor.read_noise == b.sensor.read_noise and b.sensor.gain != 1.0
    assert any(p.physics.restitution is not None for p in b.parts)


def test_frames_differ_and_sampled_values_are_recorded():
    specs = [sample_frame(RECIPE, 7, i, SCENE) for i in range(4)]
    assert len({s.camera.position[0] for s in specs}) == 4
    gear = [p for p in specs[0].parts if p.semantic_class == "gear"][0]
    assert gear.material.preset in ("painted_blue", "painted_safety_yellow", "painted_machine_grey")
    assert gear.pose.rotation is not None and 0 <= gear.pose.rotation[2] <= 360
    assert gear.physics.static_friction is not None
    assert {light.path for light in specs[0].lights} == {"/World/Lights/Key", "/World/Lights/Fill"}
    assert specs[0].render.seed != specs[1].render.seed
    assert specs[0].sensor.seed != specs[1].sensor.seed


@FAST
@given(seed=st.integers(0, 2**40), index=st.integers(0, 50))
def test_framespec_json_round_trip(seed, index):
    spec = sample_frame(RECIPE, seed, index, SCENE)
    assert FrameSpec.from_json(spec.to_json()) == spec


def test_wear_layers_carry_their_kernel_seeds():
    recipe = load_recipe(DEMO, [
        "randomizers.wear=[{parts: class:pipe_spool, resolution: 512, layers: "
        "[{type: rust, probability: 1.0, params: {coverage: {uniform: [0.1, 0.4]}}}, {type: dirt, probability: 0.0}]}]"])
    spec = sample_frame(recipe, 1, 0, scene_for(recipe))
    pipe = [p for p in spec.parts if p.semantic_class == "pipe_spool"][0]
    assert pipe.wear.resolution == 512 and [layer.type for layer in pipe.wear.layers] == ["rust"]
    assert 0.1 <= pipe.wear.layers[0].params["coverage"] <= 0.4 and pipe.wear.layers[0].seed > 0
    assert all(p.wear is None for p in spec.parts if p.semantic_class != "pipe_spool")
