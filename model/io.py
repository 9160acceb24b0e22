"""Writing files so that a crash, a kill or a full disk never leaves a half file under the real name.

Every file the project writes in one go (checkpoints, resume state, ONNX exports, CSV tables, copies)
goes through `atomic_write`: the bytes go to a temporary file beside the target (`.NAME.XXXX.tmp`),
are flushed to disk, and only then renamed over the target; on any error the temporary file is
removed and an earlier file under that name is left as it was. A process killed mid-write leaves its
temporary file behind; `remove_stale_temp_files` clears them when a folder is reused.

Permissions are a choice, not a side effect of how the temporary file was made: by default a file gets
what `open()` would give it (0o666 less the umask); `PRIVATE_MODE` (0o600) keeps it to its owner.
"""

from __future__ import annotations

import errno
import logging
import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO

log = logging.getLogger(__name__)

PRIVATE_MODE = 0o600  # owner read/write only: per-person data
TEMP_SUFFIX = ".tmp"


def default_mode() -> int:
    """The mode `open()` gives a new file: 0o666 less the process umask."""
    umask = os.umask(0)
    os.umask(umask)
    return 0o666 & ~umask


def describe_os_error(path: str | Path, exc: OSError) -> str:
    """One line for a failed write of `path`: what happened and what to do (disk full named as such)."""
    if exc.errno == errno.ENOSPC:
        return f"cannot write {path}: the disk is full; free some space or choose another folder"
    if exc.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
        return f"cannot write {path}: permission denied; choose a folder you can write to"
    return f"cannot write {path}: {exc.strerror or exc}; choose another file"


@contextmanager
def atomic_write(
    path: str | Path,
    mode: str = "wb",
    *,
    permissions: int | None = None,
    encoding: str | None = None,
    newline: str | None = None,
) -> Iterator[IO]:
    """Open a temporary file beside `path` for writing (`mode` "wb" or "w"); rename it over `path` when
    the block ends without an error, after flushing it to disk. On an error the temporary file is removed
    and `path` is left untouched. `permissions` (e.g. PRIVATE_MODE) sets the file's mode, default
    `default_mode()`."""
    if mode not in ("wb", "w"):
        raise ValueError(f"atomic_write writes whole files: mode 'wb' or 'w', got {mode!r}")
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=TEMP_SUFFIX)
    tmp = Path(tmp_name)
    try:
        os.fchmod(fd, default_mode() if permissions is None else permissions)
        kwargs = {} if mode == "wb" else {"encoding": encoding or "utf-8", "newline": newline}
        with os.fdopen(fd, mode, **kwargs) as handle:
            yield handle
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def write_bytes_atomic(path: str | Path, data: bytes, permissions: int | None = None) -> Path:
    """Write `data` to `path` atomically; returns the path."""
    with atomic_write(path, "wb", permissions=permissions) as handle:
        handle.write(data)
    return Path(path)


def write_text_atomic(path: str | Path, text: str, permissions: int | None = None) -> Path:
    """Write `text` (UTF-8) to `path` atomically; returns the path."""
    with atomic_write(path, "w", permissions=permissions) as handle:
        handle.write(text)
    return Path(path)


def copy_file_atomic(source: str | Path, target: str | Path, permissions: int | None = None) -> Path:
    """Copy `source` to `target` atomically; returns the target."""
    with open(source, "rb") as src, atomic_write(target, "wb", permissions=permissions) as dst:
        shutil.copyfileobj(src, dst, 1 << 20)
    return Path(target)


def remove_stale_temp_files(folder: str | Path) -> list[Path]:
    """Delete the temporary files (`.NAME.XXXX.tmp`) that a killed writer left in `folder`; returns them.

    Call it only where no other process is writing into `folder` (a run folder being resumed or reused).
    """
    folder = Path(folder)
    if not folder.is_dir():
        return []
    removed = []
    for tmp in folder.glob(f".*{TEMP_SUFFIX}"):
        if tmp.is_file():
            tmp.unlink(missing_ok=True)
            removed.append(tmp)
            log.info("removed a temporary file left by an interrupted write: %s", tmp)
    return removed


def append_line(path: str | Path, line: str) -> None:
    """Append one whole line (a log entry) to `path`, creating it, in one `os.write` under O_APPEND, so
    concurrent or killed writers never leave half a line."""
    data = (line.rstrip("\n") + "\n").encode("utf-8")
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, default_mode())
    try:
        if os.write(fd, data) != len(data):
            raise OSError(errno.ENOSPC, f"{path}: the line was not written whole")
    finally:
        os.close(fd)


def _write_some(fd: int, data: bytes) -> int:
    """One `os.write` (it may write fewer bytes than asked); tests replace it to fill the disk."""
    return os.write(fd, data)


class LineFile:
    """A text file written in whole lines: `write(text)` appends complete lines with `os.write`, and when
    a write fails (the disk is full) the file is cut back to where that call began, so a reader never
    sees half a row. Creates `path` (refusing an existing file unless `replace`) with `permissions`
    (default as `open()` would)."""

    def __init__(self, path: str | Path, *, replace: bool = False, permissions: int | None = None) -> None:
        self.path = Path(path)
        flags = os.O_WRONLY | os.O_CREAT | (os.O_TRUNC if replace else os.O_EXCL)
        mode = default_mode() if permissions is None else permissions
        self._fd: int | None = os.open(self.path, flags, mode)
        os.fchmod(self._fd, mode)  # the umask must not widen or narrow a chosen mode
        self.size = 0  # bytes of complete lines in the file

    def write(self, text: str) -> None:
        """Append `text` (whole lines); on OSError the partial tail is removed and the error raised."""
        if self._fd is None:
            raise ValueError(f"{self.path} is closed")
        data = text.encode("utf-8")
        done = 0
        try:
            while done < len(data):
                done += _write_some(self._fd, data[done:])
        except OSError:
            try:
                os.ftruncate(self._fd, self.size)
            except OSError:
                log.warning("could not cut %s back to its last complete line", self.path)
            raise
        self.size += len(data)

    def sync(self) -> None:
        """Flush the file to disk (errors ignored: what was written stays written)."""
        if self._fd is not None:
            try:
                os.fsync(self._fd)
            except OSError:
                pass

    def close(self) -> None:
        """Sync and close; safe to call twice."""
        if self._fd is not None:
            self.sync()
            os.close(self._fd)
            self._fd = None
