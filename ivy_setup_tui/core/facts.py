"""What each ivy release really does with its key, as data (from `shared/ivy-facts.md`).

Every rule here says whether it was measured on the real wheels or assumed; services that conclude
something from an assumed rule must say so to the user. Change behaviour by changing this table, not
by adding version if-chains elsewhere.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence

from packaging.version import InvalidVersion, Version

from ivy_setup_tui.core.record import Record

# Key schemes (SPEC §3 `version.scheme`).
KEY_PEM = "key.pem"
IVY_KEY = "IVY_KEY"
NONE = "none"
UNKNOWN = "unknown"

# Endpoints ivy calls. The base URLs can be overridden (documented in the README) so that tests and
# air-gapped mirrors can point them elsewhere.
KEY_SERVER_ENV = "IVY_SETUP_KEY_SERVER"  # 0.0.9.0: GET <base>/apikey/<key line>
CONSOLE_ENV = "IVY_SETUP_CONSOLE"  # 0.0.9.1+: /ping/, /verify_api_key/, 0.0.9.17 transpilation
IP_LOOKUP_ENV = "IVY_SETUP_IP_LOOKUP"  # 0.0.9.0: public-IP lookup after an accepted key
PYPI_ENV = "IVY_SETUP_INDEX_URL"  # overrides the index ivy-setup reads release files from

KEY_SERVER = "https://cloud-db-gateway-94jg94af.ew.gateway.dev"
CONSOLE = "https://console-5bxqyv5cga-uc.a.run.app"
IP_LOOKUP = "https://www.wikipedia.org"

KEY_FILE_NAME = "key.pem"  # key.pem scheme: <.ivy>/key.pem
IVY_DIR_NAME = ".ivy"
IVY_KEY_FILE_NAME = "ivy-key.pem"  # IVY_KEY scheme: in the cwd or any parent
COLAB_VARS = ("COLAB_GPU", "COLAB_TPU_ADDR")  # 0.0.9.0 skips the check when set and no key.pem


class Endpoint(Record):
    """A URL an ivy release calls, and why."""

    name: str
    url: str
    purpose: str


class ReleaseFacts(Record):
    """How one range of ivy releases handles the key: the scheme, what it calls, whether measured."""

    low: str  # inclusive
    high: str | None  # exclusive; None: no upper bound
    scheme: str
    measured: bool
    summary: str
    # True where a call refuses to run without a valid key: trace_graph/transpile/unify in
    # 0.0.9.0, only ivy.compiler.compiler.source_to_source in 0.0.9.2.
    key_gate: bool
    uses_ivy_dir: bool  # True where ivy creates/uses a `.ivy` folder (caches, key.pem)
    writes_caches: bool  # True where ivy writes caches into `.ivy` (needs it writable)
    endpoints: tuple[str, ...]  # endpoint names, see `endpoints()`
    extra_dependencies: tuple[str, ...] = ()  # undeclared modules trace/transpile import
    measured_versions: tuple[str, ...] = ()  # exact versions measured inside an assumed range
    cwd_files: tuple[str, ...] = ()  # files ivy writes into the cwd (it must be writable)
    like: str | None = None  # the measured release an unmeasured range is assumed to follow
    dot_ivy_key_file: bool = False  # IVY_KEY scheme: each folder's .ivy/ivy-key.pem is read too
    key_use: str = ""  # IVY_KEY scheme: which calls use the key, in words

    def contains(self, version: Version) -> bool:
        """True when `version` falls in this range."""
        if version < Version(self.low):
            return False
        return self.high is None or version < Version(self.high)


# Modules the 0.0.9.2+ compiler imports without declaring them (measured on 0.0.9.2 and 0.0.9.17).
_COMPILER_DEPENDENCIES = ("tensorflow", "torch", "yaml", "astor", "scipy")
_KEY_USE_0_0_9_2 = (
    "only ivy.compiler.compiler.source_to_source needs the key (and, with an accepted key, "
    "fails as published with FileNotFoundError: './source_to_source_translator/main_config.yml'); "
    "transpile runs with no key or a refused one (a key it finds is sent, and a valid one only "
    "stops a telemetry request), and trace_graph only pings"
)
_KEY_USE_0_0_9_17 = (
    "transpile POSTs the key (or null when there is none) to ivy's server on every call and the "
    "server decides whether it may run; the key is optional"
)

RELEASES: tuple[ReleaseFacts, ...] = (
    ReleaseFacts(
        low="0",
        high="0.0.9.0",
        scheme=KEY_PEM,
        measured=False,
        summary="Releases before 0.0.9.0 were not measured; assumed to use the 0.0.9.0 key.pem scheme.",
        key_gate=True,
        uses_ivy_dir=True,
        writes_caches=False,
        endpoints=("apikey", "ip_lookup"),
    ),
    ReleaseFacts(
        low="0.0.9.0",
        high="0.0.9.1",
        scheme=KEY_PEM,
        measured=True,
        summary=(
            "0.0.9.0 checks the key on the first trace_graph/transpile/unify call: it reads the first "
            "line of key.pem, unstripped, and sends it to ivy's key server."
        ),
        key_gate=True,
        uses_ivy_dir=True,
        writes_caches=False,
        endpoints=("apikey", "ip_lookup"),
    ),
    ReleaseFacts(
        low="0.0.9.1",
        high="0.0.9.2",
        scheme=NONE,
        measured=True,
        summary=(
            "0.0.9.1 no longer checks the key for trace_graph/transpile/unify; it pings ivy's "
            "server before each call and caches into .ivy."
        ),
        key_gate=False,
        uses_ivy_dir=True,
        writes_caches=True,
        endpoints=("ping",),
    ),
    ReleaseFacts(
        low="0.0.9.2",
        high="0.0.9.3",
        scheme=IVY_KEY,
        measured=True,
        summary=(
            "0.0.9.2 reads the key from the IVY_KEY variable, else from the nearest ivy-key.pem "
            "file in the working directory or a parent, and verifies it with ivy's server only "
            "for ivy.compiler.compiler.source_to_source; transpile runs without a key."
        ),
        key_gate=True,
        uses_ivy_dir=True,
        writes_caches=True,
        endpoints=("ping", "verify_api_key"),
        extra_dependencies=_COMPILER_DEPENDENCIES,
        key_use=_KEY_USE_0_0_9_2,
    ),
    ReleaseFacts(
        low="0.0.9.3",
        high="0.0.9.10",
        scheme=IVY_KEY,
        measured=False,
        like="0.0.9.2",
        summary=(
            "Releases 0.0.9.3 to 0.0.9.9 were not measured; assumed to behave like 0.0.9.2, the "
            "nearest measured release: the key comes from IVY_KEY, else the nearest ivy-key.pem "
            "in the working directory or a parent, and only source_to_source needs it."
        ),
        key_gate=True,
        uses_ivy_dir=True,
        writes_caches=True,
        endpoints=("ping", "verify_api_key"),
        extra_dependencies=_COMPILER_DEPENDENCIES,
        key_use=_KEY_USE_0_0_9_2,
    ),
    ReleaseFacts(
        low="0.0.9.10",
        high="0.0.9.17",
        scheme=IVY_KEY,
        measured=False,
        like="0.0.9.17",
        summary=(
            "Releases 0.0.9.10 to 0.0.9.16 were not measured; assumed to behave like 0.0.9.17, the "
            "nearest measured release: the key comes from IVY_KEY, else the nearest ivy-key.pem "
            "or .ivy/ivy-key.pem in the working directory or a parent, and transpile asks ivy's "
            "server on every call, key optional."
        ),
        key_gate=False,
        uses_ivy_dir=True,
        writes_caches=True,
        endpoints=("ping", "verify_api_key", "transpilation_allowed"),
        extra_dependencies=_COMPILER_DEPENDENCIES,
        dot_ivy_key_file=True,
        key_use=_KEY_USE_0_0_9_17,
    ),
    ReleaseFacts(
        low="0.0.9.17",
        high="0.0.9.18",
        scheme=IVY_KEY,
        measured=True,
        summary=(
            "0.0.9.17 reads the key from the IVY_KEY variable, else from the nearest ivy-key.pem "
            "or .ivy/ivy-key.pem in the working directory or a parent; transpile asks ivy's "
            "server on every call whether it may run, with the key or without one."
        ),
        key_gate=False,
        uses_ivy_dir=True,
        writes_caches=True,
        endpoints=("ping", "verify_api_key", "transpilation_allowed"),
        extra_dependencies=_COMPILER_DEPENDENCIES,
        dot_ivy_key_file=True,
        key_use=_KEY_USE_0_0_9_17,
    ),
    ReleaseFacts(
        low="0.0.9.18",
        high="1.0.0",
        scheme=UNKNOWN,
        measured=False,
        summary="This release was not measured; ivy-setup cannot tell which key scheme it uses.",
        key_gate=False,
        uses_ivy_dir=True,
        writes_caches=True,
        endpoints=(),
    ),
    ReleaseFacts(
        low="1.0.0",
        high="1.0.1",
        scheme=NONE,
        measured=False,
        measured_versions=("1.0.0.5",),
        summary=(
            "1.0.0.x needs no key and calls no key server; at `import ivy` it creates "
            "<ivy_root>/compiler/_cache/ and an empty ./ivy_logs.txt."
        ),
        key_gate=False,
        uses_ivy_dir=True,
        writes_caches=True,
        endpoints=(),
        cwd_files=("ivy_logs.txt",),
    ),
    ReleaseFacts(
        low="1.0.1",
        high=None,
        scheme=UNKNOWN,
        measured=False,
        summary="This release was not measured; ivy-setup cannot tell which key scheme it uses.",
        key_gate=False,
        uses_ivy_dir=True,
        writes_caches=True,
        endpoints=(),
    ),
)

# The measured releases of the IVY_KEY scheme: 0.0.9.2 (ivy-key.pem only) and 0.0.9.17 (also
# .ivy/ivy-key.pem); the unmeasured ones between them follow the nearer of the two.
IVY_KEY_MEASURED = ("0.0.9.2", "0.0.9.17")

# The release whose key gate is the reason most users come here, and the first one without it.
GATED_RELEASE = "0.0.9.0"
FIRST_UNGATED = "0.0.9.1"
# The first release of the new major version: it needs no key, and its APIs may differ.
MAJOR_RELEASE = "1.0.0"


def distribution_names(modules: Sequence[str]) -> list[str]:
    """The distributions to install for the import names a release's facts list (yaml: pyyaml)."""
    return ["pyyaml" if m == "yaml" else m for m in modules]


