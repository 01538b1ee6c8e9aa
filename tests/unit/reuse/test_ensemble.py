import numpy as np

from hubscout.reuse.ensemble import (
    combine_heads,
    ensemble_predict,
    ensemble_scores,
    entropy_weights,
    head_class_scores,
    heads_with_fallback_predict,
    softmax,
)


def test_entropy_weights_favour_confident_rows():
    p = np.array([[0.98, 0.01, 0.01], [1 / 3, 1 / 3, 1 / 3]])
    weights = entropy_weights(p)
    assert weights[0] > 5 * weights[1]
    assert np.isclose(weights[1], 1 / np.log2(3))


def test_models_vote_only_for_their_classes():
    confident_wrong = np.array([[0.9, 0.1], [0.9, 0.1]])
    unsure_right = np.array([[0.4, 0.6], [0.4, 0.6]])
    both = {"a": confident_wrong, "b": unsure_right}
    assert ensemble_predict(both, {"a": {0, 1}, "b": {1}}).tolist() == [0, 0]
    assert ensemble_predict(both, {"a": {0}, "b": {1}}).tolist() == [0, 0]
    scores = ensemble_scores(both, {"b": {1}})
    assert scores[:, 0].tolist() == [0.0, 0.0] and (scores[:, 1] > 0).all()


def test_the_ensemble_beats_each_member_when_they_are_expert_on_different_classes():
    rng = np.random.default_rng(0)
    labels = rng.integers(0, 2, 400)

    def expert(on: int) -> np.ndarray:
        logits = rng.normal(0, 1, (400, 2))
        logits[labels == on, on] += 4
        return softmax(logits)

    a, b = expert(0), expert(1)
    single = max(np.mean(a.argmax(1) == labels), np.mean(b.argmax(1) == labels))
    combined = np.mean(ensemble_predict({"a": a, "b": b}, {"a": {0}, "b": {1}}) == labels)
    assert combined > single


def test_combine_heads_covers_classes_within_the_budget():
    heads = {"shapes": {0: 0.9, 1: 0.8}, "colours": {2: 0.7}, "weak": {0: 0.2, 2: 0.1}}
    assert combine_heads(heads, 4, budget=2) == {"shapes": {0, 1}, "colours": {2}}
    assert combine_heads(heads, 4, budget=1) == {"shapes": {0, 1}}


def test_head_class_scores_weight_the_heads_of_each_class():
    probabilities = np.array([[0.5, 0.3, 0.2], [0.1, 0.1, 0.8]])
    heads = ["red", "crimson", None]
    classes = [{"red": 0.5, "crimson": 0.5}, {"crimson": 1.0}, {"navy": 1.0}]
    scores = head_class_scores(probabilities, heads, classes)
    np.testing.assert_allclose(scores, [[0.4, 0.3, 0.0], [0.1, 0.1, 0.0]])


def test_the_fallback_answers_only_unassigned_classes():
    heads = {"clf": np.array([[0.9, 0.1, 0.0], [0.2, 0.8, 0.0], [0.5, 0.5, 0.0]])}
    fallback = np.array([[0.1, 0.1, 0.8], [0.1, 0.1, 0.8], [0.0, 0.0, 1.0]])
    predictions = heads_with_fallback_predict(heads, {"clf": {0, 1}}, fallback, 3)
    assert predictions.tolist() == [0, 1, 2]  # the confident fallback wins the tied row
    assert heads_with_fallback_predict(heads, {"clf": {0, 1}}, None, 3).tolist() == [0, 1, 0]
