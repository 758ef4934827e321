"""A tiny SVG writer: every text and attribute value is escaped, styling is by CSS class only.

Charts are drawn on the server as inline SVG, so they need no script and no third-party code.
The content security policy forbids inline styles, so elements carry classes the console's
stylesheet colours; values that came from a customer's cluster (workload names in titles, for
example) pass through `escape` like everything else.
"""

from __future__ import annotations

from markupsafe import Markup, escape


def _number(value: float) -> str:
    return f"{value:.2f}".rstrip("0").rstrip(".")


def _attributes(attributes: dict[str, str | float]) -> str:
    parts = []
    for name, value in attributes.items():
        text = _number(value) if isinstance(value, int | float) else value
        parts.append(f' {name.rstrip("_").replace("_", "-")}="{escape(text)}"')
    return "".join(parts)


class Svg:
    """Collects SVG elements and renders them as one escaped `<svg>` element."""

    def __init__(self, width: float, height: float, *, label: str, css_class: str) -> None:
        self.width = width
        self.height = height
        self._label = label
        self._class = css_class
        self._parts: list[str] = []

    def rect(
        self, x: float, y: float, w: float, h: float, *, css_class: str, tip: str = ""
    ) -> None:
        """A rectangle, with an optional hover tip (an SVG `<title>`)."""
        attributes = _attributes({"x": x, "y": y, "width": max(w, 0.0), "height": max(h, 0.0)})
        inner = f"<title>{escape(tip)}</title>" if tip else ""
        self._parts.append(f'<rect{attributes} class="{escape(css_class)}">{inner}</rect>')

    def line(self, x1: float, y1: float, x2: float, y2: float, css_class: str) -> None:
        """A straight line."""
        attributes = _attributes({"x1": x1, "y1": y1, "x2": x2, "y2": y2})
        self._parts.append(f'<line{attributes} class="{escape(css_class)}"/>')

    def polyline(self, points: list[tuple[float, float]], css_class: str) -> None:
        """A line through `points` (nothing for fewer than two)."""
        if len(points) < 2:
            return
        text = " ".join(f"{_number(x)},{_number(y)}" for x, y in points)
        self._parts.append(f'<polyline points="{text}" class="{escape(css_class)}"/>')

    def circle(self, x: float, y: float, r: float, css_class: str, tip: str = "") -> None:
        """A dot, with an optional hover tip."""
        inner = f"<title>{escape(tip)}</title>" if tip else ""
        attributes = _attributes({"cx": x, "cy": y, "r": r})
        self._parts.append(f'<circle{attributes} class="{escape(css_class)}">{inner}</circle>')

    def text(
        self, x: float, y: float, content: str, css_class: str, *, anchor: str = "start"
    ) -> None:
        """A text label; `content` is escaped."""
        attributes = _attributes({"x": x, "y": y, "text_anchor": anchor})
        self._parts.append(
            f'<text{attributes} class="{escape(css_class)}">{escape(content)}</text>'
        )

    def render(self, description: str = "") -> Markup:
        """The finished element, labelled for screen readers."""
        head = (
            f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {_number(self.width)} '
            f'{_number(self.height)}" class="{escape(self._class)}" role="img">'
            f"<title>{escape(self._label)}</title>"
        )
        desc = f"<desc>{escape(description)}</desc>" if description else ""
        # Every piece was escaped as it was added.
        return Markup(head + desc + "".join(self._parts) + "</svg>")  # noqa: S704
