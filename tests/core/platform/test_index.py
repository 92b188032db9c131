"""The index client: which index pip uses, reading PEP 691/503 pages, errors, compatibility."""

from __future__ import annotations

import json
import os
import socket
import ssl
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import requests
import urllib3
from packaging.tags import sys_tags
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from ivy_setup_tui.core.context import SystemContext
from ivy_setup_tui.core.platform import index
from ivy_setup_tui.core.platform.index import (
    ACCEPT,
    IndexConfig,
    IndexUnavailable,
    ReleaseFile,
    ca_bundle,
    classify_error,
    compatible_releases,
    fetch_project_files,
    fetch_release_files,
    proxies_for,
    resolve_index,
    strip_credentials,
    supported_tags,
)
from ivy_setup_tui.core.platform.interpreter import Target, probe, target_from_raw
from tests.certificates import self_signed
from tests.core.venvs import (
    fake_raw,
    ivy_filenames,
    ivy_release_files,
    pep503_html,
    pep691_json,
)

MakeCtx = Callable[..., SystemContext]
JSON_TYPE = "application/vnd.pypi.simple.v1+json"


def _target(**kwargs: object) -> Target:
    return target_from_raw(Path("/opt/python/bin/python3"), fake_raw(**kwargs))  # type: ignore[arg-type]


def _versions(target: Target, files: list[ReleaseFile] | None = None) -> list[str]:
    return [r.version for r in compatible_releases(target, files or ivy_release_files())]


def _ctx(make_ctx: MakeCtx, **env: str) -> SystemContext:
    # A fully controlled environment: the machine's PIP_* variables must not leak in.
    return make_ctx(env={"PATH": os.environ.get("PATH", ""), "NO_PROXY": "*", **env}, offline=False)


# --------------------------------------------------------------------------- which index


def test_default_index_is_pypi(make_ctx: MakeCtx) -> None:
    config = resolve_index(_ctx(make_ctx), system_config_dirs=[])
    assert config == IndexConfig(index.DEFAULT_INDEX, (), "default", None)


def test_user_config_files_in_pip_order(make_ctx: MakeCtx, home: Path) -> None:
    legacy = home / ".pip" / "pip.conf"
    legacy.parent.mkdir()
    legacy.write_text("[global]\nindex-url = https://legacy.example/simple\n", encoding="utf-8")
    new = home / ".config" / "pip" / "pip.conf"
    new.parent.mkdir(parents=True)
    new.write_text(
        "[global]\nindex-url = https://global-section.example/simple\n"
        "extra-index-url =\n    https://extra1.example/simple\n    https://extra2.example/simple\n"
        "[install]\nindex_url = https://install-section.example/simple\n",
        encoding="utf-8",
    )
    ctx = _ctx(make_ctx, XDG_CONFIG_HOME=str(home / ".config"))
    config = resolve_index(ctx, system_config_dirs=[])
    assert config.index_url == "https://install-section.example/simple"
    assert config.extra_index_urls == (
        "https://extra1.example/simple",
        "https://extra2.example/simple",
    )
    assert config.source == str(new)


def test_global_site_and_env_file_precedence(make_ctx: MakeCtx, tmp_path: Path) -> None:
    system = tmp_path / "etc"
    system.mkdir()
    (system / "pip.conf").write_text(
        "[global]\nindex-url = https://global.example/simple\ncert = /etc/ca.pem\n",
        encoding="utf-8",
    )
    ctx = _ctx(make_ctx)
    assert resolve_index(ctx, system_config_dirs=[system]).index_url == (
        "https://global.example/simple"
    )
    assert resolve_index(ctx, system_config_dirs=[system]).cert == "/etc/ca.pem"

    prefix = tmp_path / "venv"
    prefix.mkdir()
    (prefix / "pip.conf").write_text(
        "[global]\nindex-url = https://site.example/simple\n", encoding="utf-8"
    )
    config = resolve_index(ctx, prefix=str(prefix), system_config_dirs=[system])
    assert config.index_url == "https://site.example/simple"

    env_file = tmp_path / "custom.conf"
    env_file.write_text("[install]\nindex-url = https://envfile.example/simple\n", encoding="utf-8")
    ctx = _ctx(make_ctx, PIP_CONFIG_FILE=str(env_file))
    config = resolve_index(ctx, prefix=str(prefix), system_config_dirs=[system])
    assert config.index_url == "https://envfile.example/simple"


