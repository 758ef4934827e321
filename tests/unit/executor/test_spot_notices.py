"""Reading spot notice files and bounding result payloads."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from pathlib import Path

from executor.execution import bounded, short
from executor.spot_fallback import read_notices
from protocol.snapshot import Provider
from protocol.spot import NoticeKind, SpotNotice


def _notice(node: str, minute: int) -> SpotNotice:
    return SpotNotice(
        notice_id=uuid.uuid4(),
        cluster_id=uuid.uuid4(),
        provider=Provider.AWS,
        kind=NoticeKind.TERMINATION,
        node_name=node,
        detected_at=datetime(2026, 3, 1, 12, minute, tzinfo=UTC),
        deadline=datetime(2026, 3, 1, 12, minute + 2, tzinfo=UTC),
    )


def test_notices_are_read_oldest_first_and_bad_files_skipped(tmp_path: Path) -> None:
    """Well-formed notice files parse, ordered by detection time; garbage is skipped."""
    late, early = _notice("b", 5), _notice("a", 1)
    (tmp_path / "1.json").write_text(late.model_dump_json(), encoding="utf-8")
    (tmp_path / "2.json").write_text(early.model_dump_json(), encoding="utf-8")
    (tmp_path / "3.json").write_text("{not json", encoding="utf-8")
    (tmp_path / "notes.txt").write_text("ignored", encoding="utf-8")
    assert read_notices(tmp_path) == [early, late]


def test_long_strings_in_results_are_cut() -> None:
    """Diff strings are cut to 4000 characters plus a marker; messages to 1000."""
    value = bounded({"data": {"k": "x" * 5000, "n": 1}, "list": ["y" * 4001]})
    assert len(value["data"]["k"]) == 4000 + len("...(truncated)")
    assert value["data"]["n"] == 1
    assert value["list"][0].endswith("...(truncated)")
    assert len(short("z" * 2000)) == 1000
