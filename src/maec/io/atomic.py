"""Outputs whole or not at all: written under a temporary name beside the target, then renamed.

The temporary is a hidden sibling of the target (same directory, hence same file system, so
the rename is atomic); a reader sees the old output or the complete new one, never a part.
On an exception the temporary is removed and nothing is left at the target. Files and
directories are created with the process's ordinary permissions (0666 / 0777 less the umask,
as open() and mkdir() give), not the owner-only modes of `tempfile.mkstemp` / `mkdtemp`, and
what other writers put into an output directory gets them too: a research group reads the
outputs of a shared cluster account.

This module is the only place in the package that renames an output into place. An OSError
that names no file (a full disk's) is raised again naming the output being written.
"""

from __future__ import annotations

import glob
import os
import re
import secrets
import shutil
import stat
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO


def temporary_sibling(path: str | os.PathLike, tag: str | None = None) -> Path:
    """A hidden name beside `path` for its temporary: `.{name}.{tag}.tmp`.

    Without `tag` the name is unique to this process and call; processes that build one
    output together (the ranks of a training job) pass the same `tag` to agree on it.
    """
    path = Path(path)
    if tag is None:
        tag = f"{os.getpid()}-{secrets.token_hex(4)}"
    if path.parent.is_dir():
        remove_leftovers(path)
    return path.parent / f".{path.name}.{tag}.tmp"


def _is_running(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # another user's process
    return True


def remove_leftovers(path: str | os.PathLike) -> None:
    """Remove the temporaries of `path` whose process has ended: a SIGKILL, or a SIGINT
    while a temporary was being created, runs no cleanup, and one job at a time writes an
    output, so the next writer of `path` clears them. Temporaries without a process id (the
    fixed tags that a training job's ranks share) are their owners' to remove."""
    path = Path(path)
    pattern = re.compile(rf"\.{re.escape(path.name)}\.(?:old-)?(\d+)(?:-[^.]*)?\.tmp")
    for leftover in path.parent.glob(f".{glob.escape(path.name)}.*.tmp"):
        match = pattern.fullmatch(leftover.name)
        if match and not _is_running(int(match.group(1))):
            remove(leftover)


def remove(path: str | os.PathLike) -> None:
    """Remove a file, a link or a directory tree; nothing when it is absent."""
    path = Path(path)
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    elif path.exists() or path.is_symlink():
        path.unlink()


def publish(tmp: str | os.PathLike, path: str | os.PathLike) -> None:
    """Move the finished file or directory `tmp` to `path`, replacing what was there."""
    tmp, path = Path(tmp), Path(path)
    if path.is_dir() and not path.is_symlink():
        old = temporary_sibling(path, f"old-{os.getpid()}")
        os.replace(path, old)
        os.replace(tmp, path)
        shutil.rmtree(old, ignore_errors=True)
        return
    if tmp.is_dir() and (path.exists() or path.is_symlink()):
        path.unlink()  # os.replace does not put a directory in place of a file
    os.replace(tmp, path)


@contextmanager
def naming_output(path: str | os.PathLike) -> Iterator[None]:
    """Name `path` in an OSError raised in the block that names no file: the error of a
    write() on a full disk or over a quota names none, and the job's log would not say
    which output could not be written."""
    try:
        yield
    except OSError as error:
        if error.filename is not None or error.errno is None:
            raise
        raise OSError(error.errno, error.strerror, str(path)) from error


@contextmanager
def atomic_path(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary path (not created) for a writer that takes a path; the file or
    directory written there replaces `path` when the block ends without an exception."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = temporary_sibling(path)
    try:
        with naming_output(path):
            yield tmp
            publish(tmp, path)
    finally:
        remove(tmp)


@contextmanager
def atomic_file(path: str | os.PathLike, mode: str = "w", **open_kwargs) -> Iterator[IO]:
    """Yield an open file ("w" or "wb" `mode`) whose contents replace `path` when the block
    ends without an exception."""
    if mode not in ("w", "wb"):
        raise ValueError(f"atomic_file writes a new file: mode 'w' or 'wb', got {mode!r}")
    with atomic_path(path) as tmp:
        with open(tmp, mode.replace("w", "x"), **open_kwargs) as handle:
            yield handle


def give_ordinary_modes(directory: Path) -> None:
    """Give what a writer put under `directory` the modes that open() and mkdir() give: the
    directory's own (mkdir's 0777 less the umask), without execute bits for files. Some
    writers create owner-only files (safetensors' save_file, so save_pretrained: 0600).
    Links are left alone: they point at files this output does not own."""
    mode = stat.S_IMODE(directory.stat().st_mode)
    for item in directory.rglob("*"):
        if item.is_symlink():
            continue
        item.chmod(mode if item.is_dir() else mode & 0o666)


@contextmanager
def atomic_directory(path: str | os.PathLike, tag: str | None = None) -> Iterator[Path]:
    """Yield a new empty directory that replaces `path` (a directory or a file) when the
    block ends without an exception. `tag`: see `temporary_sibling`."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = temporary_sibling(path, tag)
    remove(tmp)  # a fixed tag may name the leftover of a killed run
    tmp.mkdir()
    try:
        with naming_output(path):
            yield tmp
            give_ordinary_modes(tmp)
            publish(tmp, path)
    finally:
        remove(tmp)


def write_text(path: str | os.PathLike, text: str, encoding: str = "utf-8") -> None:
    """Write `text` to `path` atomically ("\\n" line ends on every platform)."""
    with atomic_file(path, "w", encoding=encoding, newline="\n") as handle:
        handle.write(text)


def write_bytes(path: str | os.PathLike, data: bytes) -> None:
    with atomic_file(path, "wb") as handle:
        handle.write(data)


def copy_file(source: str | os.PathLike, path: str | os.PathLike) -> None:
    """Copy the contents of `source` to `path` atomically."""
    with atomic_path(path) as tmp:
        shutil.copyfile(source, tmp)
