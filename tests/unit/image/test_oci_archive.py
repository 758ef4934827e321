"""The OCI archive writer produces a layout whose blobs match their digests and unpacks back."""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import tarfile
from pathlib import Path

import pytest

from image.oci_archive import ArchiveError, read_manifest, unpack, write_archive

CONFIG = {"architecture": "amd64", "os": "linux", "config": {"User": "10001:10001"}}


def _layer(path: Path, files: dict[str, bytes]) -> Path:
    with tarfile.open(path, "w") as archive:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    return path


def _blob(archive_path: Path, digest: str) -> bytes:
    with tarfile.open(archive_path) as archive:
        member = archive.extractfile(f"blobs/sha256/{digest.removeprefix('sha256:')}")
        assert member is not None
        return member.read()


@pytest.fixture
def layers(tmp_path: Path) -> list[Path]:
    """A base layer and an app layer that replaces one of its files."""
    return [
        _layer(tmp_path / "base.tar", {"etc/passwd": b"root\n", "usr/bin/tool": b"base"}),
        _layer(tmp_path / "app.tar", {"etc/passwd": b"root\nslicewise\n", "opt/app": b"app"}),
    ]


def test_every_blob_matches_its_digest_and_diff_ids_are_the_plain_layers(
    tmp_path: Path, layers: list[Path]
) -> None:
    """Manifest, config and gzip layers are content-addressed; diff ids hash the plain tars."""
    out = tmp_path / "image.tar"
    write_archive(out, layers, CONFIG, tag="0.1.0")
    manifest = read_manifest(out, "0.1.0")
    config = json.loads(_blob(out, manifest["config"]["digest"]))
    for descriptor in [manifest["config"], *manifest["layers"]]:
        data = _blob(out, descriptor["digest"])
        assert descriptor["digest"] == f"sha256:{hashlib.sha256(data).hexdigest()}"
        assert descriptor["size"] == len(data)
    plain = [
        f"sha256:{hashlib.sha256(gzip.decompress(_blob(out, d['digest']))).hexdigest()}"
        for d in manifest["layers"]
    ]
    assert config["rootfs"]["diff_ids"] == plain
    assert plain == [f"sha256:{hashlib.sha256(p.read_bytes()).hexdigest()}" for p in layers]
    assert config["config"] == CONFIG["config"]


def test_the_same_layers_give_the_same_manifest_digest(tmp_path: Path, layers: list[Path]) -> None:
    """Writing twice from identical inputs yields an identical image."""
    first = write_archive(tmp_path / "a.tar", layers, CONFIG, tag="0.1.0")
    second = write_archive(tmp_path / "b.tar", layers, CONFIG, tag="0.1.0")
    assert first.manifest == second.manifest


def test_unpack_applies_layers_bottom_first(tmp_path: Path, layers: list[Path]) -> None:
    """A file of the upper layer replaces the base's; other files of both are present."""
    out = tmp_path / "image.tar"
    write_archive(out, layers, CONFIG, tag="0.1.0")
    target = tmp_path / "rootfs"
    unpack(out, target)
    assert (target / "etc/passwd").read_bytes() == b"root\nslicewise\n"
    assert (target / "usr/bin/tool").read_bytes() == b"base"
    assert (target / "opt/app").read_bytes() == b"app"


def test_a_manifest_under_another_tag_is_not_found(tmp_path: Path, layers: list[Path]) -> None:
    """Asking for a tag the index does not name is an ArchiveError."""
    out = tmp_path / "image.tar"
    write_archive(out, layers, CONFIG, tag="0.1.0")
    with pytest.raises(ArchiveError, match=r"tagged '9\.9\.9'"):
        read_manifest(out, "9.9.9")
