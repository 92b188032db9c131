"""Print `ivy-setup check --json --offline` for the benchmark sandbox with timing fields removed.

Optimisations must not change what `check` says: run this before and after a change on the same
sandbox and diff the two outputs (`diff before.json after.json` must be empty).

    python benchmarks/check_output.py --sandbox-dir DIR > before.json   # builds DIR once
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import sandbox as sandbox_mod  # noqa: E402 - benchmarks/ is not a package

# Fields that measure time (they differ on every run, whatever the code).
TIMING_KEYS = frozenset({"elapsed", "elapsed_ms", "seconds", "duration", "duration_ms", "took"})


def _strip(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _strip(v) for k, v in value.items() if k not in TIMING_KEYS}
    if isinstance(value, list):
        return [_strip(v) for v in value]
    return value


def main() -> int:
    """Build (or reuse) the sandbox, run check --json --offline there, print it without timings."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sandbox-dir", type=Path, required=True)
    args = parser.parse_args()
    root: Path = args.sandbox_dir
    meta = root / "sandbox.json"
    if not meta.exists():
        root.mkdir(parents=True, exist_ok=True)
        box = sandbox_mod.build(root)
        meta.write_text(
            json.dumps({"project": str(box.project), "python": str(box.python), "env": box.env}),
            encoding="utf-8",
        )
    info = json.loads(meta.read_text(encoding="utf-8"))
    out = subprocess.run(
        [sys.executable, "-m", "ivy_setup_tui", "check", "--json", "--offline",
         "--python", info["python"]],
        env=info["env"], cwd=info["project"], capture_output=True, text=True, check=False,
    )  # fmt: skip
    if out.returncode not in (0, 1):
        sys.stderr.write(out.stderr)
        return 2
    print(json.dumps(_strip(json.loads(out.stdout)), indent=2, sort_keys=True))
    return 0


if __name__ == "__main__":
    sys.exit(main())
