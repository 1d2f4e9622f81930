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
            _truncate_after(path, resume_step)
        self._writer = _tensorboard_writer(self.run_dir / "tensorboard") if tensorboard else None

    def write(self, split: str, step: int, values: dict[str, float]) -> None:
        """Append one row (``step`` then ``values``) to ``<split>.csv``.

        Columns keep the file's order. A row with a column the file lacks (a run resumed by code that logs a new
        term) rewrites the file once with that column added, empty in the earlier rows; a column the row lacks
        stays empty in it.
        """
        path = self.run_dir / f"{split}.csv"
        row = {"step": step, **values}
        columns = _header(path)
        if columns is None or not set(row) <= set(columns):
            columns = [*(columns or []), *(name for name in row if name not in (columns or []))]
            _rewrite_with(path, columns)
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


def _header(path: Path) -> list[str] | None:
    """The column names of a metrics CSV, or None when it does not exist or is empty."""
    if not path.is_file():
        return None
    with path.open(newline="") as f:
        return next(csv.reader(f), None)


def _rewrite_with(path: Path, columns: list[str]) -> None:
    """Rewrite ``path`` (if any) under the header ``columns``, a superset of its own; creates it if missing."""
    rows = []
    if path.is_file():
        with path.open(newline="") as f:
            rows = list(csv.DictReader(f))
    with atomic_write(path, "w") as f:
        writer = csv.DictWriter(f, fieldnames=columns)
        writer.writeheader()
        writer.writerows(rows)


def _truncate_after(path: Path, step: int) -> None:
    with path.open(newline="") as f:
        rows = list(csv.reader(f))
    if not rows:
        return
    header, body = rows[0], rows[1:]
    kept = [r for r in body if r and int(r[0]) <= step]
    if len(kept) == len(body):
        return
    with atomic_write(path, "w") as f:
        csv.writer(f).writerows([header, *kept])


def _tensorboard_writer(directory: Path):
    try:
        from torch.utils.tensorboard import SummaryWriter
    except ImportError as err:
        raise ConfigError("tensorboard: true needs the tensorboard package: pip install tensorboard.") from err
    return SummaryWriter(str(directory))