def test_pip_config_file_devnull_loads_nothing(make_ctx: MakeCtx, tmp_path: Path) -> None:
    system = tmp_path / "etc"
    system.mkdir()
    (system / "pip.conf").write_text(
        "[global]\nindex-url = https://g.example/s\n", encoding="utf-8"
    )
    ctx = _ctx(make_ctx, PIP_CONFIG_FILE=os.devnull)
    assert resolve_index(ctx, system_config_dirs=[system]).index_url == index.DEFAULT_INDEX


def test_environment_beats_config_and_our_override_beats_all(make_ctx: MakeCtx, home: Path) -> None:
    conf = home / ".config" / "pip" / "pip.conf"
    conf.parent.mkdir(parents=True)
    conf.write_text("[global]\nindex-url = https://conf.example/simple\n", encoding="utf-8")
    ctx = _ctx(
        make_ctx,
        PIP_INDEX_URL="https://env.example/simple",
        PIP_EXTRA_INDEX_URL="https://x1.example/simple https://x2.example/simple",
        PIP_CERT="/ca/pip.pem",
    )
    config = resolve_index(ctx, system_config_dirs=[])
    assert (config.index_url, config.source) == ("https://env.example/simple", "PIP_INDEX_URL")
    assert config.extra_index_urls == ("https://x1.example/simple", "https://x2.example/simple")
    assert config.cert == "/ca/pip.pem"

    ctx = _ctx(
        make_ctx, PIP_INDEX_URL="https://env.example/simple", IVY_SETUP_INDEX_URL="http://o/s"
    )
    config = resolve_index(ctx, system_config_dirs=[])
    assert config == IndexConfig("http://o/s", (), "IVY_SETUP_INDEX_URL", None)


def test_broken_config_file_is_ignored(make_ctx: MakeCtx, home: Path) -> None:
    conf = home / ".config" / "pip" / "pip.conf"
    conf.parent.mkdir(parents=True)
    conf.write_text("this is [not an ini file\n", encoding="utf-8")
    assert resolve_index(_ctx(make_ctx), system_config_dirs=[]).index_url == index.DEFAULT_INDEX


def test_credentials_are_stripped_for_display() -> None:
    url = "https://alice:s3cret@mirror.example:8443/simple"
    assert strip_credentials(url) == "https://mirror.example:8443/simple"
    assert IndexConfig(url).display_url == "https://mirror.example:8443/simple"
    assert strip_credentials("https://pypi.org/simple") == "https://pypi.org/simple"


# --------------------------------------------------------------------------- proxies, TLS


def test_proxies_come_from_the_given_environment() -> None:
    env = {"HTTPS_PROXY": "http://upper:3128", "https_proxy": "http://lower:3128"}
    assert proxies_for("https://pypi.org/simple/ivy/", env) == {"https": "http://lower:3128"}
    assert proxies_for("http://pypi.org/simple/", {"ALL_PROXY": "http://all:1"}) == {
        "http": "http://all:1"
    }
    assert proxies_for("https://pypi.org/", {}) == {}


@pytest.mark.parametrize(
    ("no_proxy", "url", "bypassed"),
    [
        ("*", "https://pypi.org/simple/", True),
        ("pypi.org", "https://pypi.org/simple/", True),
        (".pypi.org", "https://files.pypi.org/simple/", True),
        ("example.com,pypi.org", "https://notpypi.org/simple/", False),
        ("10.0.0.0/8", "http://10.1.2.3/simple/", True),
        ("10.0.0.0/8", "http://11.1.2.3/simple/", False),
        ("mirror.local:8080", "http://mirror.local:8080/simple/", True),
        ("mirror.local:8080", "http://mirror.local:9090/simple/", False),
    ],
)
def test_no_proxy(no_proxy: str, url: str, bypassed: bool) -> None:
    env = {"HTTPS_PROXY": "http://proxy:3128", "HTTP_PROXY": "http://proxy:3128"}
    env["NO_PROXY"] = no_proxy
    assert (proxies_for(url, env) == {}) is bypassed


def test_ca_bundle_order_never_disables_verification() -> None:
    config = IndexConfig("https://x/simple", cert="/pip/ca.pem")
    assert ca_bundle({}, None) is True
    assert ca_bundle({}, config) == "/pip/ca.pem"
    assert ca_bundle({"CURL_CA_BUNDLE": "/curl.pem"}, config) == "/curl.pem"
    assert (
        ca_bundle({"REQUESTS_CA_BUNDLE": "/req.pem", "CURL_CA_BUNDLE": "/c"}, config) == "/req.pem"
    )
    assert ca_bundle({"REQUESTS_CA_BUNDLE": ""}, None) is True


