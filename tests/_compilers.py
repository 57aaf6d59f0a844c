"""Counting compiler invocations from outside: a ``g++``/``c++`` wrapper first on PATH (Brian2's makefile
runs ``$(CXX)``, make's default ``g++``) that logs its arguments and runs the real compiler."""

import os
import shutil
from pathlib import Path


def compiler_wrapper(tmp_path: Path) -> tuple[Path, Path]:
    """(directory to put first on PATH, log file with one line per invocation)."""
    real = shutil.which(os.environ.get("CXX") or "g++")
    bindir, log = tmp_path / "bin", tmp_path / "compiler.log"
    bindir.mkdir()
    for name in ("g++", "c++"):
        w = bindir / name
        w.write_text(f'#!/bin/sh\necho "$@" >> "{log}"\nexec "{real}" "$@"\n')
        w.chmod(0o755)
    return bindir, log


def compiles(log: Path) -> int:
    """Invocations that compile or link code (not the ``--version`` probes)."""
    if not log.exists():
        return 0
    return sum(1 for line in log.read_text().splitlines() if ".cpp" in line or "-o main" in line)
