import numpy as np
import pytest

from hubscout.identification.pmi import generator_score, identify, nearest_mean


@pytest.mark.parametrize("true", [0, 1, 2])
def test_examples_identify_the_generator_that_made_them(synthetic_specs, true):
    specs, images, texts = synthetic_specs
    examples = images(true, [2], 3, seed=99)[0]
    ranking = identify(examples, specs)
    assert ranking[0].generator == f"gen-{true}"
    assert ranking[0].matched_prompts[0] == "prompt 2"
    assert [r.score for r in ranking] == sorted((r.score for r in ranking), reverse=True)
    assert identify(examples, specs, texts[2])[0].generator == f"gen-{true}"
    assert sorted(nearest_mean(examples, specs)) == sorted(specs)  # a baseline: may miss


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
