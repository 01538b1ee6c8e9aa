from dataclasses import replace

from hubscout.starter.build import HubParams
from hubscout.starter.catalog import GENERATORS
from tasks.starter_hub import fidelity_key


def test_the_fidelity_cache_key_moves_with_every_input_it_depends_on():
    specs, hashes = list(GENERATORS[:2]), ["a" * 64, "b" * 64]
    params = HubParams(profile="tiny")
    key = fidelity_key(specs, hashes, params)
    assert len(key) == 40 and key == fidelity_key(list(specs), list(hashes), params)
    assert fidelity_key(specs, ["a" * 64, "c" * 64], params) != key  # a retrained generator
    assert fidelity_key(specs, hashes, HubParams(profile="tiny", seed=1)) != key
    assert fidelity_key(specs, hashes, HubParams(profile="full")) != key  # the judge's steps
    renamed = [replace(specs[0], name="gen-other"), specs[1]]
    assert fidelity_key(renamed, hashes, params) != key
