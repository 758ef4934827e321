"""Result payloads are bounded to what the wire models accept."""

from __future__ import annotations

from executor.execution import bounded, short


def test_long_strings_in_results_are_cut() -> None:
    """Diff strings are cut to 4000 characters plus a marker; messages to 1000."""
    value = bounded({"data": {"k": "x" * 5000, "n": 1}, "list": ["y" * 4001]})
    assert len(value["data"]["k"]) == 4000 + len("...(truncated)")
    assert value["data"]["n"] == 1
    assert value["list"][0].endswith("...(truncated)")
    assert len(short("z" * 2000)) == 1000