class VersionFacts(Record):
    """The facts that apply to one concrete installed version (or to no ivy at all)."""

    version: str | None
    release: ReleaseFacts | None

    @property
    def scheme(self) -> str:
        """The key scheme: key.pem, IVY_KEY, none, or unknown (not installed or unparsable)."""
        return self.release.scheme if self.release else UNKNOWN

    @property
    def measured(self) -> bool:
        """True when this exact version's behaviour was measured, not assumed from its range."""
        if self.release is None or self.version is None:
            return False
        if self.release.measured:
            return True
        return _normal(self.version) in {_normal(v) for v in self.release.measured_versions}

    @property
    def assumed_note(self) -> str:
        """A sentence to append to conclusions resting on this version's facts ('' when measured)."""
        if self.measured:
            return ""
        if self.version is None:
            return (
                "(Assumed: ivy is not installed, so ivy-setup cannot tell which release will run.)"
            )
        if self.release is not None and self.release.like is not None:
            return (
                f"(Assumed: ivy {self.version} itself was not measured; this follows ivy "
                f"{self.release.like}, the nearest measured release.)"
            )
        return (
            f"(Assumed: ivy {self.version} itself was not measured; this follows the facts "
            f"measured for its nearest releases.)"
        )


def _normal(version: str) -> str:
    try:
        return str(Version(version))
    except InvalidVersion:
        return version


