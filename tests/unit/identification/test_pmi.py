import numpy as np
import pytest

from hubscout.identification.pmi import PMIParameters, generator_score, identify, nearest_mean
from hubscout.identification.specs import GeneratorSpecification


@pytest.mark.parametrize("true", [0, 1, 2])
def test_examples_identify_the_generator_that_made_them(synthetic_specs, true):
    specs, images, texts = synthetic_specs
    examples = images(true, [2], 3, seed=99)[0]
    ranking = identify(examples, specs)
    assert ranking[0].generator == f"gen-{true}"
    assert ranking[0].matched_prompts[0] == "prompt 2"
    assert [r.score for r in ranking] == sorted((r.score for r in ranking), reverse=True)
    assert identify(examples, specs, texts[2])[0].generator == f"gen-{true}"
    centre = examples.mean(axis=0)
    cosines = {n: centre @ s.image_embeddings.reshape(-1, 16).mean(0) for n, s in specs.items()}
    assert nearest_mean(examples, specs) == sorted(cosines, key=lambda n: -cosines[n])


def test_the_score_of_a_one_prompt_spec_by_hand():
    x, y = np.array([1.0, 0.0]), np.array([0.6, 0.8])  # cos(x, y) = 0.6
    spec = GeneratorSpecification(
        "g", ("p",), np.array([[x, y]]), np.array([x]), "v", {"generator_hash": "h"}, 0.0
    )
    h = 0.1
    score, weights = generator_score(spec, x[None], parameters=PMIParameters(bandwidth=h))
    # one prompt: w = 1; S = mean(k(x, x), k(x, y)) = (1 + exp((0.6 - 1) / h)) / 2
    assert weights.tolist() == [1.0]
    assert score == pytest.approx(np.log((1 + np.exp(-0.4 / h)) / 2), abs=1e-12)


def test_examples_unlike_every_spec_image_still_rank_the_generators():
    # cosines -0.5 and -0.6: exp(-1500) and exp(-1600) underflow to 0 at h = 0.001
    x = np.array([1.0, 0.0])
    near, far = np.array([-0.5, np.sqrt(0.75)]), np.array([-0.6, 0.8])
    specs = {
        name: GeneratorSpecification(
            name, ("p",), np.array([[image]]), np.array([x]), "v", {"generator_hash": name}, 0.0
        )
        for name, image in (("a-far", far), ("b-near", near))
    }
    ranking = identify(x[None], specs, parameters=PMIParameters(bandwidth=0.001))
    assert [r.generator for r in ranking] == ["b-near", "a-far"]
    assert ranking[0].score == pytest.approx(-1500.0) and ranking[1].score == pytest.approx(-1600.0)


def test_prompt_weights_follow_the_user_prompt(synthetic_specs):
    specs, images, texts = synthetic_specs
    examples = images(0, [1], 2, seed=5)[0]
    _, weights = generator_score(specs["gen-0"], examples, texts[3])
    assert weights.argmax() == 3 and weights.sum() == pytest.approx(1.0)
    _, from_images = generator_score(specs["gen-0"], examples)
    assert from_images.argmax() == 1


def test_identification_does_not_change_the_examples(synthetic_specs):
    specs, images, _ = synthetic_specs
    examples = images(1, [0], 4, seed=3)[0]
    before = examples.copy()
    identify(examples, specs)
    np.testing.assert_array_equal(examples, before)
