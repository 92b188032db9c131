"""The package index the user's pip uses: which ivy files it lists, and which install on the target.

The index URL is found the way pip finds it (environment, pip config files), the project page is
read through PEP 691 JSON or PEP 503 HTML, and compatibility is decided from wheel tags computed
for the *target* interpreter out of its probe data, as pip would on that machine. `requests` and
the rest of the network stack (urllib.request, http, email, ssl, html.parser, configparser) are
imported lazily, where they are used: `ivy-setup check --offline` never loads them.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote, urlsplit, urlunsplit

from packaging.specifiers import InvalidSpecifier, SpecifierSet
from packaging.tags import Tag, compatible_tags, cpython_tags, generic_tags, mac_platforms
from packaging.utils import (
    InvalidSdistFilename,
    InvalidWheelFilename,
    canonicalize_name,
    parse_sdist_filename,
    parse_wheel_filename,
)
from packaging.version import InvalidVersion, Version

from ivy_setup_tui import __version__
from ivy_setup_tui.core.context import SystemContext
from ivy_setup_tui.core.facts import PYPI_ENV

if TYPE_CHECKING:
    from ivy_setup_tui.core.platform.interpreter import Target

DEFAULT_INDEX = "https://pypi.org/simple"
PROJECT = "ivy"
# PEP 691: prefer JSON, accept the HTML forms.
ACCEPT = (
    "application/vnd.pypi.simple.v1+json, application/vnd.pypi.simple.v1+html;q=0.2, "
    "text/html;q=0.1"
)
_JSON_TYPES = ("application/vnd.pypi.simple.v1+json", "application/json")
_HTML_TYPES = ("application/vnd.pypi.simple.v1+html", "text/html")
_SDIST_SUFFIXES = (".tar.gz", ".zip")

# Reason classes for IndexUnavailable.
DNS = "dns"
CONNECT = "connect"
TIMEOUT = "timeout"
TLS = "tls"
PROXY = "proxy"
PROXY_AUTH = "proxy_auth"
BAD_RESPONSE = "bad_response"
BAD_URL = "bad_url"
NOT_FOUND = "not_found"

_INTERPRETER_SHORT_NAMES = {
    "cpython": "cp",
    "pypy": "pp",
    "ironpython": "ip",
    "jython": "jy",
}
# Architectures with manylinux wheels (packaging's list plus the 32-bit ones it checks by ELF).
_MANYLINUX_ARCHS = {
    "x86_64",
    "i686",
    "aarch64",
    "armv7l",
    "ppc64",
    "ppc64le",
    "s390x",
    "loongarch64",
    "riscv64",
}
_LEGACY_MANYLINUX = {(2, 17): "manylinux2014", (2, 12): "manylinux2010", (2, 5): "manylinux1"}


class IndexUnavailable(Exception):
    """The index could not be read; `reason` is a short class (dns, timeout, http_503, ...)."""

    def __init__(self, reason: str, message: str, url: str = "") -> None:
        message = _scrub(message)
        super().__init__(message)
        self.reason = reason
        self.message = message
        self.url = url


@dataclass(frozen=True)
class IndexConfig:
    """Where release files are read from, and how the server's certificate is verified."""

    index_url: str
    extra_index_urls: tuple[str, ...] = ()
    source: str = "default"
    cert: str | None = None

    @property
    def urls(self) -> tuple[str, ...]:
        """The main index first, then the extra ones, without duplicates."""
        out: list[str] = []
        for url in (self.index_url, *self.extra_index_urls):
            if url not in out:
                out.append(url)
        return tuple(out)

    @property
    def display_url(self) -> str:
        """The main index URL with any credentials removed, safe to show and to put in evidence."""
        return strip_credentials(self.index_url)