# --------------------------------------------------------------------------- reading pages


def test_reads_a_pep_691_json_page(httpserver: HTTPServer, make_ctx: MakeCtx) -> None:
    files = ivy_filenames()
    yanked_name = "ivy-0.0.9.3-cp310-cp310-manylinux_2_17_x86_64.manylinux2014_x86_64.whl"
    httpserver.expect_request("/simple/ivy/", headers={"Accept": ACCEPT}).respond_with_data(
        pep691_json(files, yanked={yanked_name: "broken build"}), content_type=JSON_TYPE
    )
    ctx = _ctx(make_ctx)
    got = fetch_project_files(ctx, httpserver.url_for("/simple"))
    assert len(got) == len(files)
    by_name = {f.filename: f for f in got}
    assert by_name[yanked_name].yanked is True
    assert by_name[yanked_name].version == "0.0.9.3"
    assert by_name["ivy-1.0.0.5-py3-none-any.whl"] == ReleaseFile(
        "ivy-1.0.0.5-py3-none-any.whl", "1.0.0.5", ">=3.8", False
    )
    assert by_name["ivy-0.0.8.0.tar.gz"].is_wheel is False


def test_reads_a_pep_503_html_page(httpserver: HTTPServer, make_ctx: MakeCtx) -> None:
    files = [*ivy_filenames(), ("not-ivy-1.0-py3-none-any.whl", None), ("ivy-weird.exe", None)]
    yanked_name = "ivy-1.0.0.0-py3-none-any.whl"
    httpserver.expect_request("/simple/ivy/").respond_with_data(
        pep503_html(files, yanked={yanked_name}), content_type="text/html"
    )
    got = fetch_project_files(_ctx(make_ctx), httpserver.url_for("/simple/"))
    by_name = {f.filename: f for f in got}
    assert len(got) == len(ivy_filenames())  # other projects' and unknown files dropped
    assert by_name[yanked_name].yanked is True
    assert by_name["ivy-1.0.0.5-py3-none-any.whl"].requires_python == ">=3.8"
    assert by_name["ivy-1.0.0.5-py3-none-any.whl"].yanked is False


def test_http_error_is_classified(httpserver: HTTPServer, make_ctx: MakeCtx) -> None:
    httpserver.expect_request("/simple/ivy/").respond_with_data("oops", status=500)
    with pytest.raises(IndexUnavailable) as caught:
        fetch_project_files(_ctx(make_ctx), httpserver.url_for("/simple"))
    assert caught.value.reason == "http_500"
    assert "500" in caught.value.message


def test_missing_project_is_http_404(httpserver: HTTPServer, make_ctx: MakeCtx) -> None:
    httpserver.expect_request("/simple/ivy/").respond_with_data("Not Found", status=404)
    with pytest.raises(IndexUnavailable) as caught:
        fetch_project_files(_ctx(make_ctx), httpserver.url_for("/simple"))
    assert caught.value.reason == "http_404"


def test_invalid_json_is_a_bad_response(httpserver: HTTPServer, make_ctx: MakeCtx) -> None:
    httpserver.expect_request("/simple/ivy/").respond_with_data(
        '{"files": [', content_type=JSON_TYPE
    )
    with pytest.raises(IndexUnavailable) as caught:
        fetch_project_files(_ctx(make_ctx), httpserver.url_for("/simple"))
    assert caught.value.reason == "bad_response"


def test_json_without_files_is_a_bad_response(httpserver: HTTPServer, make_ctx: MakeCtx) -> None:
    httpserver.expect_request("/simple/ivy/").respond_with_json({"name": "ivy"})
    with pytest.raises(IndexUnavailable) as caught:
        fetch_project_files(_ctx(make_ctx), httpserver.url_for("/simple"))
    assert caught.value.reason == "bad_response"


def test_a_slow_index_times_out(httpserver: HTTPServer, make_ctx: MakeCtx) -> None:
    def slow(_request: Request) -> Response:
        time.sleep(2.0)
        return Response(pep691_json([]), content_type=JSON_TYPE)

    httpserver.expect_request("/simple/ivy/").respond_with_handler(slow)
    ctx = make_ctx(env={"NO_PROXY": "*"}, offline=False, network_timeout=0.2)
    started = time.monotonic()
    with pytest.raises(IndexUnavailable) as caught:
        fetch_project_files(ctx, httpserver.url_for("/simple"))
    assert caught.value.reason == "timeout"
    assert time.monotonic() - started < 1.5  # the 0.2 s timeout, not the 2 s answer


