"""Stdlib-only code run inside the target interpreter; it prints one JSON object describing it.

ivy-setup executes this module's own source with `python -c` in the target Python (3.8 or later), so
everything here must stay 3.8-compatible (annotations are never evaluated thanks to the `__future__`
import) and must never import ivy: the facts say `import ivy` can write files (1.0.0.x).
"""

from __future__ import annotations

import json
import os
import platform
import struct
import subprocess
import sys
import sysconfig
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
    version = platform.mac_ver()[0]
    if version.startswith("10.16"):
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


def _machine() -> str:
    """The CPU architecture; on macOS the one `platform.mac_ver()` reports, as packaging uses."""
    if sys.platform == "darwin":
        arch = platform.mac_ver()[2]
        if arch:
            return arch
    return platform.machine()


def _pip() -> dict[str, Any]:
    """Whether pip is importable (found, never imported) and its version from its metadata."""
    import importlib.util

    found = importlib.util.find_spec("pip") is not None
    version = None
    if found:
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
    marker = os.path.join(sysconfig.get_path("stdlib"), "EXTERNALLY-MANAGED")
    exists = os.path.isfile(marker)
    return {"externally_managed": exists, "externally_managed_path": marker if exists else None}


def _sites() -> dict[str, Any]:
    """Where pip would install (purelib/platlib), whether that is writable, and the user site."""
    import site

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


def _ivy() -> dict[str, Any]:
    """ivy's distribution as importlib.metadata sees it, every copy on the path, and its spec."""
    import importlib.util

    result: dict[str, Any] = {"ivy": None, "ivy_all": [], "ivy_module": None}
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
    # find_spec on a top-level name locates the package without executing it.
    spec = importlib.util.find_spec("ivy")
    if spec is not None:
        origin = spec.origin
        if not origin or origin == "namespace":
            locations = list(spec.submodule_search_locations or [])
            origin = locations[0] if locations else None
        result["ivy_module"] = origin
    return result


def collect() -> dict[str, Any]:
    """Everything ivy-setup needs to know about this interpreter, as JSON-safe data."""
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
        "system": platform.system(),
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
    info.update(_guarded(errors, "pip", _pip, {"pip": False, "pip_version": None}))
    info.update(
        _guarded(
            errors,
            "externally_managed",
            lambda: _externally_managed(in_venv),
            {"externally_managed": False, "externally_managed_path": None},
        )
    )
    info.update(_guarded(errors, "sites", _sites, {}))
    info.update(_guarded(errors, "ivy", _ivy, {"ivy": None, "ivy_all": [], "ivy_module": None}))
    info["errors"] = errors
    return info


def _extension_suffixes() -> list[str]:
    import importlib.machinery

    return list(importlib.machinery.EXTENSION_SUFFIXES)


def main() -> None:
    """Print the probe's answer as one marked JSON line on stdout."""
    sys.stdout.write(MARKER + json.dumps(collect(), sort_keys=True) + "\n")
    sys.stdout.flush()


def _own_source() -> str:
    """This module's source text, from its loader (works for zipped installs too) or its file."""
    import importlib.abc

    spec = globals().get("__spec__")
    loader = getattr(spec, "loader", None)
    if spec is not None and isinstance(loader, importlib.abc.InspectLoader):
        source = loader.get_source(spec.name)
        if source:
            return source
    with open(__file__, encoding="utf-8") as handle:
        return handle.read()


if __name__ == "__main__":
    main()
else:
    # The text `python -c` runs in the target; there `__name__` is "__main__", so it probes.
    PROBE_SOURCE: str = _own_source()
