"""``make test``'s parts: every marked folder runs in exactly one of the parts that are not the database's."""
from pathlib import Path

from tests.support.marks import FOLDER_MARKS, makefile_marks

ROOT = Path(__file__).resolve().parents[1]


def test_every_folder_mark_runs_once_outside_the_database_parts():
    marks = makefile_marks(ROOT / "Makefile")
    folders = set(FOLDER_MARKS.values())
    assert marks["NOT_DATABASE"] == folders, "NOT_DATABASE must name exactly the folder marks"
    parts = [part for name, part in marks.items() if name != "NOT_DATABASE"]
    every = [mark for part in parts for mark in part]
    assert len(every) == len(set(every)), f"run twice: {sorted(m for m in set(every) if every.count(m) > 1)}"
    assert set(every) == folders, f"never run: {folders - set(every)}"


def test_every_marked_folder_exists():
    assert all((ROOT / "tests" / folder).is_dir() for folder in FOLDER_MARKS)