def _closed_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_connection_refused_is_connect(make_ctx: MakeCtx) -> None:
    port = _closed_port()
    with pytest.raises(IndexUnavailable) as caught:
        fetch_project_files(_ctx(make_ctx), f"http://127.0.0.1:{port}/simple")
    assert caught.value.reason == "connect"
    assert caught.value.url == f"http://127.0.0.1:{port}/simple/ivy/"


def test_dns_failure_is_classified_from_the_exception_chain() -> None:
    gai = socket.gaierror(-2, "Name or service not known")
    inner = urllib3.exceptions.NameResolutionError("nowhere.invalid", None, gai)  # type: ignore[arg-type]
    retry = urllib3.exceptions.MaxRetryError(None, "/simple/ivy/", inner)  # type: ignore[arg-type]
    assert classify_error(requests.exceptions.ConnectionError(retry)) == "dns"
    assert classify_error(requests.exceptions.ConnectTimeout("x")) == "timeout"
    assert classify_error(requests.exceptions.SSLError("cert")) == "tls"
    proxy = requests.exceptions.ProxyError("Tunnel connection failed: 407 Proxy Authentication")
    assert classify_error(proxy) == "proxy_auth"
    assert classify_error(requests.exceptions.ProxyError("Cannot connect to proxy")) == "proxy"
    assert classify_error(requests.exceptions.MissingSchema("no scheme")) == "bad_url"
    assert classify_error(requests.exceptions.ConnectionError("refused")) == "connect"


def test_credentials_in_the_index_url_are_sent_but_never_shown(
    httpserver: HTTPServer, make_ctx: MakeCtx
) -> None:
    # requests turns user:password@ into Basic auth: "alice:s3cret" in base64.
    httpserver.expect_request(
        "/simple/ivy/", headers={"Authorization": "Basic YWxpY2U6czNjcmV0"}
    ).respond_with_data("nope", status=503)
    url = httpserver.url_for("/simple").replace("http://", "http://alice:s3cret@")
    with pytest.raises(IndexUnavailable) as caught:
        fetch_project_files(_ctx(make_ctx), url)
    assert caught.value.reason == "http_503"
    assert "s3cret" not in str(caught.value)
    assert "s3cret" not in caught.value.url


def test_proxy_from_the_context_environment_is_used(
    httpserver: HTTPServer, make_ctx: MakeCtx
) -> None:
    # The "proxy" is the loopback server: the index host itself is never resolved or contacted.
    def as_proxy(request: Request) -> Response:
        assert request.host == "ivy-index.test"
        return Response(pep691_json(ivy_filenames()[:3]), content_type=JSON_TYPE)

    httpserver.expect_request("/simple/ivy/").respond_with_handler(as_proxy)
    ctx = make_ctx(env={"HTTP_PROXY": httpserver.url_for("/")}, offline=False)
    got = fetch_project_files(ctx, "http://ivy-index.test/simple")
    assert len(got) == 3


def test_a_local_file_index(make_ctx: MakeCtx, tmp_path: Path) -> None:
    folder = tmp_path / "mirror" / "ivy"
    folder.mkdir(parents=True)
    for name in ("ivy-1.0.0.5-py3-none-any.whl", "ivy-0.0.8.0.tar.gz", "README.txt"):
        (folder / name).write_bytes(b"")
    got = fetch_project_files(_ctx(make_ctx), (tmp_path / "mirror").as_uri())
    assert sorted(f.version for f in got) == ["0.0.8.0", "1.0.0.5"]
    with pytest.raises(IndexUnavailable) as caught:
        fetch_project_files(_ctx(make_ctx), (tmp_path / "nothing").as_uri())
    assert caught.value.reason == "not_found"


def test_extra_indexes_fill_in_and_all_failing_raises(
    httpserver: HTTPServer, make_ctx: MakeCtx
) -> None:
    httpserver.expect_request("/extra/ivy/").respond_with_data(
        pep691_json(ivy_filenames()[:5]), content_type=JSON_TYPE
    )
    dead = f"http://127.0.0.1:{_closed_port()}/simple"
    ctx = _ctx(make_ctx)
    config = IndexConfig(dead, (httpserver.url_for("/extra"),))
    assert len(fetch_release_files(ctx, config)) == 5
    with pytest.raises(IndexUnavailable) as caught:
        fetch_release_files(ctx, IndexConfig(dead))
    assert caught.value.reason == "connect"


