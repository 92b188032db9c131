"""`ivy-setup explain`: recognise ivy's error messages and tracebacks and say what they mean here.

The known signatures are data (`signatures.SIGNATURES`, the "What users see" table of
ivy-facts.md); `recognise` finds them and their clues in pasted text, `scrub` keeps keys out of
what is shown, `stream` reads long logs; given a `Diagnosis`, `relate` and `relate_key` relate each
match to this machine's key lookup, findings and installed ivy, in the words of `words`.
"""

from __future__ import annotations

from ivy_setup_tui.core.explain.explanation import Explanation, Match, explain
from ivy_setup_tui.core.explain.recognise import MAX_INPUT_CHARS, clean_text
from ivy_setup_tui.core.explain.render import render_explanation
from ivy_setup_tui.core.explain.scrub import scrub_key_like
from ivy_setup_tui.core.explain.signatures import SIGNATURES, Signature
from ivy_setup_tui.core.explain.stream import STREAM_LIMIT, StreamedText, stream_text

__all__ = [
    "MAX_INPUT_CHARS",
    "SIGNATURES",
    "STREAM_LIMIT",
    "Explanation",
    "Match",
    "Signature",
    "StreamedText",
    "clean_text",
    "explain",
    "render_explanation",
    "scrub_key_like",
    "stream_text",
]
