import pytest

from cluster import runtime
from trainables.errors import UserError


def _nodes(*addresses):
    return lambda: [{"NodeManagerAddress": a, "Alive": True} for a in addresses]


def test_node_local_storage_is_refused_on_a_cluster_of_several_machines(monkeypatch, tmp_path):
    monkeypatch.setattr(runtime.ray, "nodes", _nodes("10.0.0.1", "10.0.0.2"))
    with pytest.raises(UserError, match="node-local folder .* 2 machines"):
        runtime.check_storage_reachable(str(tmp_path))
    runtime.check_storage_reachable("s3://bucket/lenstune")  # a URI every node reaches
    monkeypatch.setattr(runtime, "filesystem_type", lambda path: "nfs4")
    runtime.check_storage_reachable(str(tmp_path))  # a shared filesystem


def test_one_machine_may_use_a_local_folder(monkeypatch, tmp_path):
    monkeypatch.setattr(runtime.ray, "nodes", _nodes("127.0.0.1", "127.0.0.1"))
    runtime.check_storage_reachable(str(tmp_path))


def test_filesystem_type_of_a_local_folder(tmp_path):
    assert runtime.filesystem_type(str(tmp_path)) not in runtime.NETWORK_FILESYSTEMS
