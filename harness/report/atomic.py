"""Atomic file replacement, so a reader never sees a half-written report or results file.

Every file is first written in full to a temporary file on the same file system as its
target, flushed and fsynced, and only then moved over the target with :func:`os.replace`,
which is atomic on POSIX and Windows. With several files, all temporary files are written
before the first replacement, so a failure while writing (an exception, a full disk, a
KeyboardInterrupt) leaves every previous file untouched and removes the temporary files.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Mapping
from pathlib import Path

__all__ = ["atomic_write_many", "atomic_write_text"]

_NEW_FILE_MODE = 0o644


def atomic_write_text(path: Path, text: str, *, encoding: str = "utf-8") -> None:
    """Write ``text`` to ``path`` atomically.

    Parameters
    ----------
    path : Path
        Target file. Its parent directory is created if missing.
    text : str
        The complete new content. It is written as is: no newline translation.
    encoding : str, optional
        Text encoding.

    Notes
    -----
    Readers see either the old content or the new one, never a mix. A failure before the
    final rename leaves the old file as it was and removes the temporary file.
    """
    atomic_write_many({path: text}, encoding=encoding)


def atomic_write_many(
    mapping: Mapping[Path, str],
    *,
    encoding: str = "utf-8",
    staging_dir: Path | None = None,
) -> list[Path]:
    """Write several text files, replacing each target only after all were written.

    Parameters
    ----------
    mapping : Mapping[Path, str]
        Target path to complete new content. Parent directories are created if missing.
    encoding : str, optional
        Text encoding for every file.
    staging_dir : Path, optional
        Directory for the temporary files. It must be on the same file system as every
        target (otherwise :func:`os.replace` cannot be atomic). By default each temporary
        file goes next to its target.

    Returns
    -------
    list of Path
        The targets, in the order of ``mapping``.

    Raises
    ------
    ValueError
        If two keys name the same file.

    Notes
    -----
    Each replacement is atomic, but the set is not a transaction: should a replacement
    itself fail half-way (which needs an I/O error between two renames in the same
    directory), the files already replaced stay replaced. Any failure before the first
    replacement, including KeyboardInterrupt, leaves every target untouched.
    """
    targets = [Path(p) for p in mapping]
    # Lexical normalisation, so `d/x` and `d/sub/../x` count as the same file.
    resolved = [os.path.abspath(p) for p in targets]
    if len(set(resolved)) != len(resolved):
        raise ValueError("atomic_write_many: the same target appears twice")
    pending: list[tuple[Path, Path]] = []  # (temporary file, target), in mapping order
    try:
        for target, text in zip(targets, mapping.values(), strict=True):
            target.parent.mkdir(parents=True, exist_ok=True)
            tmp = _write_temp(target, text, encoding, staging_dir)
            pending.append((tmp, target))
        # Every byte is on disk: only now touch the targets.
        while pending:
            tmp, target = pending[0]
            os.replace(tmp, target)
            pending.pop(0)
    except BaseException:
        for tmp, _ in pending:
            with contextlib.suppress(OSError):
                tmp.unlink()
        raise
    for directory in dict.fromkeys(t.parent for t in targets):
        _fsync_dir(directory)
    return targets


def _write_temp(target: Path, text: str, encoding: str, staging_dir: Path | None) -> Path:
    """Write ``text`` to a new temporary file for ``target`` and return its path."""
    directory = target.parent if staging_dir is None else staging_dir
    # A leading dot keeps the temporary file out of globs such as `*.html` while it exists.
    fd, name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=directory)
    tmp = Path(name)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(text.encode(encoding))
            fh.flush()
            os.fsync(fh.fileno())
        # mkstemp creates 0600 files; a report must stay readable like any other file.
        mode = _NEW_FILE_MODE
        with contextlib.suppress(FileNotFoundError):
            mode = target.stat().st_mode & 0o777
        os.chmod(tmp, mode)
    except BaseException:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise
    return tmp


def _fsync_dir(directory: Path) -> None:
    """Persist the renames in ``directory``; a no-op where directories cannot be opened."""
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        with contextlib.suppress(OSError):
            os.fsync(fd)
    finally:
        os.close(fd)