def facts_for(version: str | None) -> VersionFacts:
    """The facts for an installed version string (None or unparsable: no release facts)."""
    if version is None:
        return VersionFacts(None, None)
    try:
        parsed = Version(version)
    except InvalidVersion:
        return VersionFacts(version, None)
    for release in RELEASES:
        if release.contains(parsed):
            return VersionFacts(version, release)
    return VersionFacts(version, None)


def endpoints(env: Mapping[str, str]) -> dict[str, Endpoint]:
    """Every endpoint ivy releases call, with the base URLs overridable through `env`."""
    key_server = env.get(KEY_SERVER_ENV, KEY_SERVER).rstrip("/")
    console = env.get(CONSOLE_ENV, CONSOLE).rstrip("/")
    ip_lookup = env.get(IP_LOOKUP_ENV, IP_LOOKUP).rstrip("/")
    return {
        "apikey": Endpoint("apikey", f"{key_server}/apikey/", "0.0.9.0 sends the key here"),
        "ip_lookup": Endpoint(
            "ip_lookup", f"{ip_lookup}/", "0.0.9.0 looks up the public IP after accepting the key"
        ),
        "ping": Endpoint("ping", f"{console}/ping/", "0.0.9.1+ pings this before each call"),
        "verify_api_key": Endpoint(
            "verify_api_key", f"{console}/verify_api_key/", "0.0.9.2+ verifies IVY_KEY here"
        ),
        "transpilation_allowed": Endpoint(
            "transpilation_allowed",
            f"{console}/transpilation/transpilation_allowed",
            "0.0.9.17 asks here on every transpile call, key optional",
        ),
    }


def release_endpoints(facts: VersionFacts, env: Mapping[str, str]) -> list[Endpoint]:
    """The endpoints this version calls (empty for releases that call none or are unknown)."""
    table = endpoints(env)
    return [table[name] for name in facts.release.endpoints] if facts.release else []


def resolve_ivy_root(value: str, cwd: os.PathLike[str] | str) -> str:
    """How ivy resolves IVY_ROOT: as given, relative to the cwd, never expanding `~`."""
    return os.path.normpath(os.path.join(os.fspath(cwd), value))
