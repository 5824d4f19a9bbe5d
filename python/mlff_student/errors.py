"""Bad input that the user can fix, and the checks of the files a command reads and writes.

The command line prints an InputError as its one line, `mlff_student <command>: <path>: ...`.
"""

from __future__ import annotations

import os
from pathlib import Path


class InputError(ValueError):
    """What is wrong with an input and what to do about it; path: the file it is about, if any.
    A ValueError, so that callers of the Python functions that raise it may catch either."""

    def __init__(self, path: str | Path | None, message: str):
        super().__init__(message if path is None else f"{path}: {message}")


def readable_file(path: str | Path, what: str) -> Path:
    """path, once it names a file this process can read; what: what it should be, as in
    "give {what}"."""
    path = Path(path)
    if path.is_dir():
        raise InputError(path, f"is a directory: give {what}")
    if not path.exists():
        raise InputError(path, f"no such file: give {what}")
    if not path.is_file():
        raise InputError(path, f"not a regular file: give {what}")
    if not os.access(path, os.R_OK):
        raise InputError(path, "cannot be read: check its permissions")
    return path


def writable_file(path: str | Path) -> Path:
    """path, once it names a file this process can create or replace. Checked before the work
    that makes the file, which may take minutes (compile, distill); the file is left as it was."""
    path = Path(path)
    if path.is_dir():
        raise InputError(path, "is a directory: give the name of the file to write")
    if _existing_directory(path.parent, path) != path.parent:
        raise InputError(
            path, f"directory {path.parent} does not exist: create it or choose another place"
        )
    existed = path.exists()
    try:
        with open(path, "ab"):  # appending nothing changes no file
            pass
    except OSError as err:
        raise InputError(
            path, f"cannot be written ({err.strerror}): choose a place you can write to"
        ) from None
    if not existed:
        path.unlink()
    return path


def writable_directory(path: str | Path) -> Path:
    """path, once it is a directory this process can write in, or can be made with its missing
    parents."""
    path = Path(path)
    existing = _existing_directory(path, path)
    if not os.access(existing, os.W_OK | os.X_OK):
        which = "" if existing == path else f"{existing} "
        raise InputError(path, f"{which}cannot be written: choose a place you can write to")
    return path


def _existing_directory(path: Path, about: Path) -> Path:
    """The nearest of path and its parents that exists, which must be a directory."""
    existing = next(p for p in (path, *path.parents) if p.exists())
    if not existing.is_dir():
        which = "" if existing == about else f"{existing} "
        raise InputError(about, f"{which}is a file, not a directory: choose another place")
    return existing