@dataclass(frozen=True)
class ReleaseFile:
    """One file the index lists for ivy."""

    filename: str
    version: str
    requires_python: str | None = None
    yanked: bool = False

    @property
    def is_wheel(self) -> bool:
        """True for a wheel (a built distribution, decided by its tags)."""
        return self.filename.endswith(".whl")


@dataclass(frozen=True)
class CompatibleRelease:
    """A release pip would install on the target, with the files that make it so."""

    version: str
    files: tuple[str, ...]
    needs_build: bool  # only an sdist fits: pip would have to build it (may fail for ivy)
    yanked: bool = False


def _scrub(text: str) -> str:
    """Remove `user:password@` from URLs inside a message (proxy errors quote the proxy URL)."""
    return re.sub(r"//[^/@\s]+@", "//", text)


def strip_credentials(url: str) -> str:
    """`url` without `user:password@`, for display."""
    parts = urlsplit(url)
    if "@" not in parts.netloc:
        return url
    host = parts.netloc.rsplit("@", 1)[1]
    return urlunsplit((parts.scheme, host, parts.path, parts.query, parts.fragment))


# --------------------------------------------------------------------------- which index


def _read_pip_config(path: Path) -> dict[str, str]:
    """index-url, extra-index-url and cert from one pip config file ([install] over [global])."""
    import configparser

    parser = configparser.RawConfigParser()
    try:
        with path.open(encoding="utf-8") as handle:
            parser.read_file(handle)
    except (OSError, UnicodeDecodeError, configparser.Error):
        return {}
    values: dict[str, str] = {}
    for section in ("global", "install"):
        if parser.has_section(section):
            for key, value in parser.items(section):
                values[key.replace("_", "-").lower()] = value
    return {k: v for k, v in values.items() if k in ("index-url", "extra-index-url", "cert")}


def _system_config_dirs(ctx: SystemContext) -> list[Path]:
    """The folders pip reads its global config file from, in pip's order (later ones win)."""
    if ctx.is_windows:
        return [Path(ctx.env.get("ProgramData", "C:\\ProgramData")) / "pip"]
    if ctx.platform == "darwin":
        return [Path("/Library/Application Support/pip")]
    xdg = ctx.env.get("XDG_CONFIG_DIRS") or "/etc/xdg"
    return [Path(part) / "pip" for part in xdg.split(os.pathsep) if part] + [Path("/etc")]


def pip_config_files(
    ctx: SystemContext,
    *,
    prefix: str | None = None,
    system_config_dirs: Sequence[Path] | None = None,
) -> list[tuple[str, Path]]:
    """pip's config files in the order pip loads them (later ones win), each with its kind.

    `prefix` is the target's `sys.prefix` (its site config file); `system_config_dirs` replaces the
    folders of the global files (tests pass `[]` so the machine's /etc never leaks in).
    """
    name = "pip.ini" if ctx.is_windows else "pip.conf"
    env_file = ctx.env.get("PIP_CONFIG_FILE")
    if env_file == os.devnull:  # pip: PIP_CONFIG_FILE=os.devnull loads no config file at all
        return []
    dirs = _system_config_dirs(ctx) if system_config_dirs is None else list(system_config_dirs)
    files: list[tuple[str, Path]] = [("global", folder / name) for folder in dirs]
    if not (env_file and Path(env_file).exists()):
        if ctx.is_windows:
            appdata = ctx.env.get("APPDATA") or str(ctx.home / "AppData" / "Roaming")
            files.append(("user", ctx.home / "pip" / name))
            files.append(("user", Path(appdata) / "pip" / name))
        else:
            files.append(("user", ctx.home / ".pip" / name))
            xdg = ctx.env.get("XDG_CONFIG_HOME", "")
            config_home = Path(xdg) if xdg and os.path.isabs(xdg) else ctx.home / ".config"
            new = config_home / "pip" / name
            if ctx.platform == "darwin" and not new.parent.is_dir():
                new = ctx.home / "Library" / "Application Support" / "pip" / name
            files.append(("user", new))
    site = prefix or ctx.env.get("VIRTUAL_ENV")
    if site:
        files.append(("site", Path(site) / name))
    if env_file:
        files.append(("env", Path(env_file)))
    return files


