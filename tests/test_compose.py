"""docker-compose.yml is valid for Compose itself, with and without the gpu profile (when
a Compose is installed: none is on the machines this was developed on, and no Docker
engine runs there, so nothing is built or started)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _compose() -> list[str] | None:
    if shutil.which("docker"):
        probe = subprocess.run(["docker", "compose", "version"], capture_output=True)
        if probe.returncode == 0:
            return ["docker", "compose"]
    return ["docker-compose"] if shutil.which("docker-compose") else None


EXPECTED = {
    None: {"notesqa"},
    "gpu": {"notesqa", "vllm"},
    "milvus": {"notesqa", "etcd", "minio", "milvus"},
}


@pytest.mark.parametrize("profile", list(EXPECTED))
def test_compose_config_is_valid(profile: str | None) -> None:
    compose = _compose()
    if compose is None:
        pytest.skip("no Docker Compose installed")
    command = [*compose, "-f", str(ROOT / "docker-compose.yml")]
    command += ["--profile", profile] if profile else []
    result = subprocess.run([*command, "config", "--services"], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    services = set(result.stdout.split())
    assert services == EXPECTED[profile]
