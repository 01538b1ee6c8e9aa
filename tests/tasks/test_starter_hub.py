from dataclasses import replace

from hubscout.starter.build import HubParams, checkpoint_path, write_manifest
from hubscout.starter.catalog import GENERATORS
from tasks.starter_hub import _listed, fidelity_key


def test_the_fidelity_cache_key_moves_with_every_input_it_depends_on():
    recipes, hashes = list(GENERATORS[:2]), ["a" * 64, "b" * 64]
    params = HubParams(profile="tiny")
    key = fidelity_key(recipes, hashes, params)
    assert len(key) == 40 and key == fidelity_key(list(recipes), list(hashes), params)
    assert fidelity_key(recipes, ["a" * 64, "c" * 64], params) != key  # a retrained generator
    assert fidelity_key(recipes, hashes, HubParams(profile="tiny", seed=1)) != key
    assert fidelity_key(recipes, hashes, HubParams(profile="full")) != key  # the judge's steps
    renamed = [replace(recipes[0], name="gen-other"), recipes[1]]
    assert fidelity_key(renamed, hashes, params) != key


def test_models_an_earlier_run_listed_stay_listed_while_they_are_checked_again(tmp_path):
    recipes = HubParams(profile="tiny").recipes()
    assert _listed(tmp_path, recipes) == set()  # no manifest yet
    write_manifest(tmp_path, recipes[:2], planned=recipes)
    saved = checkpoint_path(tmp_path, recipes[0])
    saved.parent.mkdir(parents=True, exist_ok=True)
    saved.write_bytes(b"weights")
    assert _listed(tmp_path, recipes) == {recipes[0].name}  # the second's checkpoint is gone
    assert _listed(tmp_path, recipes[1:]) == set()  # no longer in the profile