def resolve_index(
    ctx: SystemContext,
    *,
    prefix: str | None = None,
    system_config_dirs: Sequence[Path] | None = None,
) -> IndexConfig:
    """The index pip would use for the target: IVY_SETUP_INDEX_URL > PIP_* > pip config > PyPI."""
    index_url = DEFAULT_INDEX
    source = "default"
    extras: tuple[str, ...] = ()
    cert: str | None = None
    for _kind, path in pip_config_files(ctx, prefix=prefix, system_config_dirs=system_config_dirs):
        values = _read_pip_config(path)
        if "index-url" in values and values["index-url"].strip():
            index_url = values["index-url"].strip()
            source = str(path)
        if "extra-index-url" in values:
            extras = tuple(values["extra-index-url"].split())
        if values.get("cert", "").strip():
            cert = values["cert"].strip()
    env = ctx.env
    if env.get("PIP_INDEX_URL", "").strip():
        index_url = env["PIP_INDEX_URL"].strip()
        source = "PIP_INDEX_URL"
    if "PIP_EXTRA_INDEX_URL" in env:
        extras = tuple(env["PIP_EXTRA_INDEX_URL"].split())
    if env.get("PIP_CERT", "").strip():
        cert = env["PIP_CERT"].strip()
    if env.get(PYPI_ENV, "").strip():
        # Our own override means "read exactly this index": no extra indexes mixed in.
        return IndexConfig(env[PYPI_ENV].strip(), (), PYPI_ENV, cert)
    return IndexConfig(index_url, extras, source, cert)


# --------------------------------------------------------------------------- proxies and TLS


def proxies_for(url: str, env: Mapping[str, str]) -> dict[str, str]:
    """The proxy `requests` should use for `url`, read from `env` (network.py's resolver)."""
    from ivy_setup_tui.core import network

    proxy = network.proxy_for(env, url)
    return {urlsplit(url).scheme.lower(): proxy} if proxy else {}


def ca_bundle(env: Mapping[str, str], config: IndexConfig | None = None) -> str | bool:
    """What to verify TLS with: REQUESTS_CA_BUNDLE / CURL_CA_BUNDLE, pip's cert, else the default.

    Always verifies: a value here only adds trust roots, it never turns verification off.
    """
    from ivy_setup_tui.core import network

    bundle = network.ca_bundle(env)
    if bundle and bundle.strip():
        return bundle.strip()
    if config is not None and config.cert:
        return config.cert
    return True


# --------------------------------------------------------------------------- errors


def _chain(exc: BaseException) -> Iterable[BaseException]:
    """The exception, its causes/contexts, and the `reason`s urllib3 wraps, without loops."""
    seen: set[int] = set()
    todo: list[BaseException] = [exc]
    while todo:
        item = todo.pop()
        if id(item) in seen:
            continue
        seen.add(id(item))
        yield item
        for nxt in (item.__cause__, item.__context__, getattr(item, "reason", None)):
            if isinstance(nxt, BaseException):
                todo.append(nxt)
        todo.extend(arg for arg in item.args if isinstance(arg, BaseException))


