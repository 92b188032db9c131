"""Ask ivy's server whether a key is valid, exactly the way the installed ivy release asks it.

0.0.9.0 (key.pem scheme) sends `GET <key server>/apikey/<first line as read>` and accepts only
HTTP 200 with a non-null `user_id`; the IVY_KEY scheme POSTs `{"api_key": ...}` to
`<console>/verify_api_key/` and accepts a reply whose `valid` is true. Only a server's answer can
make a key `invalid`; every failure to get one is `unverified` with its class, never a false
verdict. The key travels in the URL path of the GET (as ivy sends it): that URL is never logged,
printed or kept, and every error text is scrubbed of it. `requests` is imported lazily.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from ivy_setup_tui.core import facts as F
from ivy_setup_tui.core.context import SystemContext
from ivy_setup_tui.core.model import Finding, Fix, Status
from ivy_setup_tui.core.network import (
    advice,
    classify_exception,
    make_session,
    proxies_for,
    redact_url,
)
from ivy_setup_tui.core.secrets import REDACTED, fingerprint, redact, redact_apikey_paths
from ivy_setup_tui.core.steps.key.keyfile import read_key_line

if TYPE_CHECKING:
    import requests

    from ivy_setup_tui.core.steps.key.check import KeyLookup

CHECK_ID = "key.verified"
VALID = "valid"
INVALID = "invalid"
UNVERIFIED = "unverified"

# Answers that say nothing about the key: proxy auth, request timeout, rate limiting.
_NOT_A_VERDICT = frozenset({407, 408, 425, 429})


@dataclass(frozen=True)
class KeyVerification:
    """The server's verdict on one key: valid, invalid or unverified, with why, and no key."""

    result: str  # valid | invalid | unverified
    reason: str  # accepted | user_id_null | valid_false | http_<code> | dns | connect | ...
    detail: str
    endpoint: str  # apikey | verify_api_key
    url: str  # the endpoint with the key replaced by REDACTED
    fingerprint: str  # of exactly what was sent
    status_code: int | None = None
    elapsed_ms: int | None = None
    proxy: str | None = None

    def to_evidence(self) -> dict[str, Any]:
        """SPEC §3 `key.verified` evidence (result, reason) plus what was asked and how."""
        return {
            "result": self.result,
            "reason": self.reason,
            "detail": self.detail,
            "endpoint": self.endpoint,
            "url": self.url,
            "sent_fingerprint": self.fingerprint,
            "status_code": self.status_code,
            "elapsed_ms": self.elapsed_ms,
            "proxy": self.proxy,
        }


# --------------------------------------------------------------------------------------------
# Keeping the key out of every text


class _ScrubKeyPaths(logging.Filter):
    """Rewrites urllib3's debug lines (`"GET /apikey/<key> HTTP/1.1" 200`) before any handler."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if "/apikey/" in message:
            record.msg = redact_apikey_paths(message)
            record.args = None
        return True


_FILTER_LOCK = threading.Lock()
_FILTER_INSTALLED = False


def _install_log_filter() -> None:
    """Scrub the key path from urllib3's loggers, once per process (they log each request line)."""
    global _FILTER_INSTALLED
    with _FILTER_LOCK:
        if _FILTER_INSTALLED:
            return
        for name in ("urllib3.connectionpool", "urllib3"):
            logging.getLogger(name).addFilter(_ScrubKeyPaths())
        _FILTER_INSTALLED = True


# --------------------------------------------------------------------------------------------
# Asking the server


def _endpoint_for(scheme: str) -> str:
    # Unknown releases follow the 0.0.9.0 key.pem scheme, like the lookup does.
    return "verify_api_key" if scheme == F.IVY_KEY else "apikey"


def shown_url(ctx: SystemContext, scheme: str) -> str:
    """The URL the key goes to, with the key itself replaced by REDACTED (fit for display)."""
    endpoint = F.endpoints(ctx.env)[_endpoint_for(scheme)]
    return endpoint.url + REDACTED if endpoint.name == "apikey" else endpoint.url


