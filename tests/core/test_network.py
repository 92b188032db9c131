"""network.reachability against loopback servers only: pytest-httpserver, closed ports, a tiny
proxy that demands credentials. Nothing here reaches the internet.
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from pytest_httpserver import HTTPServer

from ivy_setup_tui.core import network
from ivy_setup_tui.core.context import SystemContext
from ivy_setup_tui.core.facts import (
    CONSOLE_ENV,
    IP_LOOKUP_ENV,
    KEY_SERVER_ENV,
    Endpoint,
    facts_for,
)
from ivy_setup_tui.core.model import Status

CtxFactory = Callable[..., SystemContext]
GATED = facts_for("0.0.9.0")  # apikey + ip_lookup
PING_ONLY = facts_for("0.0.9.1")  # ping
IVY_KEY_SCHEME = facts_for("0.0.9.2")  # ping + verify_api_key


def closed_port() -> int:
    """A loopback port nothing listens on (bound, then released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def online(make_ctx: CtxFactory, monkeypatch: pytest.MonkeyPatch) -> Callable[..., SystemContext]:
    """An online context with a short timeout; `env` entries are added to the sandbox env."""
    # The sandbox sets NO_PROXY=*; a lowercase no_proxy from the host would take precedence.
    monkeypatch.delenv("no_proxy", raising=False)

    def build(env: dict[str, str] | None = None, timeout: float = 2.0) -> SystemContext:
        # Every endpoint defaults to a dead loopback port: no test can reach the real servers.
        dead = f"http://127.0.0.1:{closed_port()}"
        extra = {KEY_SERVER_ENV: dead, CONSOLE_ENV: dead, IP_LOOKUP_ENV: dead, **(env or {})}
        return make_ctx(offline=False, network_timeout=timeout, env_extra=extra)

    return build


def base(server: HTTPServer) -> str:
    return server.url_for("/").rstrip("/")


@pytest.fixture
def proxy_407() -> Iterator[str]:
    """A loopback proxy that answers every request (CONNECT included) with 407."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)
    stop = threading.Event()

    def serve() -> None:
        listener.settimeout(0.2)
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except OSError:
                continue
            with conn:
                conn.settimeout(2)
                data = b""
                while b"\r\n\r\n" not in data:
                    chunk = conn.recv(4096)
                    if not chunk:
                        break
                    data += chunk
                conn.sendall(
                    b"HTTP/1.1 407 Proxy Authentication Required\r\n"
                    b'Proxy-Authenticate: Basic realm="corp"\r\n'
                    b"Content-Length: 0\r\nConnection: close\r\n\r\n"
                )

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{listener.getsockname()[1]}"
    stop.set()
    thread.join(timeout=2)
    listener.close()


def test_offline_is_skipped(make_ctx: CtxFactory) -> None:
    finding = network.check_reachability(make_ctx(offline=True), GATED)
    assert finding.id == "network.reachability"
    assert finding.status is Status.SKIPPED
    assert finding.evidence["reason"] == "offline"


@pytest.mark.parametrize("version", ["1.0.0.5", None])
def test_no_endpoints_is_info(online: Callable[..., SystemContext], version: str | None) -> None:
    finding = network.check_reachability(online(), facts_for(version))
    assert finding.status is Status.INFO
    assert finding.evidence["endpoints"] == {}


def test_ping_ok(online: Callable[..., SystemContext], httpserver: HTTPServer) -> None:
    httpserver.expect_request("/ping/", method="GET").respond_with_data("pong")
    finding = network.check_reachability(online({CONSOLE_ENV: base(httpserver)}), PING_ONLY)
    assert finding.status is Status.OK, finding.detail
    ping = finding.evidence["endpoints"]["ping"]
    assert ping["result"] == "ok"
    assert ping["status_code"] == 200
    assert ping["reachable"]
    assert ping["url"] == f"{base(httpserver)}/ping/"
    httpserver.check_assertions()


def test_key_server_answers_4xx_without_key_and_counts_as_reachable(
    online: Callable[..., SystemContext], httpserver: HTTPServer
) -> None:
    httpserver.expect_request("/apikey/").respond_with_data("no key", status=404)
    httpserver.expect_request("/").respond_with_data("wiki")
    ctx = online({KEY_SERVER_ENV: base(httpserver), IP_LOOKUP_ENV: base(httpserver)})
    finding = network.check_reachability(ctx, GATED)
    assert finding.status is Status.OK, finding.detail
    endpoints = finding.evidence["endpoints"]
    assert endpoints["apikey"]["result"] == "http_404"
    assert endpoints["apikey"]["reachable"]
    assert endpoints["ip_lookup"]["result"] == "ok"
    # The probe sends no key: only the base of the apikey endpoint was requested.
    paths = sorted(request.path for request, _ in httpserver.log)
    assert paths == ["/", "/apikey/"]


def test_server_error_is_http_500_and_an_error(
    online: Callable[..., SystemContext], httpserver: HTTPServer
) -> None:
    httpserver.expect_request("/apikey/").respond_with_data("boom", status=500)
    httpserver.expect_request("/").respond_with_data("wiki")
    ctx = online({KEY_SERVER_ENV: base(httpserver), IP_LOOKUP_ENV: base(httpserver)})
    finding = network.check_reachability(ctx, GATED)
    assert finding.status is Status.ERROR
    assert finding.evidence["endpoints"]["apikey"]["result"] == "http_500"
    # ivy 0.0.9.0 takes any answer but 200 as a refused key (MC.pyx line 141), not a network error.
    assert "line 141" in finding.detail
    assert "ConnectionError" not in finding.detail
    assert finding.fix is not None
    assert any("/apikey/" in c for c in finding.fix.commands)


def test_ping_needs_exactly_200(
    online: Callable[..., SystemContext], httpserver: HTTPServer
) -> None:
    httpserver.expect_request("/ping/").respond_with_data("gone", status=404)
    finding = network.check_reachability(online({CONSOLE_ENV: base(httpserver)}), PING_ONLY)
    assert finding.status is Status.ERROR
    ping = finding.evidence["endpoints"]["ping"]
    assert ping["result"] == "http_404"
    assert not ping["reachable"]
    assert "Unable to connect to ivy server" in finding.detail


def test_status_407_is_proxy_auth(
    online: Callable[..., SystemContext], httpserver: HTTPServer
) -> None:
    httpserver.expect_request("/ping/").respond_with_data("", status=407)
    finding = network.check_reachability(online({CONSOLE_ENV: base(httpserver)}), PING_ONLY)
    assert finding.evidence["endpoints"]["ping"]["result"] == "proxy_auth"
    assert finding.status is Status.ERROR
    assert "HTTPS_PROXY" in finding.detail


def test_closed_port_is_connect(online: Callable[..., SystemContext]) -> None:
    closed = f"http://127.0.0.1:{closed_port()}"
    ctx = online({KEY_SERVER_ENV: closed, IP_LOOKUP_ENV: closed})
    finding = network.check_reachability(ctx, GATED)
    assert finding.evidence["endpoints"]["apikey"]["result"] == "connect"
    assert finding.status is Status.ERROR
    assert "requests.exceptions.ConnectionError" in finding.detail


def test_ip_lookup_failure_alone_is_a_warning(
    online: Callable[..., SystemContext], httpserver: HTTPServer
) -> None:
    httpserver.expect_request("/apikey/").respond_with_data("", status=404)
    ctx = online(
        {KEY_SERVER_ENV: base(httpserver), IP_LOOKUP_ENV: f"http://127.0.0.1:{closed_port()}"}
    )
    finding = network.check_reachability(ctx, GATED)
    assert finding.status is Status.WARNING
    assert "log_user_stat" in finding.detail


def test_unresolvable_host_is_dns(online: Callable[..., SystemContext]) -> None:
    started = time.monotonic()
    with contextlib.suppress(socket.gaierror):
        socket.getaddrinfo("nonexistent.invalid", 80)
    if time.monotonic() - started > 2:
        pytest.skip("this machine's resolver is slow to fail for .invalid names")
    ctx = online({CONSOLE_ENV: "http://nonexistent.invalid"}, timeout=1.0)
    finding = network.check_reachability(ctx, PING_ONLY)
    assert finding.evidence["endpoints"]["ping"]["result"] == "dns"


def test_tls_failure(online: Callable[..., SystemContext], httpserver: HTTPServer) -> None:
    plain = base(httpserver).replace("http://", "https://")
    finding = network.check_reachability(online({CONSOLE_ENV: plain}), PING_ONLY)
    ping = finding.evidence["endpoints"]["ping"]
    assert ping["result"] == "tls", ping
    assert "REQUESTS_CA_BUNDLE" in finding.detail
    lowered = finding.detail.lower()
    assert "verify=false" not in lowered
    assert "disable" not in lowered


def test_missing_ca_bundle_is_tls(
    online: Callable[..., SystemContext], httpserver: HTTPServer, tmp_path: Path
) -> None:
    plain = base(httpserver).replace("http://", "https://")
    ctx = online({CONSOLE_ENV: plain, "REQUESTS_CA_BUNDLE": str(tmp_path / "no-such.pem")})
    finding = network.check_reachability(ctx, PING_ONLY)
    assert finding.evidence["endpoints"]["ping"]["result"] == "tls"
    assert finding.evidence["environment"]["REQUESTS_CA_BUNDLE"] == str(tmp_path / "no-such.pem")


def test_proxy_that_refuses(online: Callable[..., SystemContext]) -> None:
    ctx = online(
        {
            CONSOLE_ENV: "https://ivy-console.example.invalid",
            "HTTPS_PROXY": f"http://127.0.0.1:{closed_port()}",
            "NO_PROXY": "",
        }
    )
    finding = network.check_reachability(ctx, PING_ONLY)
    ping = finding.evidence["endpoints"]["ping"]
    assert ping["result"] == "proxy"
    assert ping["proxy"].startswith("http://127.0.0.1:")


def test_proxy_demanding_credentials_on_connect(
    online: Callable[..., SystemContext], proxy_407: str
) -> None:
    secret_proxy = proxy_407.replace("http://", "http://alice:hunter2pass@")
    ctx = online(
        {
            CONSOLE_ENV: "https://ivy-console.example.invalid",
            "HTTPS_PROXY": secret_proxy,
            "NO_PROXY": "",
        }
    )
    finding = network.check_reachability(ctx, PING_ONLY)
    ping = finding.evidence["endpoints"]["ping"]
    assert ping["result"] == "proxy_auth", ping
    text = json.dumps(finding.to_json())
    assert "hunter2pass" not in text
    assert "alice" not in text
    assert ping["proxy"] == proxy_407.replace("http://", "http://***@")


def test_no_proxy_bypasses_the_proxy(
    online: Callable[..., SystemContext], httpserver: HTTPServer
) -> None:
    httpserver.expect_request("/ping/").respond_with_data("pong")
    ctx = online(
        {
            CONSOLE_ENV: base(httpserver),
            "HTTP_PROXY": f"http://127.0.0.1:{closed_port()}",
            "NO_PROXY": "localhost,127.0.0.0/8",
        }
    )
    finding = network.check_reachability(ctx, PING_ONLY)
    assert finding.status is Status.OK, finding.detail
    assert finding.evidence["endpoints"]["ping"]["proxy"] is None


def test_timeout_when_the_server_never_answers(online: Callable[..., SystemContext]) -> None:
    # A listening socket that never accepts: the connection completes, the answer never comes.
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(1)
        ctx = online({CONSOLE_ENV: f"http://127.0.0.1:{silent.getsockname()[1]}"}, timeout=0.3)
        started = time.monotonic()
        finding = network.check_reachability(ctx, PING_ONLY)
    assert finding.evidence["endpoints"]["ping"]["result"] == "timeout"
    assert time.monotonic() - started < 3


def test_every_endpoint_is_probed(
    online: Callable[..., SystemContext], httpserver: HTTPServer
) -> None:
    httpserver.expect_request("/ping/").respond_with_data("pong")
    httpserver.expect_request("/verify_api_key/").respond_with_data("", status=405)
    finding = network.check_reachability(online({CONSOLE_ENV: base(httpserver)}), IVY_KEY_SCHEME)
    assert finding.status is Status.OK, finding.detail
    assert set(finding.evidence["endpoints"]) == {"ping", "verify_api_key"}
    assert finding.evidence["endpoints"]["verify_api_key"]["result"] == "http_405"


def test_injected_session_is_used(
    online: Callable[..., SystemContext], httpserver: HTTPServer
) -> None:
    httpserver.expect_request("/ping/", headers={"X-Test": "yes"}).respond_with_data("pong")
    ctx = online({CONSOLE_ENV: base(httpserver)})
    session = network.make_session(ctx)
    session.headers["X-Test"] = "yes"
    finding = network.check_reachability(ctx, PING_ONLY, session=session)
    assert finding.status is Status.OK, finding.detail
    session.close()


# --------------------------------------------------------------------------------------------
# The resolver over the context's environment


@pytest.mark.parametrize(
    ("no_proxy", "url", "bypass"),
    [
        ("*", "https://anything.example", True),
        ("example.com", "https://api.example.com/x", True),
        (".example.com", "https://example.com/x", True),
        ("example.com", "https://notexample.com/x", False),
        ("10.0.0.0/8", "http://10.1.2.3:8080/", True),
        ("10.0.0.0/8", "http://11.1.2.3/", False),
        ("host.lan:8080", "http://host.lan:8080/", True),
        ("host.lan:8080", "http://host.lan:9090/", False),
        ("host.lan:8080", "http://host.lan/", False),  # a port entry matches only that port
        ("*.example.com", "https://api.example.com/x", True),
        ("", "https://example.com", False),
    ],
)
def test_bypasses_proxy(no_proxy: str, url: str, bypass: bool) -> None:
    assert network.bypasses_proxy({"NO_PROXY": no_proxy}, url) is bypass


def test_proxy_resolution_prefers_lowercase_and_falls_back_to_all_proxy() -> None:
    env = {"HTTPS_PROXY": "http://upper:1", "https_proxy": "http://lower:1"}
    assert network.proxy_for(env, "https://x.example") == "http://lower:1"
    assert network.proxy_for({"ALL_PROXY": "socks5://s:1"}, "https://x.example") == "socks5://s:1"
    assert network.proxy_for({"HTTP_PROXY": "http://h:1"}, "https://x.example") is None
    assert network.proxies_for({"HTTP_PROXY": "http://h:1"}, "https://x.example") == {
        "http": "http://h:1"
    }


def test_session_ignores_the_process_environment(
    make_ctx: CtxFactory, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("HTTPS_PROXY", "http://127.0.0.1:9")
    bundle = tmp_path / "ca.pem"
    bundle.write_text("x")
    ctx = make_ctx(env={"REQUESTS_CA_BUNDLE": str(bundle)})
    session = network.make_session(ctx)
    assert session.trust_env is False
    assert session.verify == str(bundle)
    assert network.proxies_for(ctx.env, "https://x.example") == {}
    session.close()


def test_redact_url() -> None:
    assert network.redact_url("http://u:p@proxy:3128") == "http://***@proxy:3128"
    assert network.redact_url("http://proxy:3128") == "http://proxy:3128"
    assert network.redact_url(None) is None


def test_classify_exception_reads_wrapped_causes() -> None:
    import requests

    wrapped = requests.exceptions.ConnectionError(OSError("x"))
    wrapped.__cause__ = socket.gaierror(-2, "Name or service not known")
    assert network.classify_exception(wrapped) == "dns"
    assert network.classify_exception(requests.exceptions.ReadTimeout("slow")) == "timeout"
    assert network.classify_exception(requests.exceptions.SSLError("bad cert")) == "tls"
    assert network.classify_exception(requests.exceptions.MissingSchema("no")) == "invalid_url"
    assert network.classify_exception(ValueError("odd")) == "error"


def test_a_refused_proxy_on_a_port_with_407_in_it_is_not_an_authentication_problem() -> None:
    import requests

    # The refused connection's text names the port: 127.0.0.1:40712 must not read as a 407.
    refused = requests.exceptions.ProxyError(
        "HTTPSConnectionPool(host='ivy-console.example.invalid', port=443): Max retries exceeded "
        "(Caused by ProxyError('Unable to connect to proxy', NewConnectionError('Failed to "
        "establish a new connection: [Errno 111] Connection refused'))) via 127.0.0.1:40712"
    )
    assert network.classify_exception(refused) == "proxy"
    demanded = requests.exceptions.ProxyError(
        "Unable to connect to proxy: OSError('Tunnel connection failed: 407 Proxy "
        "Authentication Required')"
    )
    assert network.classify_exception(demanded) == "proxy_auth"


def test_probe_result_evidence_is_json_safe(
    online: Callable[..., SystemContext], httpserver: HTTPServer
) -> None:
    httpserver.expect_request("/ping/").respond_with_data("pong")
    ctx = online()
    session = network.make_session(ctx)
    result = network.probe(session, ctx, Endpoint("ping", f"{base(httpserver)}/ping/", "test"))
    session.close()
    assert json.loads(json.dumps(result.to_evidence()))["result"] == "ok"


def test_offline_check_path_does_not_import_requests() -> None:
    code = (
        "import sys\n"
        "import ivy_setup_tui.core.network, ivy_setup_tui.core.steps.environment.check\n"
        "import ivy_setup_tui.core.platform.shells\n"
        "assert 'requests' not in sys.modules, 'requests imported at module level'\n"
    )
    root = Path(__file__).resolve().parents[2]
    env = {**os.environ, "PYTHONPATH": str(root)}
    subprocess.run([sys.executable, "-c", code], env=env, check=True, timeout=30)