def classify_error(exc: BaseException) -> str:
    """The reason class of a failed request: dns, connect, timeout, tls, proxy, proxy_auth, ..."""
    import socket

    import requests

    chain = list(_chain(exc))
    text = " ".join(str(item) for item in chain)
    if any(isinstance(item, requests.exceptions.SSLError) for item in chain):
        return TLS
    if any(isinstance(item, requests.exceptions.ProxyError) for item in chain):
        return PROXY_AUTH if "407" in text else PROXY
    if any(isinstance(item, requests.exceptions.Timeout | socket.timeout) for item in chain):
        return TIMEOUT
    if any(isinstance(item, socket.gaierror) for item in chain) or any(
        type(item).__name__ == "NameResolutionError" for item in chain
    ):
        return DNS
    lowered = text.lower()
    if any(
        marker in lowered
        for marker in ("name or service not known", "nodename nor servname", "getaddrinfo failed")
    ):
        return DNS
    if any(
        isinstance(item, requests.exceptions.InvalidURL | requests.exceptions.MissingSchema)
        for item in chain
    ):
        return BAD_URL
    if any(isinstance(item, requests.exceptions.InvalidSchema) for item in chain):
        return BAD_URL
    if "CA certificate bundle" in text:
        return TLS
    return CONNECT


# --------------------------------------------------------------------------- reading pages


def _release_file(filename: str, requires_python: str | None, yanked: bool) -> ReleaseFile | None:
    """A ReleaseFile for an ivy wheel or sdist; None for other projects' or unparsable files."""
    try:
        if filename.endswith(".whl"):
            name, version, _build, _tags = parse_wheel_filename(filename)
        elif filename.endswith(_SDIST_SUFFIXES):
            name, version = parse_sdist_filename(filename)
        else:
            return None
    except (InvalidWheelFilename, InvalidSdistFilename, InvalidVersion):
        return None
    if name != canonicalize_name(PROJECT):
        return None
    rp = requires_python.strip() if requires_python else None
    return ReleaseFile(filename, str(version), rp or None, yanked)


def parse_json_page(body: bytes | str, url: str = "") -> list[ReleaseFile]:
    """The files of a PEP 691 JSON project page; malformed pages raise IndexUnavailable."""
    try:
        data = json.loads(body)
    except ValueError as exc:
        raise IndexUnavailable(
            BAD_RESPONSE, f"the index answered invalid JSON ({exc})", url
        ) from exc
    files = data.get("files") if isinstance(data, dict) else None
    if not isinstance(files, list):
        raise IndexUnavailable(BAD_RESPONSE, "the index's JSON has no `files` list", url)
    out: list[ReleaseFile] = []
    for entry in files:
        if not isinstance(entry, dict) or not isinstance(entry.get("filename"), str):
            continue
        requires = entry.get("requires-python")
        yanked = entry.get("yanked", False)
        item = _release_file(
            entry["filename"],
            requires if isinstance(requires, str) else None,
            yanked is not False and yanked is not None,
        )
        if item is not None:
            out.append(item)
    return out


def _anchors(body: str) -> list[tuple[dict[str, str | None], str]]:
    """The anchors of a PEP 503 page with their attributes and text (html.parser, loaded here)."""
    from html.parser import HTMLParser

    class AnchorParser(HTMLParser):
        """Collects the anchors of a PEP 503 page with their data-* attributes."""

        def __init__(self) -> None:
            super().__init__(convert_charrefs=True)
            self.anchors: list[tuple[dict[str, str | None], str]] = []
            self._current: dict[str, str | None] | None = None
            self._text: list[str] = []

        def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
            if tag == "a":
                self._current = dict(attrs)
                self._text = []

        def handle_data(self, data: str) -> None:
            if self._current is not None:
                self._text.append(data)

        def handle_endtag(self, tag: str) -> None:
            if tag == "a" and self._current is not None:
                self.anchors.append((self._current, "".join(self._text).strip()))
                self._current = None

    parser = AnchorParser()
    parser.feed(body)
    parser.close()
    return parser.anchors


def parse_html_page(body: str) -> list[ReleaseFile]:
    """The files of a PEP 503 HTML project page (filename from the link, as pip does)."""
    out: list[ReleaseFile] = []
    for attrs, text in _anchors(body):
        href = attrs.get("href") or ""
        filename = unquote(urlsplit(href).path.rsplit("/", 1)[-1]) or text
        item = _release_file(filename, attrs.get("data-requires-python"), "data-yanked" in attrs)
        if item is not None:
            out.append(item)
    return out


