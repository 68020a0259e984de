"""docs/equinix-compatibility.md is current (generated from the spec's operations, the SDK's API
classes and Ingot's OpenAPI document), and the README carries its counts."""
from __future__ import annotations

from pathlib import Path

from tests.contract import matrix


def test_compatibility_matrix_is_current():
    table = matrix.rows()
    assert matrix.DOC.read_text() == matrix.render(table), "run: python -m tests.contract.matrix"
    assert sum(r["status"] != "501" for r in table) >= 90
    assert len(table) == 220


def test_readme_has_the_counts():
    readme = (Path(matrix.DOC).parents[1] / "README.md").read_text()
    assert matrix.counts_sentence(matrix.rows()) in readme, "the README's compatibility counts are stale"
