"""The known ivy errors: how each is recognised, what it means, which step fixes it, which releases.

The table is data (the "What users see" table of ivy-facts.md), kept together so it reads as text.
"""

from __future__ import annotations

from dataclasses import dataclass

from ivy_setup_tui.core.model import Step

_PILOT = r"please\s+sign\s+up\s+for\s+free\s+pilot\s+access"
_IVY_ROOT_INVALID = (
    r"IVY_ROOT\s+environment\s+variable\s+is\s+not\s+set\s+to\s+a\s+valid\s+directory"
)


@dataclass(frozen=True)
class Signature:
    """One known ivy error: how to recognise it, what it means, the step that fixes it, where.

    `patterns`: any one identifies the message; `requires`: each must also occur in the text;
    `mc_line`: the innermost `MC.pyx` frame must be at this line; within a `group` the first
    matching signature (most specific first) wins. `applies_to` holds PEP 440 specifier sets, any
    of which matches the releases that print this message.
    """

    id: str
    title: str
    patterns: tuple[str, ...]
    meaning: str
    step: str
    steps: tuple[Step, ...]
    applies_to: tuple[str, ...]
    versions: str
    measured: bool
    requires: tuple[str, ...] = ()
    mc_line: int | None = None
    group: str | None = None


SIGNATURES: tuple[Signature, ...] = (
    Signature(
        id="pilot_access.line_147",
        title="Sign-up message at MC.pyx line 147: ivy found no key.pem",
        patterns=(_PILOT,),
        mc_line=147,
        group="pilot_access",
        meaning=(
            "ivy 0.0.9.0 found no key.pem at the path it resolved, so it never sent a key. ivy "
            "looks in $IVY_ROOT/key.pem, else in the nearest .ivy folder walking up from the "
            "current working directory; ~/.ivy is found only from somewhere under your home "
            "folder. Usual causes: the script ran from another working directory, IVY_ROOT points "
            "at the folder above .ivy, a nearer .ivy folder shadows ~/.ivy, or the file is "
            "misnamed (key.pem.txt, key)."
        ),
        step="Key (where the key is placed) or Environment (IVY_ROOT)",
        steps=(Step.KEY, Step.ENVIRONMENT),
        applies_to=("<0.0.9.1",),
        versions="0.0.9.0 (older releases assumed alike)",
        measured=True,
    ),
    Signature(
        id="pilot_access.line_141",
        title="Sign-up message at MC.pyx line 141: your key was found, sent and refused",
        patterns=(_PILOT,),
        mc_line=141,
        group="pilot_access",
        meaning=(
            "ivy 0.0.9.0 found key.pem, sent its first line to the key server, and the server "
            "refused it. Placing the same file again will not help: either its content is wrong "
            "(ivy sends the line exactly as read, so a trailing newline from `echo KEY > key.pem`, "
            "spaces, or an empty file, which makes ivy send the text None, all break it) or the "
            "key itself is wrong or expired."
        ),
        step="Key (the file's content), or a new key",
        steps=(Step.KEY,),
        applies_to=("<0.0.9.1",),
        versions="0.0.9.0 (older releases assumed alike)",
        measured=True,
    ),
    Signature(
        id="pilot_access",
        title="Sign-up message without its MC.pyx line: no key found, or key refused",
        patterns=(_PILOT,),
        group="pilot_access",
        meaning=(
            "This is ivy 0.0.9.0's key gate, but the MC.pyx line that tells its two causes apart "
            "is missing (notebooks often hide it). At line 147 ivy found no key.pem at the path it "
            "resolved; at line 141 it found one, sent it, and the server refused it. To tell "
            'which, look in the full traceback for `MC.pyx", line 141` or `147` (or `MC.pyx:141`), '
            "e.g. by running the same call from a plain `python` script, or run `ivy-setup check` "
            "from the same folder: if it finds a key there, it is the line-141 case."
        ),
        step="Key (placement or content) or Environment (IVY_ROOT)",
        steps=(Step.KEY, Step.ENVIRONMENT),
        applies_to=("<0.0.9.1",),
        versions="0.0.9.0 (older releases assumed alike)",
        measured=True,
    ),
    Signature(
        id="ivy_root.invalid",
        title="IVY_ROOT is not an existing directory",
        patterns=(_IVY_ROOT_INVALID,),
        meaning=(
            "IVY_ROOT is set, but not to an existing directory. ivy never expands `~`, so a "
            "literal `~/.ivy` (quoted in a shell file, set from Python, a .env file or an IDE run "
            "configuration) fails, and so do a typo, a file, or a deleted folder. IVY_ROOT must be "
            "the .ivy folder itself (the one holding key.pem), best as an absolute path, and it "
            "must exist."
        ),
        step="Environment",
        steps=(Step.ENVIRONMENT,),
        applies_to=("<1.0.0",),
        versions="0.0.9.x",
        measured=True,
    ),
    Signature(
        id="ivy_root.transpile_missing",
        title="ivy.transpile is missing: IVY_ROOT is not an existing directory",
        patterns=(r"module\s+['\"]ivy['\"]\s+has\s+no\s+attribute\s+['\"]transpile['\"]",),
        meaning=(
            "On ivy 1.0.0.x an IVY_ROOT that is set but is not an existing directory makes ivy's "
            "transpiler fail to load during `import ivy`; ivy swallows that error, so "
            "`ivy.transpile` is simply missing. Set IVY_ROOT to an existing .ivy folder (absolute "
            "path) or unset it: 1.0.0.x needs no key."
        ),
        step="Environment",
        steps=(Step.ENVIRONMENT,),
        applies_to=(">=1.0.0,<1.0.1",),
        versions="1.0.0.x (measured on 1.0.0.5)",
        measured=True,
    ),
    Signature(
        id="network.key_server",
        title="No connection to ivy's key server",
        patterns=(
            r"requests\.exceptions\.(?:ConnectionError|ConnectTimeout|ProxyError|SSLError)",
            r"\bConnectionError:\s*HTTPS?ConnectionPool",
        ),
        requires=(
            r"MC\.pyx|verify_api_key|/apikey/|cloud-db-gateway-94jg94af|console-5bxqyv5cga-uc",
        ),
        meaning=(
            "ivy could not reach the server that checks the key (0.0.9.0: GET .../apikey/<key>; "
            "0.0.9.2+: POST .../verify_api_key/). Nothing is known to be wrong with the key: this "
            "machine is offline, or a proxy or firewall blocks the request. ivy uses requests, "
            "which honours HTTPS_PROXY, NO_PROXY and REQUESTS_CA_BUNDLE."
        ),
        step="Network",
        steps=(Step.NETWORK,),
        applies_to=("<0.0.9.1", ">=0.0.9.2,<1.0.0"),
        versions="0.0.9.0 (MC.pyx) and 0.0.9.2+ (verify_api_key)",
        measured=True,
    ),
    Signature(
        id="permissions.key_file",
        title="The key file cannot be read by this user",
        patterns=(r"PermissionError:[^\n]*key\.pem",),
        group="permission_error",
        meaning=(
            "ivy found the key file but this user may not read it, often because it was created "
            "with sudo and root owns it. Read access is all ivy needs; the Permissions step makes "
            "the file yours and 0600."
        ),
        step="Permissions",
        steps=(Step.PERMISSIONS,),
        applies_to=("<0.0.9.1",),
        versions="0.0.9.0 (0.0.9.2+ swallow it and say 'Unable to find an api key')",
        measured=True,
    ),
    Signature(
        id="permissions.ivy_dir",
        title="ivy cannot write its .ivy folder or the working directory",
        patterns=(r"PermissionError:[^\n]*(?:\.ivy\b|_cache|ivy_logs\.txt)",),
        group="permission_error",
        meaning=(
            "ivy needs write access to the working directory when it must create .ivy there, and "
            "(from 0.0.9.1 on) to .ivy itself for its caches: cache.sqlite and blobs/, or "
            "compiler/_cache/ and ./ivy_logs.txt on 1.0.0.x. This folder is not writable by this "
            "user."
        ),
        step="Permissions",
        steps=(Step.PERMISSIONS,),
        applies_to=("<1.0.1",),
        versions="all measured releases",
        measured=False,
    ),
    Signature(
        id="network.ip_lookup",
        title="Key accepted, but ivy's public-IP lookup failed",
        patterns=(r"'NoneType'\s+object\s+has\s+no\s+attribute\s+'encode'",),
        requires=(r"log_user_stat|MC\.pyx",),
        meaning=(
            "The key server accepted the key. Afterwards ivy looks up this machine's public IP "
            "(https://www.wikipedia.org, header X-Client-IP) to log usage; that request failed, "
            "typically because of a proxy or firewall, and ivy then tried to encode the missing "
            "answer. The key is fine."
        ),
        step="Network",
        steps=(Step.NETWORK,),
        applies_to=("<0.0.9.1",),
        versions="0.0.9.0",
        measured=True,
    ),
    Signature(
        id="network.ping",
        title="ivy's server did not answer its ping",
        patterns=(r"Unable\s+to\s+connect\s+to\s+ivy\s+server",),
        meaning=(
            "From 0.0.9.1 on, ivy pings its console server (GET .../ping/) before each "
            "trace/transpile call and stops when that fails; 0.0.9.17 also says it when its "
            "transpile cannot ask the server (POST .../transpilation/transpilation_allowed, sent "
            "on every call). This machine cannot reach the server (offline, proxy, firewall); "
            "nothing is known to be wrong with the key."
        ),
        step="Network",
        steps=(Step.NETWORK,),
        applies_to=(">=0.0.9.1,<1.0.0",),
        versions="0.0.9.1 and later 0.0.9.x",
        measured=True,
    ),
    Signature(
        id="ivy_key.missing",
        title="ivy found no key: IVY_KEY scheme",
        patterns=(r"Unable\s+to\s+find\s+an\s+api\s+key\s+in\s+the\s+IVY_KEY",),
        meaning=(
            "From 0.0.9.2 on, ivy reads the key from the IVY_KEY environment variable when it is "
            "set, else from the nearest ivy-key.pem (0.0.9.17: or .ivy/ivy-key.pem) in the "
            "working directory or one of its parents, never the filesystem root; it does not read "
            "~/.ivy/key.pem. It found no key because there is no such file on the way, IVY_KEY is "
            "set but empty (that counts as set, so no file is read), or the nearest ivy-key.pem "
            "is empty or unreadable (the nearest file ends the search; ivy swallows the "
            "PermissionError). In 0.0.9.2 only ivy.compiler.compiler.source_to_source needs the "
            "key."
        ),
        step="Key (IVY_KEY scheme) or Environment",
        steps=(Step.KEY, Step.ENVIRONMENT),
        applies_to=(">=0.0.9.2,<1.0.0",),
        versions="0.0.9.2 and 0.0.9.17 (0.0.9.3 to 0.0.9.16 not measured, assumed alike)",
        measured=True,
    ),
    Signature(
        id="ivy_key.invalid",
        title="The server refused the IVY_KEY key",
        patterns=(r"Invalid\s+api\s+key\.?\s+Your\s+key\s+may\s+have\s+now\s+expired",),
        meaning=(
            "ivy sent the key to its server (POST .../verify_api_key/) and the server answered "
            "that it is not valid: the key is wrong or expired, or the file holds extra "
            "characters, which ivy sends too (it sends the first line exactly as read: a "
            "newline, a CRLF ending, a byte-order mark or spaces are part of what the server "
            "sees). Check what is stored; if it is exactly your key, get a new one."
        ),
        step="Key (a new key)",
        steps=(Step.KEY,),
        applies_to=(">=0.0.9.2,<1.0.0",),
        versions="0.0.9.2 (0.0.9.3 to 0.0.9.17 not measured for this message, assumed alike)",
        measured=True,
    ),
    Signature(
        id="dependency.missing",
        title="ivy's compiler imports a module that is not installed",
        patterns=(
            r"No\s+module\s+named\s+['\"](?:tensorflow|torch|yaml|astor|scipy)\b[\w.]*['\"]",
        ),
        requires=(r"ivy[/\\.]compiler",),
        meaning=(
            "ivy's compiler (trace_graph, transpile) in 0.0.9.2 and 0.0.9.17 imports "
            "tensorflow, torch, pyyaml, astor and scipy, but ivy does not declare them, so pip did "
            "not install them. Choose another release in the Version step (1.0.x is pure Python "
            "and needs no key), or install the missing modules into the same interpreter."
        ),
        step="Version",
        steps=(Step.VERSION,),
        applies_to=(">=0.0.9.2,<1.0.0",),
        versions="0.0.9.2 and 0.0.9.17 (0.0.9.3 to 0.0.9.16 not measured, assumed alike)",
        measured=True,
    ),
    Signature(
        id="source_to_source.broken",
        title="source_to_source is broken as published: main_config.yml is missing",
        patterns=(
            r"FileNotFoundError:[^\n]*source_to_source_translator[/\\]+main_config\.yml",
            r"No\s+such\s+file\s+or\s+directory:\s*['\"][^'\"\n]*source_to_source_translator"
            r"[/\\]+main_config\.yml",
        ),
        meaning=(
            "ivy 0.0.9.2 accepted the key and then failed in "
            "ivy.compiler.compiler.source_to_source: it opens "
            "'./source_to_source_translator/main_config.yml' relative to the working directory, "
            "and the release does not ship that file. The key is fine; no key, folder or "
            "permission change fixes this. Use transpile (which this release does not gate), or "
            "choose another release in the Version step."
        ),
        step="Version",
        steps=(Step.VERSION,),
        applies_to=(">=0.0.9.2,<1.0.0",),
        versions="0.0.9.2 (later 0.0.9.x not measured)",
        measured=True,
    ),
)

# The pip distribution that provides each module ivy's compiler imports.
DISTRIBUTION = {
    "tensorflow": "tensorflow",
    "torch": "torch",
    "yaml": "pyyaml",
    "astor": "astor",
    "scipy": "scipy",
}