def _read_local_index(url: str) -> list[ReleaseFile]:
    """A file:// index: `<dir>/ivy/index.html`, or the folder's file names (as pip accepts)."""
    from urllib.request import url2pathname

    folder = Path(url2pathname(urlsplit(url).path)) / PROJECT
    page = folder / "index.html"
    if page.is_file():
        return parse_html_page(page.read_text(encoding="utf-8", errors="replace"))
    if folder.is_dir():
        return [
            item
            for item in (_release_file(p.name, None, False) for p in sorted(folder.iterdir()))
            if item is not None
        ]
    raise IndexUnavailable(NOT_FOUND, f"the local index has no {PROJECT} folder", url)


def fetch_project_files(
    ctx: SystemContext, index_url: str, *, verify: str | bool = True
) -> list[ReleaseFile]:
    """Read ivy's page from one index; failures raise IndexUnavailable with a reason class."""
    page_url = index_url.rstrip("/") + f"/{PROJECT}/"
    shown = strip_credentials(page_url)
    if urlsplit(page_url).scheme == "file":
        return _read_local_index(index_url.rstrip("/") + "/")

    import requests

    try:
        with requests.Session() as session:
            # Only ctx.env counts (not this process's environment): proxies and CA are passed in.
            session.trust_env = False
            response = session.get(
                page_url,
                headers={"Accept": ACCEPT, "User-Agent": f"ivy-setup/{__version__}"},
                timeout=ctx.network_timeout,
                proxies=proxies_for(page_url, ctx.env),
                verify=verify,
            )
            body = response.content
    except (requests.exceptions.RequestException, OSError) as exc:
        reason = classify_error(exc)
        raise IndexUnavailable(reason, f"{shown}: {_short(exc)}", shown) from exc
    if response.status_code != 200:
        raise IndexUnavailable(
            f"http_{response.status_code}",
            f"{shown} answered HTTP {response.status_code} {response.reason or ''}".strip(),
            shown,
        )
    content_type = response.headers.get("Content-Type", "").split(";")[0].strip().lower()
    if content_type in _JSON_TYPES:
        return parse_json_page(body, shown)
    text = body.decode(response.encoding or "utf-8", errors="replace")
    if content_type in _HTML_TYPES or "<a " in text.lower() or "<html" in text.lower():
        return parse_html_page(text)
    raise IndexUnavailable(
        BAD_RESPONSE,
        f"{shown} answered {content_type or 'no content type'}, not a project page",
        shown,
    )


def _short(exc: BaseException) -> str:
    text = str(exc)
    return text if len(text) <= 300 else text[:297] + "..."


def fetch_release_files(ctx: SystemContext, config: IndexConfig | None = None) -> list[ReleaseFile]:
    """Every ivy file the configured indexes list (main index plus extras), deduplicated.

    Like pip, an index that fails is skipped while another answers; when none answers, the main
    index's failure is raised.
    """
    config = config or resolve_index(ctx)
    verify = ca_bundle(ctx.env, config)
    files: dict[str, ReleaseFile] = {}
    failures: list[IndexUnavailable] = []
    for url in config.urls:
        try:
            page = fetch_project_files(ctx, url, verify=verify)
        except IndexUnavailable as exc:
            failures.append(exc)
            continue
        for item in page:
            files.setdefault(item.filename, item)
    if failures and len(failures) == len(config.urls):
        raise failures[0]
    return list(files.values())


# --------------------------------------------------------------------------- target tags


def _normalize(text: str) -> str:
    return text.replace(".", "_").replace("-", "_").replace(" ", "_")


def _version_tuple(text: Any, length: int) -> tuple[int, ...] | None:
    if not isinstance(text, str) or not text:
        return None
    try:
        parts = tuple(int(p) for p in text.split(".")[:length])
    except ValueError:
        return None
    return parts if len(parts) == length else None


