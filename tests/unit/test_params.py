import pytest

from hubscout.errors import ConfigError
from hubscout.params import IdentificationParams, SelectionParams, read_params, read_section


def test_sections_are_typed_with_their_defaults(tmp_path):
    path = tmp_path / "params.yaml"
    path.write_text("selection:\n  k: 3\nidentification:\n  seed: 2\n  per_prompt: 4\n")
    assert read_section(path, "selection", SelectionParams).k == 3
    identification = read_section(path, "identification", IdentificationParams)
    assert (identification.seed, identification.per_prompt) == (2, 4)
    assert (identification.spec_prompts, identification.reference_encoder) == (48, None)
    assert read_params(path, "selection") == {"k": 3}


def test_a_bad_section_is_one_config_error_naming_the_key(tmp_path):
    path = tmp_path / "params.yaml"
    path.write_text("selection:\n  k: 0\n  top: 2\n")
    with pytest.raises(ConfigError, match=r"selection\.k: Input should be greater than"):
        read_section(path, "selection", SelectionParams)
    with pytest.raises(ConfigError, match="has no 'identification' section"):
        read_section(path, "identification", IdentificationParams)
    with pytest.raises(ConfigError, match="not found"):
        read_section(tmp_path / "none.yaml", "selection", SelectionParams)


def test_too_few_rkme_queries_for_the_benchmarks_are_refused(tmp_path):
    path = tmp_path / "params.yaml"
    path.write_text("identification:\n  rkme_queries: 49\n")
    with pytest.raises(ConfigError, match=r"identification\.rkme_queries: .*greater than or"):
        read_section(path, "identification", IdentificationParams)
