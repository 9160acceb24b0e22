"""The program's log: a rotating file in the user's data folder, so the terminal shows only our output.

Two files in `log_dir()` (`$AFFECTSCOPE_DATA_DIR/logs`, else `$XDG_DATA_HOME/affectscope/logs`, else
`~/.local/share/affectscope/logs`):
- `affectscope.log`: Python `logging` records of every part (and Python warnings), rotated at 2 MB,
  3 old files kept;
- `native.log`: what native libraries (MediaPipe/LiteRT, OpenCV, torch's C++ core) print to the
  process's standard error. They write to file descriptor 2 directly, so `native_output_to_log`
  points descriptor 2 at this file while our own messages, progress bars and tracebacks keep going to
  the terminal. It is started afresh when it passes 5 MB.

`--verbose` on the command line shows both on the terminal instead.
"""

from __future__ import annotations

import io
import logging
import logging.handlers
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

DATA_DIR_ENV = "AFFECTSCOPE_DATA_DIR"
LOG_FILE = "affectscope.log"
NATIVE_LOG_FILE = "native.log"
LOG_BYTES, LOG_BACKUPS = 2 * 1024 * 1024, 3
NATIVE_LOG_MAX_BYTES = 5 * 1024 * 1024
LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s [%(threadName)s]: %(message)s"
_HANDLER_MARK = "_affectscope_handler"


def data_dir() -> Path:
    """The user's AffectScope data folder (logs live here); not created by this call."""
    root = os.environ.get(DATA_DIR_ENV)
    if root:
        return Path(root).expanduser()
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "affectscope"


def log_dir() -> Path:
    """The folder of the log files (shown in Help and in `--help`)."""
    return data_dir() / "logs"


def configure_logging(verbose: bool = False) -> Path | None:
    """Send every `logging` record (and Python warnings) to the rotating log file; with `verbose` also to
    the terminal. Returns the log file, or None when its folder cannot be written (then records at
    WARNING and above go to the terminal). Calling it again replaces the handlers it added before."""
    root = logging.getLogger()
    for handler in [h for h in root.handlers if getattr(h, _HANDLER_MARK, False)]:
        root.removeHandler(handler)
        handler.close()
    formatter = logging.Formatter(LOG_FORMAT)
    path: Path | None = log_dir() / LOG_FILE
    handlers: list[logging.Handler] = []
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        handlers.append(logging.handlers.RotatingFileHandler(
            path, maxBytes=LOG_BYTES, backupCount=LOG_BACKUPS, encoding="utf-8"))
    except OSError:
        path = None
    if verbose or path is None:
        terminal = logging.StreamHandler()  # writes to whatever sys.stderr is at the time
        terminal.setLevel(logging.DEBUG if verbose else logging.WARNING)
        handlers.append(terminal)
    for handler in handlers:
        handler.setFormatter(formatter)
        setattr(handler, _HANDLER_MARK, True)
        root.addHandler(handler)
    root.setLevel(logging.DEBUG if verbose else logging.INFO)
    logging.captureWarnings(True)
    return path


def _open_native_log() -> int | None:
    """A descriptor on native.log for appending (started afresh past its size limit), or None."""
    path = log_dir() / NATIVE_LOG_FILE
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        if path.is_file() and path.stat().st_size > NATIVE_LOG_MAX_BYTES:
            path.unlink()
        return os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    except OSError:
        return None


@contextmanager
def native_output_to_log(verbose: bool = False) -> Iterator[None]:
    """While the block runs, what native code writes to descriptor 2 goes to native.log; Python's
    `sys.stderr` keeps writing to the terminal. Both are restored afterwards. `verbose` leaves the
    terminal as it is. When Python's stderr is not descriptor 2 (a test capturing it), only the
    descriptor is moved."""
    log_fd = None if verbose else _open_native_log()
    if log_fd is None:
        yield
        return
    try:
        python_on_fd2 = sys.stderr is not None and sys.stderr.fileno() == 2
    except (AttributeError, OSError, ValueError):
        python_on_fd2 = False
    original_stderr = sys.stderr
    if original_stderr is not None:
        original_stderr.flush()
    terminal_fd = os.dup(2)
    try:
        os.dup2(log_fd, 2)
        if python_on_fd2:
            sys.stderr = io.TextIOWrapper(
                os.fdopen(os.dup(terminal_fd), "wb"), encoding=original_stderr.encoding or "utf-8",
                errors="backslashreplace", write_through=True,
            )
        yield
    finally:
        if sys.stderr is not original_stderr:
            sys.stderr.flush()
            sys.stderr.close()
            sys.stderr = original_stderr
        os.dup2(terminal_fd, 2)
        os.close(terminal_fd)
        os.close(log_fd)