def verify_key(
    ctx: SystemContext, sent: str, scheme: str, *, session: requests.Session | None = None
) -> KeyVerification:
    """Send `sent` exactly as ivy would for `scheme` and classify the answer; never raises.

    For the key.pem scheme `sent` is the first line of key.pem as ivy reads it (a trailing
    newline included); for the IVY_KEY scheme it is the value ivy posts. Uses the context's
    proxy and CA settings and `ctx.network_timeout` for connect and read.
    """
    name = _endpoint_for(scheme)
    endpoint = F.endpoints(ctx.env)[name]
    display = shown_url(ctx, scheme)
    sent_fp = fingerprint(sent)
    if ctx.offline:
        return KeyVerification(
            UNVERIFIED,
            "offline",
            "ivy-setup was asked to stay offline, so the key was not sent",
            name,
            display,
            sent_fp,
        )
    _install_log_filter()
    url = endpoint.url + sent if name == "apikey" else endpoint.url
    proxies = proxies_for(ctx.env, url)
    proxy = redact_url(proxies.get(urlsplit(url).scheme.lower()))
    own = session is None
    active = session if session is not None else make_session(ctx)
    timeout = (ctx.network_timeout, ctx.network_timeout)
    start = time.monotonic()
    try:
        if name == "apikey":
            response = active.get(url, proxies=proxies, timeout=timeout, allow_redirects=False)
        else:
            response = active.post(
                url,
                json={"api_key": sent},
                proxies=proxies,
                timeout=timeout,
                allow_redirects=False,
            )
        with response:
            code = response.status_code
            body = _json(response)
    except Exception as exc:  # noqa: BLE001 - every failure is classified, none escapes
        kind = classify_exception(exc)
        return KeyVerification(
            UNVERIFIED,
            kind,
            f"{advice(kind)} ({redact(_innermost(exc), sent)})",
            name,
            display,
            sent_fp,
            elapsed_ms=int((time.monotonic() - start) * 1000),
            proxy=proxy,
        )
    finally:
        if own:
            active.close()
    result, reason, detail = interpret(name, code, body)
    return KeyVerification(
        result,
        reason,
        detail,
        name,
        display,
        sent_fp,
        status_code=code,
        elapsed_ms=int((time.monotonic() - start) * 1000),
        proxy=proxy,
    )


def _json(response: requests.Response) -> object:
    try:
        return response.json()
    except ValueError:
        return None


def _innermost(exc: BaseException) -> str:
    current: BaseException = exc
    seen: set[int] = set()
    while id(current) not in seen:
        seen.add(id(current))
        nested = getattr(current, "reason", None) or current.__cause__ or current.__context__
        if not isinstance(nested, BaseException):
            break
        current = nested
    text = f"{type(current).__name__}: {current}"
    return text if len(text) <= 240 else text[:237] + "..."


def interpret(endpoint: str, code: int, body: object) -> tuple[str, str, str]:
    """(result, reason, detail) for the server's answer `code`/`body`, by the facts' rules."""
    if code == 200:
        field_name = "user_id" if endpoint == "apikey" else "valid"
        if not isinstance(body, dict) or field_name not in body:
            return (
                UNVERIFIED,
                "unexpected_reply",
                f"the server answered HTTP 200 without the `{field_name}` ivy looks for, so "
                "this says nothing about the key (a captive portal or proxy page?)",
            )
        value = body[field_name]
        if endpoint == "apikey":
            if value is None:
                return INVALID, "user_id_null", "the server answered with no user for this key"
            return VALID, "accepted", "the server answered HTTP 200 with a user for this key"
        if value is True:
            return VALID, "accepted", "the server answered that the key is valid"
        return INVALID, "valid_false", "the server answered that the key is not valid"
    if code == 407:
        return UNVERIFIED, "proxy_auth", advice("proxy_auth")
    if code in _NOT_A_VERDICT or code >= 500:
        return (
            UNVERIFIED,
            f"http_{code}",
            f"the server answered HTTP {code}, which says nothing about the key"
            + (" (a server-side error; it may be down)" if code >= 500 else ""),
        )
    if 400 <= code < 500:
        return INVALID, f"http_{code}", f"the server refused the key (HTTP {code})"
    return (
        UNVERIFIED,
        f"http_{code}",
        f"the server answered HTTP {code} instead of 200, so the key was not judged",
    )


