"""Snapshot bodies as agents send them, and cheap variants of one snapshot under new ids."""

from __future__ import annotations

import gzip
import struct
import uuid
import zlib

from protocol.snapshot import ClusterSnapshot


def encode_snapshot(snapshot: ClusterSnapshot, *, compresslevel: int = 6) -> tuple[bytes, bytes]:
    """The snapshot's JSON as an agent sends it, and that JSON gzipped."""
    raw = snapshot.model_dump_json().encode()
    return raw, gzip.compress(raw, compresslevel=compresslevel, mtime=0)


_GZIP_HEADER = b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\xff"
_UUID_CHARS = 36


class SnapshotVariants:
    """The same snapshot under many snapshot ids, as JSON or as gzip, without recompressing it.

    The id sits near the start of the JSON. The rest is deflated once from a fresh window; each
    variant deflates only the short head (ending in a full flush, so that the reused tail never
    refers back into it) and recomputes the CRC, which makes a valid gzip member in about a
    millisecond instead of tens.
    """

    def __init__(
        self, raw: bytes, *, compresslevel: int = 6, id_field: str = "snapshot_id"
    ) -> None:
        """Variants of `raw` by the id in its `id_field` (`delta_id` for a delta)."""
        marker = f'"{id_field}":"'.encode()
        start = raw.index(marker) + len(marker)
        self._head = raw[:start]
        self._tail = raw[start + _UUID_CHARS :]
        self._level = compresslevel
        tail = zlib.compressobj(compresslevel, zlib.DEFLATED, -zlib.MAX_WBITS)
        self._tail_deflated = tail.compress(self._tail) + tail.flush(zlib.Z_FINISH)
        self.json_bytes = len(raw)

    def json(self, snapshot_id: uuid.UUID) -> bytes:
        """The snapshot's JSON with `snapshot_id`."""
        return b"".join((self._head, str(snapshot_id).encode(), self._tail))

    def gzip(self, snapshot_id: uuid.UUID) -> bytes:
        """The gzip body of the snapshot with `snapshot_id`."""
        head = self._head + str(snapshot_id).encode()
        deflater = zlib.compressobj(self._level, zlib.DEFLATED, -zlib.MAX_WBITS)
        deflated_head = deflater.compress(head) + deflater.flush(zlib.Z_FULL_FLUSH)
        crc = zlib.crc32(self._tail, zlib.crc32(head))
        trailer = struct.pack("<II", crc, (len(head) + len(self._tail)) & 0xFFFFFFFF)
        return b"".join((_GZIP_HEADER, deflated_head, self._tail_deflated, trailer))
