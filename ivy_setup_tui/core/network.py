"""The `network.reachability` check: can this machine reach the servers its ivy version calls,
through the proxy and CA settings of the context's environment (never `os.environ`).

`requests` (and ssl, socket, concurrent.futures) are imported inside the functions that do network
I/O, so `ivy-setup check --offline` never loads them. The Key step reuses `make_session`,
`proxies_for` and `classify_exception`.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit, urlunsplit

from ivy_setup_tui import __version__
from ivy_setup_tui.core.context import SystemContext
from ivy_setup_tui.core.facts import Endpoint, VersionFacts, release_endpoints
from ivy_setup_tui.core.model import Finding, Fix, Status, skipped
from ivy_setup_tui.core.record import Record

if TYPE_CHECKING:
    import requests

CHECK_ID = "network.reachability"

# How bad it is when an endpoint cannot be reached (facts): the key gate and the ping stop ivy;
# the public-IP lookup of 0.0.9.0 only crashes after the key was accepted.
_SEVERITY: Mapping[str, Status] = {"ip_lookup": Status.WARNING}
# Endpoints ivy accepts only when they answer exactly 200 (0.0.9.1+ ping).
_NEEDS_200 = frozenset({"ping"})

# What the installed ivy does when an endpoint fails (facts), by how it fails: "network" (no HTTP
# answer at all) or "http" (an answer other than the one ivy accepts).
_CONSEQUENCE: Mapping[tuple[str, str], str] = {
    ("apikey", "network"): (
        "ivy 0.0.9.0 sends the key there on the first trace_graph/transpile/unify call; without "
        "an answer it fails with requests.exceptions.ConnectionError from MC.pyx"
    ),
    ("apikey", "http"): (
        "ivy 0.0.9.0 accepts the key only on HTTP 200, so any other answer looks like a refused "
        'key: "Please sign up for free pilot access" at MC.pyx line 141'
    ),
    ("ip_lookup", "network"): (
        "after the key is accepted, ivy 0.0.9.0 looks up the public IP there; when that fails it "
        "crashes with AttributeError: 'NoneType' object has no attribute 'encode' from "
        "log_user_stat"
    ),
    ("ping", "network"): (
        "ivy 0.0.9.1 and later ping it before each call and need HTTP 200; otherwise they stop "
        'with "Unable to connect to ivy server. Please ensure you have a stable internet '
        'connection."'
    ),
    ("verify_api_key", "network"): (
        "ivy 0.0.9.2 and later verify IVY_KEY there; without an answer source_to_source fails "
        "with requests.exceptions.ConnectionError from verify_api_key"
    ),
    ("transpilation_allowed", "network"): (
        "ivy 0.0.9.17 asks there on every transpile call, with or without a key; without an "
        'answer it stops with "Unable to connect to Ivy server"'
    ),
    ("verify_api_key", "http"): (
        "ivy 0.0.9.2 and later verify IVY_KEY there and accept it only when the reply says "
        'valid, so a failing server looks like "Invalid api key"'
    ),
}
_CONSEQUENCE_FALLBACK = {"ip_lookup": "network", "ping": "network"}


def consequence(name: str, result: str) -> str:
    """What ivy does when endpoint `name` fails with `result` (facts), in one clause."""
    kind = "http" if result.startswith("http_") else "network"
    text = _CONSEQUENCE.get((name, kind)) or _CONSEQUENCE.get(
        (name, _CONSEQUENCE_FALLBACK.get(name, "network"))
    )
    return text or f"ivy calls {name}"


_ADVICE: Mapping[str, str] = {
    "dns": (
        "the host name does not resolve: check the DNS settings, or, if this network reaches the "
        "internet only through a proxy, set HTTPS_PROXY"
    ),
    "connect": (
        "the connection was refused or has no route: a firewall blocks it, or this network "
        "needs a proxy (set HTTPS_PROXY, and NO_PROXY for local hosts)"
    ),
    "timeout": (
        "no answer in time: a firewall that silently drops traffic, or a proxy is required "
        "(set HTTPS_PROXY)"
    ),
    "tls": (
        "the TLS handshake failed: usually a proxy or firewall that intercepts HTTPS with its own "
        "certificate; point REQUESTS_CA_BUNDLE at your organisation's CA bundle"
    ),
    "proxy": (
        "the proxy could not be reached: check the host and port in HTTPS_PROXY, or list the host "
        "in NO_PROXY if it should be reached directly"
    ),
    "proxy_auth": (
        "the proxy wants credentials (HTTP 407): give them in HTTPS_PROXY as "
        "http://USER:PASSWORD@HOST:PORT"
    ),
    "invalid_url": "the address is not a valid URL: check the IVY_SETUP_* overrides",
    "error": "an unexpected error occurred",
}


class ProbeResult(Record):
    """The outcome of probing one endpoint: a result code, a reason, and what was used."""

    name: str
    url: str
    purpose: str
    result: str  # ok | dns | connect | timeout | tls | proxy | proxy_auth | http_<code> | ...
    reachable: bool
    detail: str
    status_code: int | None = None
    elapsed_ms: int | None = None
    proxy: str | None = None  # the proxy used, credentials redacted

    def to_evidence(self) -> dict[str, Any]:
        """The per-endpoint evidence of SPEC §3."""
        return {
            "url": self.url,
            "result": self.result,
            "detail": self.detail,
            "reachable": self.reachable,
            "status_code": self.status_code,
            "elapsed_ms": self.elapsed_ms,
            "proxy": self.proxy,
            "purpose": self.purpose,
        }


# --------------------------------------------------------------------------------------------
# Proxy and CA resolution over the context's environment


def _env_get(env: Mapping[str, str], name: str) -> str | None:
    """A proxy variable the way urllib reads it: the lowercase spelling wins over uppercase."""
    for key in (name.lower(), name.upper()):
        value = env.get(key)
        if value:
            return value.strip()
    return None


def bypasses_proxy(env: Mapping[str, str], url: str) -> bool:
    """True when NO_PROXY (from `env`) says `url`'s host is reached directly.

    The semantics of curl/requests: `*`, domain suffixes (`example.com`, `.example.com`,
    `*.example.com`), `host:port` (only that port), IP addresses and CIDR networks.
    """
    no_proxy = _env_get(env, "no_proxy")
    parts = urlsplit(url)
    if not no_proxy or not parts.hostname:
        return False
    import ipaddress

    host = parts.hostname.lower().strip("[]")
    port = parts.port
    try:
        address: ipaddress.IPv4Address | ipaddress.IPv6Address | None = ipaddress.ip_address(host)
    except ValueError:
        address = None
    for raw in no_proxy.replace(" ", ",").split(","):
        entry = raw.strip().lower()
        if not entry:
            continue
        if entry == "*":
            return True
        if address is not None:
            try:
                if address in ipaddress.ip_network(entry, strict=False):
                    return True
            except ValueError:
                pass
            continue
        entry_port: int | None = None
        if entry.count(":") == 1:
            name, _, port_text = entry.partition(":")
            if port_text.isdigit():
                entry, entry_port = name, int(port_text)
        if entry_port is not None and entry_port != port:
            continue
        entry = entry.lstrip("*").lstrip(".")
        if entry and (host == entry or host.endswith("." + entry)):
            return True
    return False


def proxy_for(env: Mapping[str, str], url: str) -> str | None:
    """The proxy `url` goes through per HTTPS_PROXY / HTTP_PROXY / ALL_PROXY and NO_PROXY."""
    if bypasses_proxy(env, url):
        return None
    scheme = urlsplit(url).scheme.lower()
    return _env_get(env, f"{scheme}_proxy") or _env_get(env, "all_proxy")


def proxies_for(env: Mapping[str, str], url: str) -> dict[str, str]:
    """The `proxies=` mapping for a request to `url` (both schemes, so redirects keep it)."""
    parts = urlsplit(url)
    proxies: dict[str, str] = {}
    for scheme in ("http", "https"):
        proxy = proxy_for(env, urlunsplit((scheme, parts.netloc, parts.path, "", "")))
        if proxy:
            proxies[scheme] = proxy
    return proxies


def ca_bundle(env: Mapping[str, str]) -> str | None:
    """The CA bundle requests would use from REQUESTS_CA_BUNDLE / CURL_CA_BUNDLE, if set."""
    return env.get("REQUESTS_CA_BUNDLE") or env.get("CURL_CA_BUNDLE") or None


def redact_url(url: str | None) -> str | None:
    """`url` with any user:password replaced, fit for evidence and messages."""
    if not url:
        return url
    parts = urlsplit(url if "://" in url else f"http://{url}")
    if parts.username is None and parts.password is None:
        return url
    host = parts.hostname or ""
    netloc = f"***@{host}" + (f":{parts.port}" if parts.port else "")
    return urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))


def make_session(ctx: SystemContext) -> requests.Session:
    """A requests session that ignores `os.environ` (trust_env off) and verifies TLS with the
    context's CA bundle; pass `proxies=proxies_for(ctx.env, url)` on each request.
    """
    import requests

    session = requests.Session()
    session.trust_env = False
    bundle = ca_bundle(ctx.env)
    if bundle:
        session.verify = bundle
    session.headers["User-Agent"] = f"ivy-setup/{__version__}"
    return session


# --------------------------------------------------------------------------------------------
# Classification


def _chain(exc: BaseException) -> Iterator[BaseException]:
    """The exception and everything it wraps (args, urllib3's `.reason`, cause, context)."""
    seen: set[int] = set()
    stack = [exc]
    while stack:
        current = stack.pop()
        if id(current) in seen:
            continue
        seen.add(id(current))
        yield current
        nested: list[object] = [
            getattr(current, "reason", None),
            current.__cause__,
            current.__context__,
            *current.args,
        ]
        stack.extend(item for item in nested if isinstance(item, BaseException))


_TUNNEL_407 = r"(?i)connection failed: 407\b"  # compiled (and cached by re) when first needed


def classify_exception(exc: BaseException) -> str:
    """Name a failed request's cause: dns, connect, timeout, tls, proxy, proxy_auth,
    invalid_url, or error; reads the whole chain of wrapped exceptions.
    """
    import socket
    import ssl

    import requests
    import urllib3.exceptions as u3

    chain = list(_chain(exc))
    text = " ".join(str(item) for item in chain)

    def has(*types: type[BaseException]) -> bool:
        return any(isinstance(item, types) for item in chain)

    if has(requests.exceptions.ProxyError, u3.ProxyError):
        # A CONNECT answered with 407 fails as http.client's "Tunnel connection failed: 407 ...".
        # A bare "407" would also match a port (127.0.0.1:40712) in a refused connection.
        return "proxy_auth" if re.search(_TUNNEL_407, text) else "proxy"
    if has(requests.exceptions.SSLError, u3.SSLError, ssl.SSLError):
        return "tls"
    if has(
        requests.exceptions.InvalidURL,
        requests.exceptions.MissingSchema,
        requests.exceptions.InvalidSchema,
        u3.LocationParseError,
    ):
        return "invalid_url"
    if has(socket.gaierror) or any(type(item).__name__ == "NameResolutionError" for item in chain):
        return "dns"
    # urllib3's NewConnectionError subclasses ConnectTimeoutError, yet urllib3 raises it only for
    # OS errors (refused, unreachable), never for a timeout: it is a connect failure.
    if has(u3.NewConnectionError, ConnectionRefusedError):
        return "connect"
    if has(requests.exceptions.Timeout, u3.TimeoutError, TimeoutError, socket.timeout):
        return "timeout"
    if "CA certificate bundle" in text:
        return "tls"  # REQUESTS_CA_BUNDLE points at a missing file
    if has(requests.exceptions.ConnectionError, ConnectionError, u3.NewConnectionError, OSError):
        return "connect"
    return "error"


def _short_reason(exc: BaseException, proxy: str | None) -> str:
    """The innermost message of a failure, short, with proxy credentials removed."""
    innermost = list(_chain(exc))[-1]
    text = f"{type(innermost).__name__}: {innermost}"
    if proxy:
        parts = urlsplit(proxy if "://" in proxy else f"http://{proxy}")
        if parts.password:
            text = text.replace(parts.password, "***")
        if parts.username:
            text = text.replace(parts.username, "***")
    return text if len(text) <= 240 else text[:237] + "..."


def _status_result(name: str, code: int) -> tuple[str, bool]:
    """(result, reachable) for an HTTP answer to a probe of endpoint `name`."""
    if code == 407:
        return "proxy_auth", False
    if name in _NEEDS_200:
        return ("ok", True) if code == 200 else (f"http_{code}", False)
    if code >= 500:
        return f"http_{code}", False
    # Any other answer means the server is there: a key-less probe is expected to get a 4xx.
    return ("ok" if code < 400 else f"http_{code}"), True


def probe(session: requests.Session, ctx: SystemContext, endpoint: Endpoint) -> ProbeResult:
    """GET one endpoint without any key (the base URL only) and classify the outcome."""
    url = endpoint.url
    proxies = proxies_for(ctx.env, url)
    proxy = proxies.get(urlsplit(url).scheme.lower())
    shown_proxy = redact_url(proxy)
    timeout = ctx.network_timeout
    start = time.monotonic()
    try:
        with session.get(
            url, proxies=proxies, timeout=(timeout, timeout), stream=True, allow_redirects=True
        ) as response:
            code = response.status_code
    except Exception as exc:  # noqa: BLE001 - every failure is classified, none escapes
        kind = classify_exception(exc)
        return ProbeResult(
            endpoint.name,
            url,
            endpoint.purpose,
            kind,
            False,
            f"{_ADVICE.get(kind, _ADVICE['error'])} ({_short_reason(exc, proxy)})",
            None,
            int((time.monotonic() - start) * 1000),
            shown_proxy,
        )
    result, reachable = _status_result(endpoint.name, code)
    if result == "proxy_auth":
        detail = _ADVICE["proxy_auth"]
    elif reachable:
        detail = f"the server answered HTTP {code}"
    elif endpoint.name in _NEEDS_200 and code < 500:
        detail = f"the server answered HTTP {code}, but ivy needs 200"
    else:
        detail = f"the server answered HTTP {code} (a server-side error; it may be down)"
    return ProbeResult(
        endpoint.name,
        url,
        endpoint.purpose,
        result,
        reachable,
        detail,
        code,
        int((time.monotonic() - start) * 1000),
        shown_proxy,
    )


# --------------------------------------------------------------------------------------------
# The check


def check_reachability(
    ctx: SystemContext, facts: VersionFacts, *, session: requests.Session | None = None
) -> Finding:
    """`network.reachability`: probe, concurrently and without sending a key, every endpoint the
    installed ivy version calls; skipped with `--offline`.
    """
    if ctx.offline:
        return skipped(
            CHECK_ID,
            "Network checks skipped (offline)",
            "ivy-setup was asked to stay offline, so it did not try to reach ivy's servers. Run "
            "`ivy-setup check` without --offline to test them.",
            endpoints={},
            reason="offline",
        )
    endpoints = release_endpoints(facts, ctx.env)
    env_evidence = {
        "HTTPS_PROXY": redact_url(_env_get(ctx.env, "https_proxy")),
        "HTTP_PROXY": redact_url(_env_get(ctx.env, "http_proxy")),
        "NO_PROXY": _env_get(ctx.env, "no_proxy"),
        "REQUESTS_CA_BUNDLE": ca_bundle(ctx.env),
    }
    if not endpoints:
        return _nothing_to_reach(ctx, facts, env_evidence)
    results = _probe_all(ctx, endpoints, session)
    evidence: dict[str, Any] = {
        "endpoints": {r.name: r.to_evidence() for r in results},
        "environment": env_evidence,
        "timeout": ctx.network_timeout,
    }
    return _reachability_finding(ctx, facts, results, evidence)


def _assumed_suffix(facts: VersionFacts) -> str:
    note = facts.assumed_note
    return f" {note}" if note else ""


def _nothing_to_reach(
    ctx: SystemContext, facts: VersionFacts, env_evidence: dict[str, str | None]
) -> Finding:
    """The finding when the installed ivy calls no server (or none is installed)."""
    if facts.release is None:
        why = (
            "ivy is not installed in the target interpreter (or its release is unknown), so "
            "there is no ivy server to test"
        )
    else:
        why = f"ivy {facts.version} calls no ivy server, so there is nothing to reach"
    return Finding(
        CHECK_ID,
        Status.INFO,
        "No ivy server to reach",
        f"{why}.{_assumed_suffix(facts)}",
        {"endpoints": {}, "environment": env_evidence, "timeout": ctx.network_timeout},
    )


def _reachability_finding(
    ctx: SystemContext,
    facts: VersionFacts,
    results: list[ProbeResult],
    evidence: dict[str, Any],
) -> Finding:
    """The finding from the probes: OK when every server answered, else what failed and why."""
    suffix = _assumed_suffix(facts)
    failed = [r for r in results if not r.reachable]
    if not failed:
        names = ", ".join(f"{r.name} ({r.url})" for r in results)
        return Finding(
            CHECK_ID,
            Status.OK,
            "ivy's servers are reachable",
            f"Every server ivy {facts.version} calls answered: {names}. No key was sent.{suffix}",
            evidence,
        )
    status = max((_SEVERITY.get(r.name, Status.ERROR) for r in failed), key=lambda s: s.severity)
    sentences = [
        f"{r.name} ({r.url}) failed with {r.result}: {r.detail}. "
        f"This matters because {consequence(r.name, r.result)}."
        for r in failed
    ]
    proxy_hint = (
        " ivy uses the same proxy settings as requests: HTTPS_PROXY, NO_PROXY and "
        "REQUESTS_CA_BUNDLE in the environment the script runs in."
    )
    title = (
        "An ivy server this version needs is unreachable"
        if status is Status.ERROR
        else "A server ivy calls after accepting the key is unreachable"
    )
    return Finding(
        CHECK_ID,
        status,
        title,
        " ".join(sentences) + proxy_hint + suffix,
        evidence,
        Fix(
            "Make these addresses reachable from this machine (network, firewall or proxy "
            "settings), then re-check; the commands test them the way ivy will.",
            automatic=False,
            commands=tuple(
                f"curl -sS -o /dev/null -w '%{{http_code}}\\n' --max-time "
                f"{max(1, int(ctx.network_timeout))} {r.url}"
                for r in failed
            ),
        ),
    )


def _probe_all(
    ctx: SystemContext, endpoints: list[Endpoint], session: requests.Session | None
) -> list[ProbeResult]:
    """Probe concurrently; an endpoint still hanging after the deadline counts as a timeout."""
    from concurrent.futures import Future, ThreadPoolExecutor, wait

    own = session is None
    active = session if session is not None else make_session(ctx)
    # connect + read timeouts, plus slack; name resolution is not bounded by requests' timeout.
    deadline = ctx.network_timeout * 2 + 2
    pool = ThreadPoolExecutor(max_workers=len(endpoints), thread_name_prefix="ivy-setup-net")
    futures: dict[Future[ProbeResult], Endpoint] = {
        pool.submit(probe, active, ctx, endpoint): endpoint for endpoint in endpoints
    }
    done, pending = wait(futures, timeout=deadline)
    pool.shutdown(wait=False, cancel_futures=True)
    results: list[ProbeResult] = []
    for future, endpoint in futures.items():
        if future in done:
            results.append(future.result())
        else:
            results.append(
                ProbeResult(
                    endpoint.name,
                    endpoint.url,
                    endpoint.purpose,
                    "timeout",
                    False,
                    f"{_ADVICE['timeout']} (no answer within {deadline:g} s)",
                    proxy=redact_url(proxy_for(ctx.env, endpoint.url)),
                )
            )
    if own and not pending:
        active.close()
    return results


def advice(kind: str) -> str:
    """What to do about a failure class from `classify_exception` (one clause, plain words)."""
    return _ADVICE.get(kind, _ADVICE["error"])