# --------------------------------------------------------------------------------------------
# The check


def _release(facts: F.VersionFacts) -> str:
    return f"ivy {facts.version}" if facts.version else "ivy"


def _with_note(text: str, facts: F.VersionFacts) -> str:
    note = facts.assumed_note
    return f"{text} {note}" if note else text


def _sent_from_lookup(ctx: SystemContext, lookup: KeyLookup) -> tuple[str | None, str]:
    """(what ivy would send, where it comes from); None when the key cannot be read."""
    if lookup.source == "IVY_KEY":
        return ctx.env.get("IVY_KEY", ""), "the IVY_KEY variable"
    if lookup.path is None:
        return None, "no key"
    read = read_key_line(lookup.path)
    if lookup.scheme == F.IVY_KEY and read.readable and not read.raw:
        return None, "no key"  # the IVY_KEY scheme sends nothing for an empty file (0.0.9.2)
    return read.sent, ctx.tilde(lookup.path)


def _how(outcome: KeyVerification, release: str, origin: str, *, answered: bool) -> str:
    """What was sent where, as a sentence opening (the URL shows <key>, never the key)."""
    if outcome.endpoint == "apikey":
        verb = "sent" if answered else "tried to send"
        return f"ivy-setup {verb} what {release} sends ({outcome.url}, the key from {origin})"
    verb = "posted" if answered else "tried to post"
    return f"ivy-setup {verb} the key from {origin} to {outcome.url}, as {release} does"


def check(ctx: SystemContext, facts: F.VersionFacts, lookup: KeyLookup) -> Finding:
    """`key.verified` with consent (`--online`): send the key ivy would send, report the verdict."""
    sent, origin = _sent_from_lookup(ctx, lookup)
    if sent is None:
        return Finding(
            CHECK_ID,
            Status.SKIPPED,
            "The key could not be read to verify it",
            f"{origin} could not be read by ivy-setup (see key.content and permissions.key_file), "
            "so nothing was sent to ivy's server.",
            {"result": UNVERIFIED, "reason": "unreadable"},
        )
    outcome = verify_key(ctx, sent, facts.scheme)
    evidence = outcome.to_evidence()
    evidence["source"] = origin
    release = _release(facts)
    how = _how(outcome, release, origin, answered=outcome.status_code is not None)
    if outcome.result == VALID:
        return Finding(
            CHECK_ID,
            Status.OK,
            "ivy's server accepts the key",
            _with_note(f"{how}: {outcome.detail}.", facts),
            evidence,
        )
    if outcome.result == INVALID:
        line_141 = (
            " This is what ivy reports as 'Please sign up for free pilot access' at MC.pyx line "
            "141: the key was found and sent, and refused."
            if outcome.endpoint == "apikey"
            else " ivy reports this as 'Invalid api key. Your key may have now expired...'."
        )
        stripped = sent.strip()
        content_hint = (
            " What ivy sends has a newline or spaces around the key; `ivy-setup fix --only key` "
            "rewrites the file as the bare key, then verify again."
            if stripped != sent and stripped
            else " Check that you copied the whole key from your ivy account (including any "
            "trailing `=`), or get a new one, and place it with `ivy-setup fix --only key`."
        )
        gated = facts.release is not None and facts.release.key_gate
        return Finding(
            CHECK_ID,
            Status.ERROR if gated else Status.WARNING,
            "ivy's server refused the key",
            _with_note(f"{how}: {outcome.detail}.{line_141}{content_hint}", facts),
            evidence,
            Fix(
                "Place the correct key (a new one if it expired)",
                True,
                ("ivy-setup fix --only key --key-file PATH",),
            ),
        )
    return Finding(
        CHECK_ID,
        Status.WARNING,
        f"The key could not be verified ({outcome.reason})",
        _with_note(
            f"{how}, but got no verdict: {outcome.detail}. This is not a sign that the key is "
            "wrong; ivy itself would fail the same way from this machine (see "
            "network.reachability).",
            facts,
        ),
        evidence,
        Fix(
            "Make ivy's server reachable from here (network, firewall or proxy settings), then "
            "verify again",
            False,
            ("ivy-setup check --online",),
        ),
    )