# --------------------------------------------------------------------------- TLS for real


def _self_signed(tmp_path: Path) -> tuple[Path, Path]:
    cert, key = self_signed("localhost")
    (tmp_path / "cert.pem").write_bytes(cert)
    (tmp_path / "key.pem").write_bytes(key)
    return tmp_path / "cert.pem", tmp_path / "key.pem"


@pytest.fixture
def https_server(tmp_path: Path) -> Iterator[tuple[HTTPServer, Path]]:
    cert, key = _self_signed(tmp_path)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    server = HTTPServer(host="127.0.0.1", port=0, ssl_context=context)
    server.start()
    try:
        yield server, cert
    finally:
        server.clear()
        if server.is_running():
            server.stop()


def test_untrusted_certificate_is_tls_and_a_ca_bundle_fixes_it(
    https_server: tuple[HTTPServer, Path], make_ctx: MakeCtx
) -> None:
    server, cert = https_server
    server.expect_request("/simple/ivy/").respond_with_data(
        pep691_json(ivy_filenames()[:2]), content_type=JSON_TYPE
    )
    url = server.url_for("/simple")
    assert url.startswith("https://")
    with pytest.raises(IndexUnavailable) as caught:
        fetch_project_files(_ctx(make_ctx), url)
    assert caught.value.reason == "tls"
    ctx = _ctx(make_ctx, REQUESTS_CA_BUNDLE=str(cert))
    assert len(fetch_release_files(ctx, IndexConfig(url))) == 2


# --------------------------------------------------------------------------- target tags


def test_tags_from_a_real_probe_match_packaging_for_the_running_interpreter() -> None:
    target = probe(Path(sys.executable), env=dict(os.environ), timeout=10.0)
    assert target.ok, target.error
    assert set(supported_tags(target.raw)) == set(sys_tags())


def test_manylinux_tags_follow_the_targets_glibc() -> None:
    tags = {str(t) for t in supported_tags(fake_raw(python=(3, 10, 4), glibc="2.31"))}
    assert "cp310-cp310-manylinux_2_17_x86_64" in tags
    assert "cp310-cp310-manylinux2014_x86_64" in tags
    assert "cp310-cp310-manylinux1_x86_64" in tags
    assert "cp310-cp310-manylinux_2_31_x86_64" in tags
    assert "cp310-cp310-manylinux_2_32_x86_64" not in tags
    assert "cp310-cp310-linux_x86_64" in tags
    assert "py3-none-any" in tags
    assert "cp311-cp311-manylinux_2_17_x86_64" not in tags


# --------------------------------------------------------------------------- compatibility


def test_cpython_3_10_linux_x86_64_gets_every_release() -> None:
    versions = _versions(_target(python=(3, 10, 12), glibc="2.31"))
    assert "0.0.9.0" in versions
    assert "0.0.9.1" in versions
    assert versions[0] == "1.0.0.5"  # newest first
    assert "0.0.8.0" in versions  # an sdist counts, though it must be built
    release = next(
        r for r in compatible_releases(_target(), ivy_release_files()) if r.version == "0.0.8.0"
    )
    assert release.needs_build is True
    wheel = next(
        r for r in compatible_releases(_target(), ivy_release_files()) if r.version == "0.0.9.0"
    )
    assert wheel.needs_build is False
    assert wheel.files == (
        "ivy-0.0.9.0-cp310-cp310-manylinux_2_17_x86_64.manylinux2014_x86_64.whl",
    )


def test_cpython_3_12_gets_0_0_9_8_and_later_only() -> None:
    versions = _versions(_target(python=(3, 12, 1)))
    assert "0.0.9.0" not in versions
    assert "0.0.9.1" not in versions
    assert "0.0.9.7" not in versions
    assert "0.0.9.8" in versions
    assert "0.0.9.17" in versions
    assert all(v in versions for v in ("1.0.0.0", "1.0.0.5"))


def test_cpython_3_13_gets_0_0_9_14_and_later_only() -> None:
    versions = [v for v in _versions(_target(python=(3, 13, 0))) if v.startswith("0.0.9")]
    assert versions == ["0.0.9.17", "0.0.9.16", "0.0.9.15", "0.0.9.14"]


