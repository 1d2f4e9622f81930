"""Training metrics on disk: one CSV per split (``train.csv``, ``eval.csv``), TensorBoard optionally.

A resumed run first drops the rows written after its checkpoint (a killed run may have logged steps it
never saved), so each CSV always reads as one uninterrupted trajectory.
"""

from __future__ import annotations

import csv
import os
from pathlib import Path

from ..atomic import atomic_write
from ..errors import ConfigError


class MetricsLog:
    def __init__(self, run_dir: str | os.PathLike, resume_step: int, tensorboard: bool = False) -> None:
        self.run_dir = Path(run_dir)
        self.run_dir.mkdir(parents=True, exist_ok=True)
        for path in self.run_dir.glob("*.csv"):
            columns, rows = _read(path)
            kept = [row for row in rows if int(row["step"]) <= resume_step]
            if len(kept) < len(rows):
                _rewrite(path, columns, kept)
        self._writer = _tensorboard_writer(self.run_dir / "tensorboard") if tensorboard else None

    def write(self, split: str, step: int, values: dict[str, float]) -> None:
        """Append one row (``step`` then ``values``) to ``<split>.csv``.

        Columns keep the file's order. A row with a column the file lacks (a run resumed by code that logs a new
        term) rewrites the file once with that column added, empty in the earlier rows; a column the row lacks
        stays empty in it.
        """
        path = self.run_dir / f"{split}.csv"
        row = {"step": step, **values}
        # the header is read each time, not cached: one short line every `log_every` steps, and a file removed or
        # edited by hand mid-run still gets a correct header
        columns = _header(path)
        if not set(row) <= set(columns):
            columns = [*columns, *(name for name in row if name not in columns)]
            _rewrite(path, columns, _read(path)[1])
        with path.open("a", newline="") as f:
            csv.DictWriter(f, fieldnames=columns).writerow(row)
        if self._writer is not None:
            for name, value in values.items():
                self._writer.add_scalar(f"{split}/{name}", value, step)

    def close(self) -> None:
        if self._writer is not None:
            self._writer.close()


def read_metrics(path: str | os.PathLike) -> list[dict[str, float]]:
    """Rows of a metrics CSV as numbers (``step`` as int); a row's empty cells (a column added later) are left out."""
    with Path(path).open(newline="") as f:
        rows = csv.DictReader(f)
        return [{k: (int(v) if k == "step" else float(v)) for k, v in row.items() if v != ""} for row in rows]


def _header(path: Path) -> list[str]:
    """A metrics CSV's column names; none when it is missing or empty."""
    if not path.is_file():
        return []
    with path.open(newline="") as f:
        return next(csv.reader(f), [])


def _read(path: Path) -> tuple[list[str], list[dict[str, str]]]:
    """A metrics CSV's column names and rows (as text); no columns and no rows when it is missing or empty."""
    if not path.is_file():
        return [], []
    with path.open(newline="") as f:
        reader = csv.DictReader(f)
        rows = list(reader)
        return list(reader.fieldnames or []), rows


def _rewrite(path: Path, columns: list[str], rows: list[dict[str, str]]) -> None:
    """Replace ``path`` atomically with ``rows`` under the header ``columns`` (a cell a row lacks stays empty)."""
    with atomic_write(path, "w") as f:
        writer = csv.DictWriter(f, fieldnames=columns)
        writer.writeheader()
        writer.writerows(rows)


def _tensorboard_writer(directory: Path):
    try:
        from torch.utils.tensorboard import SummaryWriter
    except ImportError as err:
        raise ConfigError("tensorboard: true needs the tensorboard package: pip install tensorboard.") from err
    return SummaryWriter(str(directory))
