"""The CSV of one analysis run, written so that nothing already saved is lost.

Rows go, as whole lines (model.io.LineFile), to a temporary file beside the target; the target itself
is only replaced by `finish()` when the run ends. A run that is interrupted, or stops because the disk
is full, keeps its complete rows in NAME.partial.csv (`keep_partial()`), and an earlier NAME.csv stays
as it was. Files are user-only (0600) unless the caller passes other `permissions`.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Sequence
from pathlib import Path

from app.core.recorder import ANALYSIS_COLUMNS, csv_text
from model.io import TEMP_SUFFIX, LineFile, describe_os_error


class ResultsWriteError(OSError):
    """The results file could not be written; the message names it and says what to do."""


def partial_path(path: str | Path) -> Path:
    """Where an unfinished run keeps its rows: NAME.partial.csv beside NAME.csv."""
    path = Path(path)
    return path.with_name(f"{path.stem}.partial{path.suffix}")


class ResultsFile:
    """An analysis CSV being written; see the module docstring. Not thread-safe: one writer."""

    def __init__(
        self, path: str | Path, columns: Sequence[str] = ANALYSIS_COLUMNS, permissions: int | None = None
    ) -> None:
        """Create the temporary file beside `path` and write the header. Raises ResultsWriteError."""
        self.path = Path(path)
        self.columns = tuple(columns)
        self.rows = 0
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=self.path.parent, prefix=f".{self.path.name}.", suffix=TEMP_SUFFIX)
            os.close(fd)
            self._tmp = Path(tmp)
            self._file = LineFile(self._tmp, replace=True, permissions=permissions)
            self._file.write(csv_text((), self.columns, header=True))
        except OSError as exc:
            if hasattr(self, "_tmp"):
                self._tmp.unlink(missing_ok=True)
            raise ResultsWriteError(describe_os_error(self.path, exc)) from exc

    def write_rows(self, rows: Sequence[dict[str, str]]) -> None:
        """Append `rows` as whole lines. Raises ResultsWriteError (the file keeps its complete rows)."""
        if not rows:
            return
        try:
            self._file.write(csv_text(rows, self.columns))
        except OSError as exc:
            raise ResultsWriteError(describe_os_error(self.path, exc)) from exc
        self.rows += len(rows)

    def finish(self) -> Path:
        """Close the file and put it in place of `path`; returns `path`."""
        self._file.close()
        os.replace(self._tmp, self.path)
        return self.path

    def keep_partial(self) -> Path | None:
        """Close the file and keep its complete rows as NAME.partial.csv (None when it holds no row)."""
        self._file.close()
        if self.rows == 0:
            self._tmp.unlink(missing_ok=True)
            return None
        target = partial_path(self.path)
        os.replace(self._tmp, target)
        return target

    def discard(self) -> None:
        """Close and delete the temporary file; `path` is left as it was."""
        self._file.close()
        self._tmp.unlink(missing_ok=True)
