"""Stdlib-only code run inside the target interpreter; it prints one JSON object describing it.

ivy-setup executes this module's own source with `python -c` in the target Python (3.8 or later), so
everything here must stay 3.8-compatible (annotations are never evaluated thanks to the `__future__`
import) and must never import ivy: the facts say `import ivy` can write files (1.0.0.x).
It is on the critical path of `ivy-setup check`, so it imports only what the answer needs: slow
modules (importlib.metadata, subprocess, platform) load only on the paths that use them.
"""

from __future__ import annotations

# Only os and sys at the top: ivy-setup imports this module too (for its source), just before it
# starts the probe, and every module loaded there delays that start. The rest loads where used.
import os
import sys

# `typing` costs the target a few milliseconds on every check; annotations are never evaluated.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any

# The answer line starts with this, so a chatty sitecustomize cannot confuse the parser.
MARKER = "IVY-SETUP-PROBE:"
PROBE_VERSION = 1

_CONFIG_VARS = (
    "SOABI",
    "EXT_SUFFIX",
    "Py_DEBUG",
    "Py_GIL_DISABLED",
    "WITH_PYMALLOC",
    "py_version_nodot",
    "MULTIARCH",
)


def _guarded(errors: list[str], what: str, run: Callable[[], Any], default: Any) -> Any:
    """Run one probe section; a failure is recorded and the rest of the probe still answers."""
    try:
        return run()
    except Exception as exc:  # noqa: BLE001 - a partial answer beats no answer
        errors.append(f"{what}: {type(exc).__name__}: {exc}")
        return default


def _writable(path: str | None) -> bool:
    """Whether `path`, or its nearest existing parent when it does not exist yet, is writable."""
    if not path:
        return False
    current = os.path.abspath(path)
    while not os.path.exists(current):
        parent = os.path.dirname(current)
        if parent == current:
            return False
        current = parent
    return os.access(current, os.W_OK)


def _glibc() -> str | None:
    """The glibc version the interpreter runs on ('2.36'), or None on other C libraries."""
    try:
        text = os.confstr("CS_GNU_LIBC_VERSION")
    except (AttributeError, OSError, ValueError):
        text = None
    if text and text.startswith("glibc "):
        return text.split()[1]
    if sys.platform.startswith("linux"):
        import platform

        lib, version = platform.libc_ver()
        if lib == "glibc" and version:
            return version
    return None


