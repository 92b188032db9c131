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


def _scan_path() -> tuple[list[tuple[str, str]], bool]:
    """One pass over sys.path with os.listdir: pip's metadata folders, and any trace of ivy's.

    importlib.metadata costs the target tens of milliseconds to import; this scan (of what its
    path finder reads) tells whether there is anything for it to find. Entries that cannot be
    listed (zip files) are skipped, except an `ivy*.egg`, which counts as a trace of ivy.
    """
    pip: list[tuple[str, str]] = []
    ivy = False
    for entry in sys.path:
        if not isinstance(entry, str):
            continue
        base = os.path.basename(entry.rstrip("/\\")).lower()
        if base.endswith(".egg") and _normalize(base[:-4].partition("-")[0]) == "ivy":
            ivy = True
        try:
            children = os.listdir(entry or ".")
        except (OSError, ValueError):
            continue
        for child in children:
            name = _dist_name(child)
            if name == "ivy":
                ivy = True
            elif name == "pip":
                pip.append((entry or ".", child))
    return pip, ivy


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
    import importlib.util

    saved = sys.meta_path[:]
    sys.meta_path[:] = [f for f in saved if type(f).__module__ != "_distutils_hack"]
    try:
        return importlib.util.find_spec("pip") is not None
    finally:
        sys.meta_path[:] = saved


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


def _ivy(traced: bool) -> dict[str, Any]:
    """ivy's distribution as importlib.metadata sees it, every copy on the path, and its spec.

    `traced` is False when no ivy metadata folder lies on sys.path (see `_scan_path`).
    """
    import importlib.util

    result: dict[str, Any] = {"ivy": None, "ivy_all": [], "ivy_module": None}
    if not traced:
        # No ivy metadata folder anywhere on sys.path: nothing for importlib.metadata to find,
        # so spare the target its import (only whether it exists is reported).
        if importlib.util.find_spec("importlib.metadata") is None:
            result["metadata_available"] = False
            return result
        result["metadata_available"] = True
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
    seen = []
    for dist in metadata.distributions(name="ivy"):
        entry = _describe_dist(dist)
        if entry["metadata_path"] not in seen:
            seen.append(entry["metadata_path"])
            result["ivy_all"].append(entry)
    _ivy_module(result)
    return result


def _ivy_module(result: dict[str, Any]) -> None:
    """Where `import ivy` would load ivy from, found without executing it."""
    import importlib.util

    # find_spec on a top-level name locates the package without executing it.
    spec = importlib.util.find_spec("ivy")
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
    # On failure, pretend ivy may be there: importlib.metadata then looks for itself.
    pip_folders, ivy_traced = _guarded(errors, "scan", _scan_path, ([], True))
    info.update(
        _guarded(errors, "pip", lambda: _pip(pip_folders), {"pip": False, "pip_version": None})
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
            lambda: _ivy(ivy_traced),
            {"ivy": None, "ivy_all": [], "ivy_module": None},
        )
    )
    info["errors"] = errors
    return info


def _extension_suffixes() -> list[str]:
    import importlib.machinery

    return list(importlib.machinery.EXTENSION_SUFFIXES)


def main() -> None:
    """Print the probe's answer as one marked JSON line on stdout."""
    import json

    sys.stdout.write(MARKER + json.dumps(collect(), sort_keys=True) + "\n")
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
