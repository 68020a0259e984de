"""``make test``'s parts: every marked folder runs in exactly one of the parts that are not the database's."""
from pathlib import Path

from tests.support.marks import FOLDER_MARKS, makefile_marks

ROOT = Path(__file__).resolve().parents[1]


def test_every_folder_mark_runs_once_outside_the_database_parts():
    marks = makefile_marks(ROOT / "Makefile")
    folders = set(FOLDER_MARKS.values())
    assert marks["NOT_DATABASE"] == folders, "NOT_DATABASE must name exactly the folder marks"
    machines, clients = marks["test-machines"], marks["test-clients"]
    assert not machines & clients, f"run twice: {machines & clients}"
    assert machines | clients == folders, f"never run: {folders - machines - clients}"


def test_every_marked_folder_exists():
    assert all((ROOT / "tests" / folder).is_dir() for folder in FOLDER_MARKS)
