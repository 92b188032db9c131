"""key.verified against a real local HTTP server answering like ivy's servers (facts), plus a
closed port and a slow answer. The key must never show up in any text, log line or evidence.
"""

from __future__ import annotations

import json
import logging
import socket
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from pytest_httpserver import HTTPServer
from werkzeug.wrappers import Request, Response

from ivy_setup_tui.core import secrets
from ivy_setup_tui.core.context import SystemContext
from ivy_setup_tui.core.facts import CONSOLE_ENV, KEY_SERVER_ENV, facts_for
from ivy_setup_tui.core.model import Status
from ivy_setup_tui.core.steps.key import check as keys
from ivy_setup_tui.core.steps.key import verify

MakeCtx = Callable[..., SystemContext]
KEY = "dGhpc2lzYXRlc3RrZXlmb3JpdnlzZXR1cA=="
GATED = facts_for("0.0.9.0")
IVY_KEY_SCHEME = facts_for("0.0.9.2")


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def base(server: HTTPServer) -> str:
    return server.url_for("/").rstrip("/")


@pytest.fixture
def online(make_ctx: MakeCtx, monkeypatch: pytest.MonkeyPatch) -> Callable[..., SystemContext]:
    """An online context whose endpoints default to a dead loopback port."""
    monkeypatch.delenv("no_proxy", raising=False)

    def build(env: dict[str, str] | None = None, timeout: float = 2.0) -> SystemContext:
        dead = f"http://127.0.0.1:{closed_port()}"
        extra = {KEY_SERVER_ENV: dead, CONSOLE_ENV: dead, **(env or {})}
        return make_ctx(offline=False, online=True, network_timeout=timeout, env_extra=extra)

    return build


def no_key_in(*texts: object) -> None:
    for text in texts:
        dumped = text if isinstance(text, str) else json.dumps(text)
        assert KEY not in dumped
        assert KEY.rstrip("=") not in dumped  # nor its percent-encoded form


# --- the GET of 0.0.9.0 --------------------------------------------------------------------------


def test_user_id_means_valid(online: Callable[..., SystemContext], httpserver: HTTPServer) -> None:
    httpserver.expect_request(f"/apikey/{KEY}", method="GET").respond_with_json({"user_id": 42})
    result = verify.verify_key(online({KEY_SERVER_ENV: base(httpserver)}), KEY, "key.pem")
    assert (result.result, result.reason, result.status_code) == ("valid", "accepted", 200)
    assert result.url.endswith("/apikey/<key>")
    no_key_in(result.to_evidence())


def test_the_line_is_sent_exactly_as_ivy_reads_it(
    online: Callable[..., SystemContext], httpserver: HTTPServer
) -> None:
    seen: list[str] = []

    def handler(request: Request) -> Response:
        seen.append(request.path)
        return Response(json.dumps({"user_id": None}), content_type="application/json")

    httpserver.expect_request("/apikey/" + KEY + "\n").respond_with_handler(handler)
    result = verify.verify_key(online({KEY_SERVER_ENV: base(httpserver)}), KEY + "\n", "key.pem")
    assert seen == ["/apikey/" + KEY + "\n"]  # the trailing newline travels, as with ivy
    assert (result.result, result.reason) == ("invalid", "user_id_null")


@pytest.mark.parametrize(
    ("status", "body", "result", "reason"),
    [
        (200, {"user_id": None}, "invalid", "user_id_null"),
        (401, {"detail": "bad key"}, "invalid", "http_401"),
        (404, None, "invalid", "http_404"),
        (500, None, "unverified", "http_500"),
        (503, None, "unverified", "http_503"),
        (429, None, "unverified", "http_429"),
        (200, {"hello": "portal"}, "unverified", "unexpected_reply"),
        (301, None, "unverified", "http_301"),
    ],
)
def test_answers_are_classified_by_the_facts(
    online: Callable[..., SystemContext],
    httpserver: HTTPServer,
    status: int,
    body: object,
    result: str,
    reason: str,
) -> None:
    httpserver.expect_request(f"/apikey/{KEY}").respond_with_data(
        json.dumps(body) if body is not None else "<html>", status=status
    )
    outcome = verify.verify_key(online({KEY_SERVER_ENV: base(httpserver)}), KEY, "key.pem")
    assert (outcome.result, outcome.reason) == (result, reason)
    no_key_in(outcome.to_evidence())


def test_connection_refused_is_unverified_and_redacted(
    online: Callable[..., SystemContext],
) -> None:
    outcome = verify.verify_key(online(), KEY, "key.pem")
    assert (outcome.result, outcome.reason) == ("unverified", "connect")
    no_key_in(outcome.detail, outcome.to_evidence())
    assert "/apikey/<key>" in outcome.detail or "refused" in outcome.detail.lower()


def test_a_slow_server_is_a_timeout(
    online: Callable[..., SystemContext], httpserver: HTTPServer
) -> None:
    def slow(request: Request) -> Response:
        time.sleep(2.0)
        return Response(json.dumps({"user_id": 1}), content_type="application/json")

    httpserver.expect_request(f"/apikey/{KEY}").respond_with_handler(slow)
    start = time.monotonic()
    outcome = verify.verify_key(
        online({KEY_SERVER_ENV: base(httpserver)}, timeout=0.3), KEY, "key.pem"
    )
    assert (outcome.result, outcome.reason) == ("unverified", "timeout")
    assert time.monotonic() - start < 1.5  # the 0.3 s timeout, not the 2 s answer
    no_key_in(outcome.detail)


