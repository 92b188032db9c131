"""The architecture's promises: the core never imports the UI toolkit; `check` stays lean."""

from __future__ import annotations

import ast
import json
import os
import subprocess
import sys
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "ivy_setup_tui"
FORBIDDEN_IN_SERVICES = {"textual", "rich"}
# What `ivy-setup check --offline` must never load: the UI toolkit, the HTTP stack, the crypto
# library (all slow to import) and ivy itself (importing it writes files in 1.0.x).
FORBIDDEN_ON_CHECK = {"textual", "rich", "requests", "cryptography", "ivy", "urllib3"}


def _imported_roots(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    roots: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            roots.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            roots.add(node.module.split(".")[0])
            if node.module.startswith("ivy_setup_tui.") and node.module.split(".")[1] in {
                "tui",
                "cli",
            }:
                roots.add("ivy_setup_tui.ui")
    return roots


def test_core_never_imports_textual_rich_or_the_ui() -> None:
    offenders = {
        str(path.relative_to(PACKAGE)): sorted(
            _imported_roots(path) & (FORBIDDEN_IN_SERVICES | {"ivy_setup_tui.ui"})
        )
        for path in sorted((PACKAGE / "core").rglob("*.py"))
    }
    assert len(offenders) > 30, "the scan found no core modules: is PACKAGE right?"
    offenders = {name: found for name, found in offenders.items() if found}
    assert offenders == {}, f"core modules importing the UI: {offenders}"


def test_the_ast_scan_does_catch_a_forbidden_import(tmp_path: Path) -> None:
    sample = tmp_path / "sample.py"
    sample.write_text("from textual.app import App\nimport rich.console\n", encoding="utf-8")
    assert _imported_roots(sample) >= {"textual", "rich"}


def test_check_offline_imports_no_ui_http_crypto_or_ivy(work: Path) -> None:
    code = (
        "import sys, json, io, contextlib\n"
        "from ivy_setup_tui.cli.main import main\n"
        "buf = io.StringIO()\n"
        "with contextlib.redirect_stdout(buf):\n"
        "    rc = main(['check', '--offline', '--json'])\n"
        "print(json.dumps({'rc': rc, 'modules': sorted({m.split('.')[0] for m in sys.modules})}))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, cwd=work
    )
    assert out.returncode == 0, out.stderr
    result = json.loads(out.stdout.strip().splitlines()[-1])
    assert result["rc"] in (0, 1)
    assert set(result["modules"]) & FORBIDDEN_ON_CHECK == set()


def test_check_offline_writes_nothing_even_with_a_read_only_home(home: Path, work: Path) -> None:
    # Read-only modes make a write fail for a normal user; as root (CI) they do not, so the tree
    # comparison below is what proves nothing was written.
    (home / ".ivy").mkdir()
    (home / ".ivy" / "key.pem").write_text("abcd1234efgh5678=\n")
    before = _tree(home.parent)
    for path in [home, home / ".ivy", work]:
        path.chmod(0o555)
    try:
        out = subprocess.run(
            [sys.executable, "-m", "ivy_setup_tui", "check", "--offline", "--json"],
            capture_output=True,
            text=True,
            timeout=60,
            cwd=work,
        )
    finally:
        for path in [home, home / ".ivy", work]:
            path.chmod(0o755)
    assert out.returncode in (0, 1), out.stderr
    document = json.loads(out.stdout)
    assert len(document["findings"]) == 15
    assert _tree(home.parent) == before


def _tree(root: Path) -> dict[str, tuple[int, int, bytes]]:
    """Every path under root with its mode, mtime and (for files) content."""
    tree: dict[str, tuple[int, int, bytes]] = {}
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = [d for d in dirnames if d != "__pycache__"]
        for name in dirnames + filenames:
            path = Path(dirpath) / name
            stat = path.lstat()
            data = path.read_bytes() if path.is_file() and not path.is_symlink() else b""
            tree[str(path)] = (stat.st_mode, stat.st_mtime_ns, data)
    return tree
