"""The cluster configs we ship: valid for Ray's launcher schema and KubeRay, secure by default."""

from pathlib import Path

import pytest
import yaml
from ray.autoscaler._private.util import prepare_config, validate_config

CLUSTER = Path(__file__).parents[2] / "cluster"
LAUNCHER = sorted((CLUSTER / "launcher").glob("*.yaml"))
KUBERAY = CLUSTER / "kuberay"


def test_there_are_aws_and_gcp_launcher_configs():
    assert {p.stem for p in LAUNCHER} >= {"aws", "gcp"}


@pytest.mark.parametrize("path", LAUNCHER, ids=lambda p: p.name)
def test_launcher_config_passes_rays_schema(path):
    config = yaml.safe_load(path.read_text())
    validate_config(prepare_config(config))
    types = config["available_node_types"]
    assert types[config["head_node_type"]]["resources"] == {"CPU": 0}
    workers = [t for name, t in types.items() if name != config["head_node_type"]]
    assert any(t["min_workers"] == 0 and t["max_workers"] > 0 for t in workers)  # autoscaling
    assert any("pip install" in c and "lenstune" in c for c in config["setup_commands"])


@pytest.mark.parametrize("path", LAUNCHER, ids=lambda p: p.name)
def test_launcher_config_keeps_auth_on_and_the_dashboard_local(path):
    config = yaml.safe_load(path.read_text())
    starts = config["head_start_ray_commands"] + config["worker_start_ray_commands"]
    assert all("RAY_AUTH_MODE=token" in c for c in starts if "ray start" in c)
    assert any("--dashboard-host=127.0.0.1" in c for c in config["head_start_ray_commands"])
    assert "~/.ray/auth_token" in config["file_mounts"]
    assert "0.0.0.0" not in path.read_text()


def test_a_broken_launcher_config_is_caught():
    config = yaml.safe_load(LAUNCHER[0].read_text())
    config["available_node_types"]["head"]["unexpected"] = 1
    with pytest.raises(Exception, match="unexpected"):
        validate_config(prepare_config(config))


def _check_cluster_spec(spec: dict) -> None:
    assert spec["rayVersion"] == "2.60.0"
    assert spec["authOptions"]["mode"] == "token"
    head = spec["headGroupSpec"]
    assert head["rayStartParams"]["dashboard-host"] == "127.0.0.1"
    assert head.get("serviceType", "ClusterIP") == "ClusterIP"
    assert head["template"]["spec"]["containers"][0]["image"]
    for group in spec["workerGroupSpecs"]:
        assert group["groupName"] and isinstance(group["rayStartParams"], dict)
        assert group["minReplicas"] <= group["replicas"] <= group["maxReplicas"]
        container = group["template"]["spec"]["containers"][0]
        assert container["image"] and container["resources"]["limits"]["nvidia.com/gpu"]


def test_kuberay_raycluster_is_well_formed():
    docs = list(yaml.safe_load_all((KUBERAY / "raycluster.yaml").read_text()))
    cluster = next(d for d in docs if d["kind"] == "RayCluster")
    assert cluster["apiVersion"] == "ray.io/v1" and cluster["metadata"]["name"]
    _check_cluster_spec(cluster["spec"])
    claim = next(d for d in docs if d["kind"] == "PersistentVolumeClaim")
    assert claim["spec"]["accessModes"] == ["ReadWriteMany"]  # storage every node reaches


def test_kuberay_rayjob_runs_the_search():
    job = yaml.safe_load((KUBERAY / "rayjob.yaml").read_text())
    assert job["apiVersion"] == "ray.io/v1" and job["kind"] == "RayJob"
    assert job["spec"]["entrypoint"].startswith("python -m search.run ")
    assert "--address auto" in job["spec"]["entrypoint"]
    _check_cluster_spec(job["spec"]["rayClusterSpec"])