def test_offline_never_sends(make_ctx: MakeCtx, httpserver: HTTPServer) -> None:
    ctx = make_ctx(offline=True, online=True, env_extra={KEY_SERVER_ENV: base(httpserver)})
    assert verify.verify_key(ctx, KEY, "key.pem").reason == "offline"
    assert httpserver.log == []


def test_urllib3_debug_logs_never_carry_the_key(
    online: Callable[..., SystemContext], httpserver: HTTPServer, caplog: pytest.LogCaptureFixture
) -> None:
    httpserver.expect_request(f"/apikey/{KEY}").respond_with_json({"user_id": 7})
    with caplog.at_level(logging.DEBUG):
        verify.verify_key(online({KEY_SERVER_ENV: base(httpserver)}), KEY, "key.pem")
    # The stand-in server (werkzeug) logs what it received; everything on our side must not.
    ours = "\n".join(r.getMessage() for r in caplog.records if r.name != "werkzeug")
    assert "/apikey/<key>" in ours  # urllib3 did log the request line...
    no_key_in(ours)  # ...without the key


# --- the POST of the IVY_KEY scheme --------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "body", "result"),
    [
        (200, {"valid": True}, "valid"),
        (200, {"valid": False}, "invalid"),
        (403, {"valid": False}, "invalid"),
        (500, {}, "unverified"),
    ],
)
def test_ivy_key_scheme_posts_the_key(
    online: Callable[..., SystemContext],
    httpserver: HTTPServer,
    status: int,
    body: object,
    result: str,
) -> None:
    httpserver.expect_request(
        "/verify_api_key/", method="POST", json={"api_key": KEY}
    ).respond_with_json(body, status=status)
    outcome = verify.verify_key(online({CONSOLE_ENV: base(httpserver)}), KEY, "IVY_KEY")
    assert outcome.result == result
    assert outcome.endpoint == "verify_api_key"
    no_key_in(outcome.to_evidence())


# --- key.verified ----------------------------------------------------------------------------


def _key_file(home: Path, content: bytes) -> Path:
    path = home / ".ivy" / "key.pem"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(content)
    return path


def test_check_online_reports_valid(
    online: Callable[..., SystemContext], httpserver: HTTPServer, home: Path
) -> None:
    _key_file(home, KEY.encode())
    httpserver.expect_request(f"/apikey/{KEY}").respond_with_json({"user_id": "u-1"})
    ctx = online({KEY_SERVER_ENV: base(httpserver), "IVY_ROOT": str(home / ".ivy")})
    finding = keys.check_verified(ctx, GATED, keys.locate(ctx, GATED))
    assert finding.status is Status.OK
    assert finding.evidence["result"] == "valid"
    no_key_in(finding.to_json())


def test_check_online_reports_a_refusal_as_invalid(
    online: Callable[..., SystemContext], httpserver: HTTPServer, home: Path
) -> None:
    _key_file(home, KEY.encode() + b"\n")
    httpserver.expect_request(f"/apikey/{KEY}\n").respond_with_json({"user_id": None})
    ctx = online({KEY_SERVER_ENV: base(httpserver), "IVY_ROOT": str(home / ".ivy")})
    finding = keys.check_verified(ctx, GATED, keys.locate(ctx, GATED))
    assert finding.status is Status.ERROR
    assert finding.evidence["result"] == "invalid"
    assert "line 141" in finding.detail
    assert "newline" in finding.detail
    no_key_in(finding.to_json())


def test_check_online_unreachable_is_unverified_not_invalid(
    online: Callable[..., SystemContext], home: Path
) -> None:
    _key_file(home, KEY.encode())
    ctx = online({"IVY_ROOT": str(home / ".ivy")})
    finding = keys.check_verified(ctx, GATED, keys.locate(ctx, GATED))
    assert finding.status is Status.WARNING
    assert finding.evidence["result"] == "unverified"
    assert finding.evidence["reason"] == "connect"
    no_key_in(finding.to_json())


def test_check_online_ivy_key_variable(
    online: Callable[..., SystemContext], httpserver: HTTPServer
) -> None:
    httpserver.expect_request(
        "/verify_api_key/", method="POST", json={"api_key": KEY}
    ).respond_with_json({"valid": True})
    ctx = online({CONSOLE_ENV: base(httpserver), "IVY_KEY": KEY})
    finding = keys.check_verified(ctx, IVY_KEY_SCHEME, keys.locate(ctx, IVY_KEY_SCHEME))
    assert finding.status is Status.OK
    no_key_in(finding.to_json())


def test_without_online_nothing_is_sent(
    make_ctx: MakeCtx, httpserver: HTTPServer, home: Path
) -> None:
    _key_file(home, KEY.encode())
    ctx = make_ctx(
        offline=False, env_extra={KEY_SERVER_ENV: base(httpserver), "IVY_ROOT": str(home / ".ivy")}
    )
    finding = keys.check_verified(ctx, GATED, keys.locate(ctx, GATED))
    assert finding.status is Status.SKIPPED
    assert httpserver.log == []


def test_redact_covers_every_form() -> None:
    text = f"url: /apikey/{KEY}%0A and {KEY} and {KEY.replace('=', '%3D')}"
    cleaned = secrets.redact(text, KEY + "\n")
    no_key_in(cleaned)
    assert "<key>" in cleaned