def _cpython_abis(raw: Mapping[str, Any], py: tuple[int, int]) -> list[str]:
    """packaging's `_cpython_abis`, fed from the target's config vars instead of ours."""
    config = raw.get("config_vars") or {}
    nodot = f"{py[0]}{py[1]}"
    debug = threading = pymalloc = ""
    with_debug = config.get("Py_DEBUG")
    has_ext = "_d.pyd" in (raw.get("extension_suffixes") or [])
    if with_debug or (with_debug is None and (raw.get("has_refcount") or has_ext)):
        debug = "d"
    if py >= (3, 13) and config.get("Py_GIL_DISABLED"):
        threading = "t"
    if py < (3, 8):
        with_pymalloc = config.get("WITH_PYMALLOC")
        if with_pymalloc or with_pymalloc is None:
            pymalloc = "m"
    abis = [f"cp{nodot}{threading}{debug}{pymalloc}"]
    if py >= (3, 8) and debug:
        abis.append(f"cp{nodot}{threading}")
    return abis


def _generic_abis(raw: Mapping[str, Any]) -> list[str]:
    """packaging's `_generic_abi` from the target's EXT_SUFFIX (PyPy, GraalPy, ...)."""
    suffix = (raw.get("config_vars") or {}).get("EXT_SUFFIX")
    if not isinstance(suffix, str) or not suffix.startswith("."):
        return []
    parts = suffix.split(".")
    if len(parts) < 3:
        return []
    soabi = parts[1]
    if soabi.startswith("cpython"):
        pieces = soabi.split("-")
        return ["cp" + pieces[1]] if len(pieces) > 1 and pieces[1] else []
    if soabi.startswith("cp"):
        return [soabi.split("-")[0]]
    if soabi.startswith("pypy"):
        return [_normalize("-".join(soabi.split("-")[:2]))]
    if soabi.startswith("graalpy"):
        return [_normalize("-".join(soabi.split("-")[:3]))]
    return [_normalize(soabi)] if soabi else []


def _manylinux(archs: Sequence[str], glibc: tuple[int, int]) -> list[str]:
    """manylinux_2_{minor}_{arch} down to the oldest glibc per arch, plus the legacy aliases.

    packaging can only compute this for the running interpreter's glibc, so it is rebuilt here for
    the target's (the `_manylinux` override module some distros ship is not consulted).
    """
    if not set(archs) & _MANYLINUX_ARCHS:
        return []
    oldest_minor = 4 if set(archs) & {"x86_64", "i686"} else 16  # exclusive lower bound
    out: list[str] = []
    for arch in archs:
        # glibc majors other than 2 never shipped; accept what the probe says and count down.
        for minor in range(glibc[1], oldest_minor, -1):
            out.append(f"manylinux_{glibc[0]}_{minor}_{arch}")
            legacy = _LEGACY_MANYLINUX.get((glibc[0], minor))
            if legacy:
                out.append(f"{legacy}_{arch}")
    return out


def _platforms(raw: Mapping[str, Any]) -> list[str]:
    """The target's platform tags, best first, as packaging's `platform_tags()` would yield them."""
    plat = _normalize(str(raw.get("sysconfig_platform") or ""))
    is_32bit = raw.get("pointer_bits") == 32
    system = raw.get("system")
    if system == "Darwin" or raw.get("sys_platform") == "darwin":
        version = _version_tuple(raw.get("mac_version"), 2)
        arch = str(raw.get("machine") or "")
        if version is None or not arch:
            return [plat] if plat else []
        if is_32bit:
            arch = "ppc" if arch.startswith("ppc") else "i386"
        return list(mac_platforms((version[0], version[1]), arch))
    if plat.startswith("linux_"):
        if is_32bit:
            plat = {"linux_x86_64": "linux_i686", "linux_aarch64": "linux_armv8l"}.get(plat, plat)
        arch = plat.split("_", 1)[1]
        archs = {"armv8l": ["armv8l", "armv7l"]}.get(arch, [arch])
        out = [f"linux_{a}" for a in archs]
        glibc = _version_tuple(raw.get("glibc"), 2)
        if glibc is not None:
            out += _manylinux(archs, (glibc[0], glibc[1]))
        musl = _version_tuple(raw.get("musl"), 2)
        if musl is not None:
            out += [f"musllinux_{musl[0]}_{m}_{a}" for a in archs for m in range(musl[1], -1, -1)]
        return out
    return [plat] if plat else []


