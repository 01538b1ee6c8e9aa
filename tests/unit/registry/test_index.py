import shutil

from hubscout.settings import Settings
from registry.index import HubIndex
from registry.store import RegistryStore


def test_the_index_is_reused_until_a_retire_raises_the_hub_version(labeled_data_dir, tmp_path):
    data = tmp_path / "data"
    shutil.copytree(labeled_data_dir, data)
    store = RegistryStore(f"sqlite:///{data / 'registry.db'}")
    try:
        index = HubIndex(store, Settings(data_dir=data))
        hub, selection = index.current()
        assert hub.version == selection.hub_version == 1
        assert index.current() == (hub, selection)
        assert index.current()[1] is selection  # the same version is not indexed again

        labeled = selection.matrices["vlm"].models
        retired = labeled[0]
        store.retire(retired)
        new_hub, new_selection = index.current()
        assert new_hub.version == new_selection.hub_version == 2
        assert new_selection.matrices["vlm"].models == labeled[1:]
        assert new_selection.matcher is selection.matcher  # the concept graph is embedded once
    finally:
        store.close()