def _musl() -> str | None:
    """The musl version ('1.2'), as packaging reads it: ask the ELF loader named in the binary."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        with open(os.path.realpath(sys.executable), "rb") as handle:
            head = handle.read(8192)
    except OSError:
        return None
    start = head.find(b"/lib/ld-musl-")
    if start < 0:
        return None
    end = head.find(b"\0", start)
    loader = head[start:end].decode("ascii", "replace")
    import subprocess

    try:
        proc = subprocess.run(
            [loader],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            timeout=5,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    for line in proc.stderr.decode("ascii", "replace").splitlines():
        line = line.strip()
        if line.startswith("Version "):
            parts = line.split()[1].split(".")
            if len(parts) >= 2:
                return f"{parts[0]}.{parts[1]}"
    return None


def _mac_version() -> str | None:
    """The macOS version ('14.2'); like packaging, re-asks when an old SDK reports 10.16."""
    if sys.platform != "darwin":
        return None
    import platform

    version = platform.mac_ver()[0]
    if version.startswith("10.16"):
        import subprocess

        env = dict(os.environ)
        env["SYSTEM_VERSION_COMPAT"] = "0"
        proc = subprocess.run(
            [sys.executable, "-sS", "-c", "import platform; print(platform.mac_ver()[0])"],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            env=env,
            timeout=10,
        )
        version = proc.stdout.decode("ascii", "replace").strip() or version
    return version or None


def _system() -> str:
    """`platform.system()`: on POSIX that is the kernel name `os.uname()` reports."""
    if hasattr(os, "uname"):
        return os.uname().sysname
    import platform

    return platform.system()


def _machine() -> str:
    """The CPU architecture; on macOS the one `platform.mac_ver()` reports, as packaging uses."""
    if sys.platform == "darwin":
        import platform

        arch = platform.mac_ver()[2]
        if arch:
            return arch
    if hasattr(os, "uname"):
        return os.uname().machine  # what platform.machine() returns on POSIX
    import platform

    return platform.machine()


def _normalize(name: str) -> str:
    """A distribution name as importlib.metadata compares them (PEP 503: runs of -_. are one)."""
    text = name.lower().replace("-", "_").replace(".", "_")
    while "__" in text:
        text = text.replace("__", "_")
    return text


def _dist_name(folder: str) -> str | None:
    """The normalized project name of a `*.dist-info`/`*.egg-info` folder name, else None."""
    low = folder.lower()
    if not low.endswith((".dist-info", ".egg-info")):
        return None
    return _normalize(low.rpartition(".")[0].partition("-")[0])


class _Scan:
    """What one pass over sys.path found (see `_scan_path`)."""

    def __init__(self) -> None:
        self.pip: list[tuple[str, str]] = []  # (sys.path entry, metadata folder), in path order
        self.ivy: list[tuple[str, str]] = []  # the same for ivy
        self.ivy_traced = False  # any ivy metadata at all (also an ivy*.egg entry)
        self.plain = True  # every entry a listable absolute folder: nothing a listing cannot see


def _scan_path() -> _Scan:
    """One pass over sys.path with os.listdir: pip's metadata folders, and any trace of ivy's.

    importlib.metadata costs the target tens of milliseconds to import; this scan (of what its
    path finder reads) tells whether there is anything for it to find. Entries that cannot be
    listed (zip files) are skipped, except an `ivy*.egg`, which counts as a trace of ivy.
    """
    found = _Scan()
    for entry in sys.path:
        if not isinstance(entry, str):
            found.plain = False
            continue
        if not _plain_folder_name(entry):
            found.plain = False
        base = os.path.basename(entry.rstrip("/\\")).lower()
        if base.endswith(".egg"):
            found.plain = False  # importlib.metadata reads eggs its own way
            if _normalize(base[:-4].partition("-")[0]) == "ivy":
                found.ivy_traced = True
        try:
            children = os.listdir(entry or ".")
        except (OSError, ValueError) as exc:
            if not isinstance(exc, FileNotFoundError):
                found.plain = False  # a zip file, or a folder we may not list
            continue
        for child in children:
            name = _dist_name(child)
            if name == "ivy":
                found.ivy_traced = True
                found.ivy.append((entry, child))
            elif name == "pip":
                found.pip.append((entry or ".", child))
    return found


def _plain_folder_name(entry: str) -> bool:
    """True for an absolute POSIX path that pathlib would print unchanged (no `//`, `.`, `..`,
    trailing slash): then `str(Path(entry, child))` is just `os.path.join(entry, child)`."""
    return (
        os.name == "posix"
        and entry.startswith("/")
        and not entry.startswith("//")
        and entry == os.path.normpath(entry)
        and "/../" not in entry + "/"
    )


def _header_version(path: str) -> str | None:
    """The `Version:` header of a METADATA / PKG-INFO file (the headers end at the first blank)."""
    try:
        with open(path, encoding="utf-8", errors="replace") as handle:
            for line in handle:
                if not line.strip():
                    break
                if line.lower().startswith("version:"):
                    return line.split(":", 1)[1].strip() or None
    except OSError:
        return None
    return None


def _folder_version(entry: str, folder: str) -> str | None:
    """A distribution's version from its metadata folder: the name for dist-info, else the file.

    A dist-info folder is named `<name>-<version>.dist-info` by every installer; an egg-info may
    carry no version or a `-pyX.Y` tag, so its PKG-INFO says (or the egg-info itself, when old
    distutils wrote it as a single file).
    """
    path = os.path.join(entry, folder)
    if folder.lower().endswith(".dist-info"):
        version = folder[: -len(".dist-info")].partition("-")[2]
        if version:
            return version
        return _header_version(os.path.join(path, "METADATA"))
    if os.path.isfile(path):
        return _header_version(path)
    return _header_version(os.path.join(path, "PKG-INFO"))


def _find_pip() -> bool:
    """Whether `import pip` would find pip, as importlib.util.find_spec says (pip is not imported).

    setuptools' distutils shim (`_distutils_hack`, first on sys.meta_path in most environments
    before 3.12) never finds pip, but imports traceback to decide how to treat distutils, about
    3 ms of every check: it is left out of this one lookup, which changes no answer.
    """
    saved = sys.meta_path[:]
    sys.meta_path[:] = [f for f in saved if type(f).__module__ != "_distutils_hack"]
    try:
        return _find_spec("pip") is not None
    finally:
        sys.meta_path[:] = saved


def _find_spec(name: str) -> Any:
    """`importlib.util.find_spec(name)`, without importing importlib.util.

    That module (with contextlib, collections and functools) cost the target about 3 ms of every
    check. For a module not imported yet, importlib.util.find_spec imports the parent package
    and returns `importlib._bootstrap._find_spec(name, parent.__path__)` (Python 3.8 to 3.14):
    this does the same. A module already imported, or an interpreter without that function, gets
    importlib.util itself.
    """
    import importlib

    find = getattr(getattr(importlib, "_bootstrap", None), "_find_spec", None)
    if name in sys.modules or find is None:
        import importlib.util

        return importlib.util.find_spec(name)
    parent = name.rpartition(".")[0]
    path = __import__(parent, fromlist=["__path__"]).__path__ if parent else None
    return find(name, path)


def _pip(folders: list[tuple[str, str]]) -> dict[str, Any]:
    """Whether pip is importable (found, never imported) and its version from its metadata."""
    found = _find_pip()
    version = None
    if found:
        if folders:
            # importlib.metadata's answer: the first pip metadata folder along sys.path.
            version = _folder_version(*folders[0])
        else:  # metadata somewhere a plain listing cannot see (a zip): ask importlib.metadata
            try:
                import importlib.metadata as metadata

                version = metadata.version("pip")
            except Exception:  # noqa: BLE001 - pip without metadata is still pip
                version = None
    return {"pip": found, "pip_version": version}


def _externally_managed(in_venv: bool) -> dict[str, Any]:
    """PEP 668: the EXTERNALLY-MANAGED marker beside the stdlib (pip ignores it inside a venv)."""
    if in_venv:
        return {"externally_managed": False, "externally_managed_path": None}
    import sysconfig

    marker = os.path.join(sysconfig.get_path("stdlib"), "EXTERNALLY-MANAGED")
    exists = os.path.isfile(marker)
    return {"externally_managed": exists, "externally_managed_path": marker if exists else None}


def _sites() -> dict[str, Any]:
    """Where pip would install (purelib/platlib), whether that is writable, and the user site."""
    import site
    import sysconfig

    purelib = sysconfig.get_path("purelib")
    platlib = sysconfig.get_path("platlib")
    user_site = None
    try:
        user_site = site.getusersitepackages()
    except Exception:  # noqa: BLE001 - some embedded builds lack a user site
        user_site = None
    return {
        "purelib": purelib,
        "platlib": platlib,
        "purelib_writable": _writable(purelib),
        "platlib_writable": _writable(platlib),
        "user_site": user_site,
        "user_site_enabled": bool(site.ENABLE_USER_SITE),
    }


def _read_text(dist: Any, name: str) -> str | None:
    try:
        text = dist.read_text(name)
    except Exception:  # noqa: BLE001 - unreadable metadata files count as absent
        return None
    return text if isinstance(text, str) else None


def _describe_dist(dist: Any) -> dict[str, Any]:
    """Version, location and install method (INSTALLER, direct_url.json) of one distribution."""
    installer = (_read_text(dist, "INSTALLER") or "").strip() or None
    editable = False
    vcs = None
    url = None
    direct = _read_text(dist, "direct_url.json")
    if direct:
        import json

        try:
            data = json.loads(direct)
        except ValueError:
            data = None
        if isinstance(data, dict):
            url = data.get("url") if isinstance(data.get("url"), str) else None
            dir_info = data.get("dir_info")
            if isinstance(dir_info, dict):
                editable = bool(dir_info.get("editable", False))
            vcs_info = data.get("vcs_info")
            if isinstance(vcs_info, dict):
                vcs = str(vcs_info.get("vcs") or "unknown")
    meta_path = getattr(dist, "_path", None)
    return {
        "version": dist.version,
        "location": str(dist.locate_file("")),
        "metadata_path": str(meta_path) if meta_path is not None else None,
        "installer": installer,
        "editable": editable,
        "vcs": vcs,
        "url": url,
    }


def _ivy(scan: _Scan) -> dict[str, Any]:
    """ivy's distribution as importlib.metadata sees it, every copy on the path, and its spec.

    Without any ivy metadata folder on sys.path (see `_scan_path`) there is nothing to find. When
    every copy is a plain `.dist-info` folder that `_PlainDist` reads exactly as importlib.metadata
    would, it answers; anything else is left to importlib.metadata itself.
    """
    result: dict[str, Any] = {"ivy": None, "ivy_all": [], "ivy_module": None}
    plain = _plain_dists(scan)
    if not scan.ivy_traced or plain is not None:
        # No ivy metadata folder anywhere on sys.path: nothing for importlib.metadata to find,
        # so spare the target its import (only whether it exists is reported).
        if _find_spec("importlib.metadata") is None:
            result["metadata_available"] = False
            return result
        result["metadata_available"] = True
        if plain:
            result["ivy"] = _describe_dist(plain[0])
            result["ivy_all"] = _describe_all(plain)
        _ivy_module(result)
        return result
    try:
        import importlib.metadata as metadata
    except ImportError:  # Python 3.7 and older: no importlib.metadata
        result["metadata_available"] = False
        return result
    result["metadata_available"] = True
    try:
        result["ivy"] = _describe_dist(metadata.distribution("ivy"))
    except metadata.PackageNotFoundError:
        result["ivy"] = None
    result["ivy_all"] = _describe_all(metadata.distributions(name="ivy"))
    _ivy_module(result)
    return result


def _describe_all(dists: Any) -> list[dict[str, Any]]:
    """Every copy, each metadata folder once, in the order importlib.metadata finds them."""
    seen = []
    out = []
    for dist in dists:
        entry = _describe_dist(dist)
        if entry["metadata_path"] not in seen:
            seen.append(entry["metadata_path"])
            out.append(entry)
    return out


class _PlainDist:
    """A `.dist-info` folder read as importlib.metadata's PathDistribution reads it (3.10-3.13).

    Only for the plain case, checked by `_plain_dists`: the folder lies directly in an absolute,
    listable sys.path folder, and its METADATA names the version in a header importlib.metadata
    parses the same way (email's compat32 rules, see `_email_header`).
    """

    def __init__(self, entry: str, folder: str, version: str) -> None:
        self._path = os.path.join(entry, folder)
        self._location = entry
        self.version = version

    def read_text(self, name: str) -> str | None:
        """A metadata file's text (None when it cannot be read), as PathDistribution.read_text."""
        try:
            with open(os.path.join(self._path, name), encoding="utf-8") as handle:
                return handle.read()
        except Exception:  # noqa: BLE001 - importlib.metadata's callers see None (or skip it)
            return None

    def locate_file(self, path: str) -> str:
        """The folder holding the metadata folder (`path` is always "" here)."""
        return os.path.join(self._location, path) if path else self._location


def _plain_dists(scan: _Scan) -> list[_PlainDist] | None:
    """ivy's copies without importlib.metadata, or None when only importlib.metadata can tell.

    importlib.metadata asks each finder on sys.meta_path that has `find_distributions`; when that
    is only the standard PathFinder, it lists each sys.path folder in order and takes every child
    named `<name>-*.dist-info`/`.egg-info` whose name normalizes to `ivy` (as `_scan_path` does),
    and reads the version from its METADATA with the email parser. Checked against
    importlib.metadata on Python 3.8 to 3.13 (tests/core/platform/test_probe_lean.py).
    """
    if not scan.ivy or not scan.plain or not (3, 10) <= sys.version_info[:2] <= (3, 13):
        return None
    import importlib.machinery

    for finder in sys.meta_path:
        if finder is not importlib.machinery.PathFinder and hasattr(finder, "find_distributions"):
            return None
    out = []
    for entry, folder in scan.ivy:
        if not folder.lower().endswith(".dist-info"):
            return None  # egg-info: PKG-INFO, or a single file; importlib.metadata knows
        path = os.path.join(entry, folder)
        try:
            with open(os.path.join(path, "METADATA"), encoding="utf-8") as handle:
                text = handle.read()
        except Exception:  # noqa: BLE001 - not a folder, unreadable, not UTF-8: fall back
            return None
        version = _email_header(text, "version")
        if version is None:
            return None
        out.append(_PlainDist(entry, folder, version))
    return out


def _email_header(text: str, wanted: str) -> str | None:
    """The first `wanted` header of `text` as `email.message_from_string(text)[wanted]` returns it,
    or None when the headers are anything but plain (then the caller asks importlib.metadata).

    compat32 rules: the headers end at the first line that is not `Name: value` (Name made of
    printable ASCII without space or colon) or a continuation; the value is what follows the
    colon without leading spaces and tabs, line end removed (trailing spaces stay).
    """
    lines = text.split("\n")  # read in text mode: \r\n and \r are already \n
    for n, line in enumerate(lines):
        if line[:1] in (" ", "\t"):
            continue  # a continuation of some other header
        if line.startswith("From "):
            return None  # an envelope line: email treats it specially
        colon = line.find(":")
        name = line[:colon]
        if colon <= 0 or not all("!" <= c <= "~" for c in name):
            return None  # the end of the headers (or a defect) before the header was found
        if name.lower() == wanted:
            following = lines[n + 1] if n + 1 < len(lines) else ""
            if following[:1] in (" ", "\t"):
                return None  # folded over several lines: email re-indents it
            return line[colon + 1 :].lstrip(" \t")
    return None


def _ivy_module(result: dict[str, Any]) -> None:
    """Where `import ivy` would load ivy from, found without executing it."""
    # find_spec on a top-level name locates the package without executing it.
    spec = _find_spec("ivy")
    if spec is not None:
        origin = spec.origin
        if not origin or origin == "namespace":
            locations = list(spec.submodule_search_locations or [])
            origin = locations[0] if locations else None
        result["ivy_module"] = origin


def collect() -> dict[str, Any]:
    """Everything ivy-setup needs to know about this interpreter, as JSON-safe data."""
    import struct
    import sysconfig

    errors: list[str] = []
    # `python -c` puts the working directory first on sys.path; scripts get their own folder there
    # instead, so drop it to report what is installed rather than what happens to lie in the cwd.
    while sys.path and sys.path[0] in ("", os.getcwd()):
        del sys.path[0]
    base_prefix = getattr(sys, "base_prefix", sys.prefix)
    in_venv = sys.prefix != base_prefix or hasattr(sys, "real_prefix")
    info: dict[str, Any] = {
        "probe": PROBE_VERSION,
        "python_version": "{}.{}.{}".format(*sys.version_info[:3]),
        "version_info": list(sys.version_info[:3]) + [sys.version_info[3], sys.version_info[4]],
        "implementation": sys.implementation.name,
        "implementation_version": "{}.{}.{}".format(*sys.implementation.version[:3]),
        "executable": sys.executable,
        "prefix": sys.prefix,
        "base_prefix": base_prefix,
        "in_venv": in_venv,
        "sys_platform": sys.platform,
        "system": _system(),
        "machine": _guarded(errors, "machine", _machine, ""),
        "sysconfig_platform": sysconfig.get_platform(),
        "pointer_bits": struct.calcsize("P") * 8,
        "has_refcount": hasattr(sys, "gettotalrefcount"),
        "conda": os.path.isdir(os.path.join(sys.prefix, "conda-meta")),
    }
    config: dict[str, Any] = {}
    for name in _CONFIG_VARS:
        value = sysconfig.get_config_var(name)
        config[name] = value if isinstance(value, (str, int)) else None
    info["config_vars"] = config
    info["extension_suffixes"] = _guarded(errors, "suffixes", _extension_suffixes, [])
    info["glibc"] = _guarded(errors, "glibc", _glibc, None)
    info["musl"] = _guarded(errors, "musl", _musl, None) if info["glibc"] is None else None
    info["mac_version"] = _guarded(errors, "mac_version", _mac_version, None)
    scan = _guarded(errors, "scan", _scan_path, None)
    if scan is None:  # on failure, pretend ivy may be there: importlib.metadata then looks
        scan = _Scan()
        scan.ivy_traced, scan.plain = True, False
    info.update(
        _guarded(errors, "pip", lambda: _pip(scan.pip), {"pip": False, "pip_version": None})
    )
    info.update(
        _guarded(
            errors,
            "externally_managed",
            lambda: _externally_managed(in_venv),
            {"externally_managed": False, "externally_managed_path": None},
        )
    )
    info.update(_guarded(errors, "sites", _sites, {}))
    info.update(
        _guarded(
            errors,
            "ivy",
            lambda: _ivy(scan),
            {"ivy": None, "ivy_all": [], "ivy_module": None},
        )
    )
    info["errors"] = errors
    return info


def _extension_suffixes() -> list[str]:
    import importlib.machinery

    return list(importlib.machinery.EXTENSION_SUFFIXES)


def _json(value: Any) -> str:
    """`json.dumps(value, sort_keys=True)` for the answer's plain data (None, bool, int, str, list,
    dict with str keys), without importing json: json (with re and enum) would be a good part of
    the probe's start-up. Anything else raises TypeError, and `main` lets json do it all."""
    if value is None:
        return "null"
    if value is True:
        return "true"
    if value is False:
        return "false"
    if type(value) is int:
        return str(value)
    if type(value) is str:
        return _json_string(value)
    if type(value) in (list, tuple):
        return "[" + ", ".join(_json(item) for item in value) + "]"
    if type(value) is dict and all(type(key) is str for key in value):
        return (
            "{" + ", ".join(_json_string(k) + ": " + _json(value[k]) for k in sorted(value)) + "}"
        )
    raise TypeError(f"not plain JSON data: {type(value).__name__}")


_JSON_SHORT = {
    '"': '\\"',
    "\\": "\\\\",
    "\b": "\\b",
    "\f": "\\f",
    "\n": "\\n",
    "\r": "\\r",
    "\t": "\\t",
}


def _json_string(text: str) -> str:
    """A JSON string literal for `text`, ASCII only (as json.dumps writes it by default)."""
    if text.isascii() and text.isprintable() and '"' not in text and "\\" not in text:
        return '"' + text + '"'
    out = ['"']
    for char in text:
        code = ord(char)
        if char in _JSON_SHORT:
            out.append(_JSON_SHORT[char])
        elif 0x20 <= code < 0x7F:
            out.append(char)
        elif code < 0x10000:
            out.append(f"\\u{code:04x}")
        else:  # outside the BMP: a surrogate pair, as json.dumps writes it
            code -= 0x10000
            out.append(f"\\u{0xD800 | (code >> 10):04x}\\u{0xDC00 | (code & 0x3FF):04x}")
    out.append('"')
    return "".join(out)


def main() -> None:
    """Print the probe's answer as one marked JSON line on stdout."""
    answer = collect()
    try:
        text = _json(answer)
    except TypeError:
        import json

        text = json.dumps(answer, sort_keys=True)
    sys.stdout.write(MARKER + text + "\n")
    sys.stdout.flush()


def _own_source() -> str:
    """This module's source text: its file, else its loader's copy (zipped installs)."""
    try:
        with open(__file__, encoding="utf-8") as handle:
            return handle.read()
    except OSError:
        spec = globals().get("__spec__")
        get_source = getattr(getattr(spec, "loader", None), "get_source", None)
        source = get_source(spec.name) if spec is not None and get_source is not None else None
        if not isinstance(source, str) or not source:
            raise
        return source


if __name__ == "__main__":
    main()
else:
    # The text `python -c` runs in the target; there `__name__` is "__main__", so it probes.
    PROBE_SOURCE: str = _own_source()
