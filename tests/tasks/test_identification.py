import numpy as np
import pytest

from hubscout.data.store import World
from hubscout.identification.benchmark import rkme_encoder_score
from hubscout.identification.rkme import RKME
from hubscout.identification.slices import split_slice, training_indices
from hubscout.identification.specs import world_prompts
from hubscout.identification.store import read_rkme, rkme_spec_path, write_rkme
from hubscout.models import load_model
from hubscout.params import IdentificationParams
from hubscout.settings import Settings
from hubscout.starter.catalog import CLASSIFIERS, VLMS
from tasks.identification import (
    STYLE_WEIGHTS,
    fit_rkme_parts,
    generate_images,
    pool_gamma,
    reference_choice,
    rkme_encoder_choice,
)
from tests.conftest import load_hub_model


class _Refusing:
    """A generator of the same content hash that must not be asked to generate."""

    def __init__(self, content_hash: str) -> None:
        self.content_hash = content_hash

    def generate(self, prompts: list[str], per_prompt: int, seed: int) -> np.ndarray:
        raise AssertionError("generated again although the images are cached")


def test_the_images_of_a_generator_come_from_the_cache_the_second_time(fresh_data_dir):
    settings = Settings()
    generator = load_hub_model("starter:gen-light")
    prompts = world_prompts(2, seed=0)
    sets = {"spec": (prompts, 2, 0), "tuning": (prompts, 3, 1)}
    first = generate_images.fn({"gen-light": generator}, sets, settings)
    assert first["spec"]["gen-light"].shape == (2, 2, 32, 32, 3)
    np.testing.assert_array_equal(first["tuning"]["gen-light"], generator.generate(prompts, 3, 1))
    again = generate_images.fn({"gen-light": _Refusing(generator.content_hash)}, sets, settings)
    for name in sets:
        np.testing.assert_array_equal(again[name]["gen-light"], first[name]["gen-light"])
    # new weights (another content hash) are generated, not served what gen-light made
    with pytest.raises(AssertionError, match="generated again"):
        generate_images.fn({"gen-light": _Refusing("another hash")}, sets, settings)


def test_the_reference_choice_scores_every_encoder_at_every_style_weight(starter_data_dir):
    hub_manifest = Settings().layout.hub_manifest
    generators = {
        name: load_model(f"starter:{name}", manifest=hub_manifest)
        for name in ("gen-dark", "gen-light")
    }
    spec_prompts, tuning_prompts = world_prompts(4, seed=0), world_prompts(3, seed=7)
    spec = {name: g.generate(spec_prompts, 3, 0) for name, g in generators.items()}
    tuning = {name: g.generate(tuning_prompts, 8, 1) for name, g in generators.items()}
    hashes = {name: g.content_hash for name, g in generators.items()}
    vlms = ["vlm-colours", "vlm-dark"]
    table = reference_choice.fn(
        vlms, hashes, spec_prompts, spec, tuning, tuning_prompts, hub_manifest
    )
    assert table.height == 2 * len(STYLE_WEIGHTS)
    ranked = list(zip(table["top1"], table["top1_with_prompt"], strict=True))
    assert ranked == sorted(ranked, reverse=True)
    # at weight 1 the descriptor is the style statistics alone: both encoders score the same
    style_only = table.filter(table["style_weight"] == 1.0)["top1"].to_list()
    assert len(style_only) == 2 and style_only[0] == style_only[1]


SMALL = IdentificationParams(
    rkme_points=4, rkme_samples=60, rkme_queries=50, rkme_tuning_queries=50
)
RKME_MODELS = ["vlm-colours", "vlm-dark", "clf-colours"]


def test_rkme_parts_hold_each_models_spec_queries_and_tuning_queries_in_one_space(
    starter_data_dir, tmp_path
):
    world = World(Settings().data_dir / "world")
    encoder = load_hub_model("starter:vlm-dark")
    parts = fit_rkme_parts(RKME_MODELS, encoder, world, SMALL, tmp_path)
    catalog = {spec.name: spec for spec in (*VLMS, *CLASSIFIERS)}
    for name in RKME_MODELS:
        cut = split_slice(training_indices(catalog[name], world), 60, 50, 50, SMALL.seed)
        for held, indices in ((parts.queries, cut.queries), (parts.tuning, cut.tuning)):
            expected = encoder.encode_images(world.pool_images[indices])
            np.testing.assert_allclose(held[name], expected, rtol=1e-5, atol=1e-6)
        assert parts.specs[name].points.shape == (4, expected.shape[1])
        assert parts.specs[name].gamma == parts.gamma == pool_gamma(encoder, world, SMALL.seed)
    assert parts.slices["vlm-colours"] == parts.slices["clf-colours"]  # the whole pool
    assert parts.slices["vlm-dark"] != parts.slices["vlm-colours"]
    # vlm-colours and clf-colours saw every image: no slice has a model trained on none of it
    assert parts.disjoint == dict.fromkeys(set(parts.slices.values()), ())
    # each spec is in the spec store at the address the per-model job computes for the
    # model's training images; stored, it is read back, not fitted again
    images = world.pool_images[cut.spec]  # clf-colours', the last of RKME_MODELS
    path = rkme_spec_path(tmp_path, encoder.content_hash, images, 4, parts.gamma, SMALL.seed)
    np.testing.assert_array_equal(read_rkme(path, parts.gamma).points, parts.specs[name].points)
    marked = RKME(np.full((4, expected.shape[1]), 0.5), np.full(4, 0.25), parts.gamma)
    write_rkme(path, marked)
    again = fit_rkme_parts(RKME_MODELS, encoder, world, SMALL, tmp_path)
    np.testing.assert_array_equal(again.specs["clf-colours"].points, marked.points)


def test_rkme_encoder_choice_scores_every_vlm_on_the_tuning_queries(starter_data_dir, tmp_path):
    layout = Settings().layout
    world = World(layout.world)
    choice = rkme_encoder_choice.fn(
        ["vlm-colours", "vlm-dark"], RKME_MODELS, world, SMALL, layout.hub_manifest, tmp_path
    )
    table = choice.table
    assert table.columns == ["model", "top1_slice", "open_set_auroc", "score"]
    assert table["score"].to_list() == sorted(table["score"], reverse=True)
    assert sorted(choice.parts) == ["vlm-colours", "vlm-dark"]
    for row in table.iter_rows(named=True):
        encoder = load_hub_model(f"starter:{row['model']}")
        parts = fit_rkme_parts(RKME_MODELS, encoder, world, SMALL, tmp_path / row["model"])
        expected = rkme_encoder_score(
            parts.specs, parts.slices, parts.tuning, parts.disjoint, SMALL.seed
        )
        assert row == {"model": row["model"]} | expected
        kept = choice.parts[row["model"]]  # the specs the flow keeps are these, not refitted
        assert kept.gamma == parts.gamma and kept.slices == parts.slices
        for name, spec in parts.specs.items():
            np.testing.assert_array_equal(kept.specs[name].points, spec.points)
            np.testing.assert_array_equal(kept.specs[name].weights, spec.weights)
