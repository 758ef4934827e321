"""`safe_next`: where the browser may go after signing in."""

from __future__ import annotations

import pytest

from gateway.console.pages.signin import HOME, safe_next


@pytest.mark.parametrize(
    "target",
    [
        "/console",
        "/console/recommendations?kind=spot",
        "/console/audit?before=3",
        "/console?page=2",
    ],
)
def test_console_paths_are_kept(target: str) -> None:
    """A path inside the console is where the user was going: kept as it is."""
    assert safe_next(target) == target


@pytest.mark.parametrize(
    "target",
    [
        None,
        "",
        "https://evil.example/console",
        "//evil.example/console",
        "/\\evil.example",
        "/console\\..\\evil",
        "/console\r\nLocation: https://evil.example",
        "/console\t/x",
        "javascript:alert(1)",
        "http:/console",
        "/consoleevil",
        "/other",
    ],
)
def test_anything_else_lands_on_the_console(target: str | None) -> None:
    """Other sites, schemes, backslashes, control characters and other paths go home."""
    assert safe_next(target) == HOME
