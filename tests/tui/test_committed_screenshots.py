"""The committed screenshots show a real-looking home: no temporary folder, no key."""

from __future__ import annotations

import re
from pathlib import Path
from types import ModuleType

SCREENSHOTS = Path(__file__).resolve().parents[2] / "screenshots"


def _text(path: Path) -> str:
    return re.sub(r"&#160;", " ", path.read_text(encoding="utf-8"))


def test_no_committed_screenshot_holds_a_temporary_path_or_the_key(shots: ModuleType) -> None:
    svgs = sorted(SCREENSHOTS.glob("*.svg"))
    assert len(svgs) >= 10
    key: str = shots.DEMO_KEY
    pieces = {k[i : i + 12] for k in (key, key[::-1]) for i in range(len(k) - 11)}
    for path in svgs:
        text = _text(path)
        for temporary in ("/tmp/", "pytest-of-", "ivy-setup-screens", "/var/folders/"):
            assert temporary not in text, f"{path.name} shows {temporary}"
        assert not [p for p in pieces if p in text], f"{path.name} shows the key"
    assert (SCREENSHOTS / "history.svg").exists()


def test_the_screenshots_show_the_sandbox_as_a_home() -> None:
    text = _text(SCREENSHOTS / "overview.svg")
    assert "~/projects/demo" in text


def test_each_screenshot_is_a_whole_screen_from_its_top() -> None:
    # The key input shot starts at the panel's first line, not halfway down a command.
    assert "Give the ivy API key" in _text(SCREENSHOTS / "key-input.svg")
    for path in SCREENSHOTS.glob("*.svg"):
        assert "API key work" in _text(path), path.name  # the header is there: a whole screen
