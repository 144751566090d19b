"""compose.yaml and the nginx balancer, checked statically (no Docker engine on CI machines)."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from service.config import Settings

REPO = Path(__file__).resolve().parent.parent
NGINX_CONF = REPO / "deploy" / "nginx" / "nginx.conf"


def _compose() -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load((REPO / "compose.yaml").read_text(encoding="utf-8"))
    return data


def _replicas(compose: dict[str, Any]) -> dict[str, Any]:
    return {name: svc for name, svc in compose["services"].items() if name.startswith("docqa-")}


def test_compose_runs_two_replicas_of_the_image_on_one_redis_and_one_index_volume() -> None:
    compose = _compose()
    replicas = _replicas(compose)
    assert len(replicas) == 2
    for service in replicas.values():
        assert service["build"] == "."  # the Dockerfile next to compose.yaml
        env = service["environment"]
        assert env["DOCQA_REDIS_URL"].startswith("redis://redis:")
        assert set(env) <= {f"DOCQA_{name.upper()}" for name in Settings.model_fields}
        assert env["DOCQA_TRUSTED_PROXIES"]  # the balancer's X-Forwarded-For names the client
        assert "docqa-data:/data" in service["volumes"]
        assert service["depends_on"]["redis"]["condition"] == "service_healthy"
        assert "ports" not in service  # reachable only through the balancer
    assert {"docqa-data", "redis-data"} <= set(compose["volumes"])


def test_redis_in_compose_fsyncs_every_write() -> None:
    command = _compose()["services"]["redis"]["command"]
    flags = dict(zip(command[1::2], command[2::2], strict=False))
    assert flags["--appendonly"] == "yes" and flags["--appendfsync"] == "always"


def test_nginx_balances_over_every_replica_on_the_published_port() -> None:
    compose = _compose()
    conf = NGINX_CONF.read_text(encoding="utf-8")
    upstream = set(re.findall(r"^\s*server (docqa-\d+):8000\b", conf, re.MULTILINE))
    assert upstream == set(_replicas(compose))
    listen = re.search(r"^\s*listen (\d+);", conf, re.MULTILINE)
    assert listen and f"{listen.group(1)}:{listen.group(1)}" in compose["services"]["nginx"]["ports"]
    assert compose["services"]["nginx"]["build"] == "deploy/nginx"


@pytest.mark.skipif(shutil.which("nginx") is None, reason="nginx is not installed")
def test_nginx_accepts_the_balancer_config(tmp_path: Path) -> None:
    # Replica host names only resolve inside compose's network: point them at loopback here.
    conf = NGINX_CONF.read_text(encoding="utf-8")
    conf = re.sub(r"server docqa-\d+:", "server 127.0.0.1:", conf)
    conf = conf.replace("/run/nginx.pid", str(tmp_path / "nginx.pid"))
    conf = conf.replace("/var/log/nginx/access.log", str(tmp_path / "access.log"))
    (tmp_path / "nginx.conf").write_text(conf, encoding="utf-8")
    result = subprocess.run(
        [
            "nginx",
            "-t",
            "-p",
            str(tmp_path),
            "-c",
            str(tmp_path / "nginx.conf"),
            "-e",
            str(tmp_path / "error.log"),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