def test_linux_aarch64_gets_only_the_pure_python_releases() -> None:
    versions = _versions(_target(machine="aarch64"))
    assert [v for v in versions if not v.startswith("0.0.8")] == [
        "1.0.0.5",
        "1.0.0.4",
        "1.0.0.3",
        "1.0.0.2",
        "1.0.0.1",
        "1.0.0.0",
    ]


def test_old_glibc_and_musl_get_no_manylinux_2_17_wheels() -> None:
    old = _versions(_target(glibc="2.12"))
    musl = _versions(_target(glibc=None, musl="1.2"))
    for versions in (old, musl):
        assert not any(v.startswith("0.0.9") for v in versions)
        assert "1.0.0.5" in versions


def test_macos_arm64_gets_0_0_9_for_3_10_but_intel_macs_do_not() -> None:
    arm = _versions(_target(system="Darwin", machine="arm64", mac_version="14.2"))
    intel = _versions(_target(system="Darwin", machine="x86_64", mac_version="14.2"))
    arm_39 = _versions(
        _target(python=(3, 9, 18), system="Darwin", machine="arm64", mac_version="14.2")
    )
    old_mac = _versions(_target(system="Darwin", machine="arm64", mac_version="11.0"))
    assert "0.0.9.0" in arm
    assert not any(v.startswith("0.0.9") for v in intel)
    assert not any(v.startswith("0.0.9") for v in arm_39)  # no macOS wheels for 3.9
    assert not any(v.startswith("0.0.9") for v in old_mac)  # wheels need macOS 12
    assert "1.0.0.5" in intel


def test_windows_amd64_gets_0_0_9_but_32_bit_windows_does_not() -> None:
    amd64 = _versions(_target(python=(3, 9, 13), system="Windows", machine="AMD64"))
    win32 = _versions(_target(python=(3, 9, 13), system="Windows", machine="x86", pointer_bits=32))
    assert "0.0.9.0" in amd64
    assert not any(v.startswith("0.0.9") for v in win32)


def test_requires_python_is_honoured() -> None:
    files = [
        ReleaseFile("ivy-1.0.0.5-py3-none-any.whl", "1.0.0.5", ">=3.11", False),
        ReleaseFile("ivy-1.0.0.4-py3-none-any.whl", "1.0.0.4", ">=3.8,<3.11", False),
        ReleaseFile("ivy-1.0.0.3-py3-none-any.whl", "1.0.0.3", "not a specifier", False),
    ]
    assert _versions(_target(python=(3, 10, 0)), files) == ["1.0.0.4", "1.0.0.3"]
    assert _versions(_target(python=(3, 11, 2)), files) == ["1.0.0.5", "1.0.0.3"]


def test_yanked_and_prereleases_count_only_when_pinned() -> None:
    files = [
        ReleaseFile("ivy-1.0.0.5-py3-none-any.whl", "1.0.0.5", None, True),
        ReleaseFile("ivy-1.0.0.6rc1-py3-none-any.whl", "1.0.0.6rc1", None, False),
        ReleaseFile("ivy-1.0.0.4-py3-none-any.whl", "1.0.0.4", None, False),
    ]
    target = _target()
    assert _versions(target, files) == ["1.0.0.4"]
    pinned = compatible_releases(target, files, pinned="1.0.0.5")
    assert [r.version for r in pinned] == ["1.0.0.5", "1.0.0.4"]
    assert pinned[0].yanked is True
    assert [r.version for r in compatible_releases(target, files, pinned="1.0.0.6rc1")] == [
        "1.0.0.6rc1",
        "1.0.0.4",
    ]


def test_a_broken_target_has_no_compatible_release() -> None:
    broken = Target(python=Path("/nope"), source="--python", error="it does not exist")
    assert compatible_releases(broken, ivy_release_files()) == []


def test_json_parsing_of_the_pep_691_yanked_forms() -> None:
    body = json.dumps(
        {
            "files": [
                {"filename": "ivy-1.0.0.5-py3-none-any.whl", "yanked": "bad"},
                {"filename": "ivy-1.0.0.4-py3-none-any.whl", "yanked": False},
                {"filename": "ivy-1.0.0.3-py3-none-any.whl"},
                {"nofilename": True},
            ]
        }
    )
    got = index.parse_json_page(body)
    assert [(f.version, f.yanked) for f in got] == [
        ("1.0.0.5", True),
        ("1.0.0.4", False),
        ("1.0.0.3", False),
    ]
