"""`which` finds programs on a PATH exactly as shutil.which does (it replaces it on the check path)."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from ivy_setup_tui.core.platform.pathsearch import which

pytestmark = pytest.mark.skipif(os.name != "posix", reason="POSIX executables and PATH")


def _program(folder: Path, name: str, mode: int = 0o755) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text("#!/bin/sh\n", encoding="utf-8")
    path.chmod(mode)
    return path


def test_which_agrees_with_shutil_on_every_kind_of_entry(tmp_path: Path) -> None:
    first, second, empty = tmp_path / "a", tmp_path / "b", tmp_path / "c"
    _program(first, "tool", 0o644)  # not executable: skipped
    found = _program(second, "tool")
    (empty / "tool").mkdir(parents=True)  # a folder of that name: skipped
    _program(second, "other")
    search = os.pathsep.join([str(empty), str(first), "", str(second), str(second)])
    for name in ("tool", "other", "missing", str(found), str(first / "tool"), "./tool"):
        assert which(name, search) == shutil.which(name, path=search), name
    assert which("tool", search) == str(found)
    assert which("tool", "") is None  # PATH='' finds nothing (PATH=':' would mean the cwd)


def test_a_path_with_a_folder_part_is_checked_as_it_is(tmp_path: Path) -> None:
    found = _program(tmp_path / "bin", "python3")
    assert which(str(found), "/nowhere") == str(found)
    assert which(str(tmp_path / "bin" / "python9"), "/nowhere") is None
