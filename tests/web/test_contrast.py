"""The dashboard's colours meet WCAG AA contrast: 4.5:1 for text, 3:1 for focus rings and
control borders (computed from iroa.css, so a changed colour is checked again)."""

from __future__ import annotations

import re

import pytest

from iroa.web import STATIC_DIR

CSS = (STATIC_DIR / "iroa.css").read_text()
VARIABLES = dict(re.findall(r"--([a-z-]+):\s*(#[0-9a-fA-F]{6})", CSS))


def colour(name: str) -> str:
    return VARIABLES[name.removeprefix("var:")] if name.startswith("var:") else name


def luminance(hex_colour: str) -> float:
    channels = [int(hex_colour[i : i + 2], 16) / 255 for i in (1, 3, 5)]
    r, g, b = (c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels)
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def contrast(a: str, b: str) -> float:
    high, low = sorted((luminance(colour(a)), luminance(colour(b))), reverse=True)
    return (high + 0.05) / (low + 0.05)


def declared(selector: str, prop: str) -> str:
    """The first hex colour of ``prop`` in the rule that starts a line with ``selector``."""
    rule = re.search(r"(?m)^" + re.escape(selector) + r"\s*\{([^}]*)\}", CSS)
    assert rule is not None, selector
    value = re.search(
        rf"(?<![-\w]){prop}:\s*[^;]*?(#[0-9a-fA-F]{{6}}|var\(--([a-z-]+)\))", rule.group(1)
    )
    assert value is not None, (selector, prop)
    return value.group(1) if value.group(1).startswith("#") else VARIABLES[value.group(2)]


HEADER = declared("header.top", "background")
TEXT_PAIRS = [
    ("var:fg", "var:bg"),
    ("var:fg", "var:panel"),
    ("var:muted", "var:bg"),
    ("var:muted", "var:panel"),
    ("var:accent", "var:bg"),
    ("var:accent", "var:panel"),
    ("var:ok", "var:bg"),
    ("var:bad", "var:bg"),
    ("var:warn", "var:bg"),
    ("var:warn", "var:panel"),
    ("#ffffff", HEADER),
    ("#ffffff", "#2b5583"),
    ("#ffffff", "var:accent"),
    ("#ffffff", "var:accent-dark"),
    ("#ffffff", declared("button.danger", "background")),
    ("var:ok", declared(".notice", "background")),
    ("var:bad", declared(".error", "background")),
    (declared(".warning", "color"), declared(".warning", "background")),
    ("var:accent", declared(".warning", "background")),
    (declared(".notice-info", "color"), declared(".notice-info", "background")),
    ("var:accent", declared(".notice-info", "background")),
]


@pytest.mark.parametrize(("fg", "bg"), TEXT_PAIRS)
def test_text_colours_reach_4_5_to_1(fg: str, bg: str) -> None:
    assert contrast(fg, bg) >= 4.5, (fg, bg, round(contrast(fg, bg), 2))


def test_the_focus_ring_reaches_3_to_1_on_light_and_dark_backgrounds() -> None:
    rule = re.search(r":focus-visible \{([^}]*)\}", CSS)
    assert rule is not None
    outline, shadow = re.findall(r"#[0-9a-fA-F]{6}", rule.group(1))
    assert contrast(shadow, "var:bg") >= 3 and contrast(shadow, "var:panel") >= 3
    assert contrast(outline, HEADER) >= 3


def test_form_control_borders_reach_3_to_1() -> None:
    assert contrast(declared("input, select", "border"), "var:bg") >= 3
