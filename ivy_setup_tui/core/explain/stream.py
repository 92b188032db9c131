"""Reading a long log (`ivy-setup explain FILE|-`) with bounded memory, keeping every known error."""

from __future__ import annotations

import codecs
import re
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass

from ivy_setup_tui.core.explain.recognise import MC_FRAME
from ivy_setup_tui.core.explain.signatures import SIGNATURES

# Streaming long input (`ivy-setup explain FILE|-`): read at most STREAM_LIMIT bytes, keep the last
# WINDOW_CHARS characters whole, and from everything before them only the lines where a known
# signature (or an MC.pyx frame) occurs, so an error early in a huge log is still recognised.
STREAM_LIMIT = 64 * 1024 * 1024
# Window + one region + hits stay under MAX_INPUT_CHARS, so `explain` itself never cuts them.
WINDOW_CHARS = 280_000
HIT_BUDGET = 80_000
_HIT_LINE_CHARS = 2_000
_LONG_LINE = 1 << 16


@dataclass(frozen=True)
class StreamedText:
    """What `stream_text` kept of a long input, and how much of it that is."""

    text: str
    total_bytes: int
    partial: bool  # only the last part plus the lines with known errors are kept
    stopped: bool  # reading stopped at STREAM_LIMIT: the rest was not read at all

    def note(self) -> str | None:
        """One sentence saying the input was only partly shown or read, or None."""
        size = f"{self.total_bytes / (1024 * 1024):.1f} MB"
        if self.stopped:
            return (
                f"Note: the input is longer than {STREAM_LIMIT // (1024 * 1024)} MB; ivy-setup "
                f"read the first {size} only, searched all of that for known ivy errors, and "
                "shows the lines around each one plus the last part."
            )
        if self.partial:
            return (
                f"Note: the input is {size}; ivy-setup searched all of it for known ivy errors "
                "but keeps only the lines with them plus the last part (the rest is not shown)."
            )
        return None


def _hit_rx() -> tuple[re.Pattern[str], tuple[str, ...]]:
    """One regex for every signature (and MC.pyx frames), and lowercase words at least one of
    which any match must contain: a cheap test that lets most of a long log skip the regex."""
    patterns = [p for s in SIGNATURES for p in (*s.patterns, *s.requires)]
    patterns.append(MC_FRAME.pattern)
    anchors: set[str] = set()
    word = re.compile(r"(?<!\\)[A-Za-z_]{3,}")
    for pattern in patterns:
        outer = pattern
        while True:  # drop groups (they may be optional or alternatives): what must occur is left
            inner = re.sub(r"(?<!\\)\([^()]*\)", " ", outer)
            if inner == outer:
                break
            outer = inner
        words = [w.lower() for w in word.findall(outer)] or [
            w.lower() for w in word.findall(pattern)
        ]
        if "|" in outer or not word.findall(outer):
            anchors.update(words)  # alternatives: any of them may be the one that occurs
        elif words:
            anchors.add(max(words, key=len))
    rx = re.compile("|".join(f"(?:{p})" for p in patterns), re.IGNORECASE)
    return rx, tuple(sorted(anchors))


class _Window:
    """The last part of the input, region by region, each with its lines that hold a known error,
    and the error lines of the regions already dropped from it (the newest, up to HIT_BUDGET)."""

    def __init__(self) -> None:
        self.hit_rx, self.anchors = _hit_rx()
        self.regions: deque[tuple[str, list[str]]] = deque()
        self.chars = 0
        self.early: deque[str] = deque()  # hit lines of regions already dropped from the window
        self.early_chars = 0
        self.dropped = False

    def keep(self, region: str) -> None:
        """Add `region` (whole lines) and drop what falls out of the last WINDOW_CHARS."""
        self.regions.append((region, self._hits(region)))
        self.chars += len(region)
        while self.regions and self.chars - len(self.regions[0][0]) >= WINDOW_CHARS:
            old, old_hits = self.regions.popleft()
            self.chars -= len(old)
            self.dropped = True
            for line in old_hits:
                self.early.append(line)
                self.early_chars += len(line) + 1
            while self.early_chars > HIT_BUDGET:  # the newest errors matter most: drop the oldest
                self.early_chars -= len(self.early.popleft()) + 1

    def _hits(self, region: str) -> list[str]:
        found: list[str] = []
        lowered = region.lower()
        candidates = self.hit_rx.finditer(region) if any(a in lowered for a in self.anchors) else ()
        for m in candidates:
            start = region.rfind("\n", 0, m.start()) + 1
            end = region.find("\n", m.end())
            line = region[start : end if end >= 0 else len(region)][:_HIT_LINE_CHARS]
            if not found or found[-1] != line:
                found.append(line)
        return found

    def text(self) -> str:
        """What is kept: the early error lines (when anything was dropped), then the last part."""
        body = "".join(region for region, _ in self.regions)
        if not self.dropped:
            return body
        return "\n".join(self.early) + ("\n…\n" if self.early else "") + body


def stream_text(chunks: Iterable[bytes], *, limit: int = STREAM_LIMIT) -> StreamedText:
    """Decode `chunks` (UTF-8, errors replaced) with bounded memory, searching all of it.

    Memory stays near WINDOW_CHARS + HIT_BUDGET characters whatever the input's length.
    """
    window = _Window()
    decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
    pending = ""
    total = 0
    stopped = False
    for chunk in chunks:
        if total + len(chunk) > limit:
            chunk = chunk[: limit - total]
            stopped = True
        total += len(chunk)
        pending += decoder.decode(chunk.replace(b"\x00", b""))
        cut = pending.rfind("\n") + 1
        if cut == 0 and len(pending) > _LONG_LINE:
            cut = len(pending)  # one endless line: process it in slices
        if cut:
            window.keep(pending[:cut])
            pending = pending[cut:]
        if stopped:
            break
    pending += decoder.decode(b"", final=True)
    if pending:
        window.keep(pending)
    return StreamedText(window.text(), total, partial=window.dropped, stopped=stopped)