def supported_tags(raw: Mapping[str, Any]) -> list[Tag]:
    """The wheel tags the probed interpreter accepts, best first (packaging's `sys_tags` for it)."""
    info = raw.get("version_info")
    if not isinstance(info, list) or len(info) < 2:
        return []
    py = (int(info[0]), int(info[1]))
    platforms = _platforms(raw)
    name = str(raw.get("implementation") or "cpython")
    short = _INTERPRETER_SHORT_NAMES.get(name, name)
    if short == "cp":
        tags = list(cpython_tags(py, _cpython_abis(raw, py), platforms))
        interpreter: str | None = f"cp{py[0]}{py[1]}"
    else:
        nodot = (raw.get("config_vars") or {}).get("py_version_nodot") or f"{py[0]}{py[1]}"
        tags = list(generic_tags(f"{short}{nodot}", _generic_abis(raw), platforms))
        interpreter = "pp3" if short == "pp" else None
    tags += compatible_tags(py, interpreter, platforms)
    return tags


# --------------------------------------------------------------------------- compatibility


def _python_version(raw: Mapping[str, Any]) -> Version | None:
    info = raw.get("version_info")
    if not isinstance(info, list) or len(info) < 3:
        return None
    return Version(f"{info[0]}.{info[1]}.{info[2]}")


def compatible_releases(
    target: Target, files: Iterable[ReleaseFile], *, pinned: str | None = None
) -> list[CompatibleRelease]:
    """The releases pip would install on `target`, newest first.

    Like pip: a wheel counts when one of its tags is among the target's; an sdist counts but needs
    building; Requires-Python is checked against the target's version (an invalid specifier is
    ignored, as pip does); yanked files and pre-releases count only for the exact `pinned` version.
    """
    if not target.ok or not target.raw:
        return []
    tags = set(supported_tags(target.raw))
    py = _python_version(target.raw)
    pin = _parse(pinned) if pinned else None
    wheels: dict[Version, list[str]] = {}
    sdists: dict[Version, list[str]] = {}
    yanked_versions: set[Version] = set()
    for item in files:
        version = _parse(item.version)
        if version is None:
            continue
        exact = pin is not None and version == pin
        if item.yanked and not exact:
            continue
        if version.is_prerelease and not exact:
            continue
        if item.requires_python and py is not None:
            try:
                if not SpecifierSet(item.requires_python).contains(py, prereleases=True):
                    continue
            except InvalidSpecifier:
                pass
        if item.is_wheel:
            try:
                file_tags = parse_wheel_filename(item.filename)[3]
            except (InvalidWheelFilename, InvalidVersion):
                continue
            if not file_tags & tags:
                continue
            wheels.setdefault(version, []).append(item.filename)
        else:
            sdists.setdefault(version, []).append(item.filename)
        if item.yanked:
            yanked_versions.add(version)
    out: list[CompatibleRelease] = []
    for version in sorted(set(wheels) | set(sdists), reverse=True):
        has_wheel = version in wheels
        names = tuple(wheels.get(version, []) + sdists.get(version, []))
        out.append(
            CompatibleRelease(str(version), names, not has_wheel, version in yanked_versions)
        )
    return out


def _parse(text: str) -> Version | None:
    try:
        return Version(text)
    except InvalidVersion:
        return None
