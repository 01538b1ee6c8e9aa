from hubscout.data.store import World
from hubscout.identification.slices import slice_key, training_indices
from hubscout.settings import Settings
from hubscout.starter.catalog import CLASSIFIERS, VLMS


def test_training_slices_follow_the_catalog(starter_data_dir):
    world = World(Settings().data_dir / "world")
    vlms, classifiers = {s.name: s for s in VLMS}, {s.name: s for s in CLASSIFIERS}
    shapes = training_indices(vlms["vlm-shapes"], world)
    kinds = world.pool_scenes["kind"].to_numpy()
    assert len(shapes) and (kinds[shapes] == "shape").all()
    everything = training_indices(vlms["vlm-generalist"], world)
    assert len(everything) == world.pool_scenes.height
    digits = training_indices(classifiers["clf-digits"], world)
    assert set(world.pool_scenes["symbol"].to_numpy()[digits]) <= set("0123456789")
    assert slice_key(everything) == slice_key(training_indices(vlms["vlm-colours"], world))
    assert slice_key(everything) != slice_key(shapes)
