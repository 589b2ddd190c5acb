"""The committed notebooks read on a code host without being run: executed, with their figures, and
written for a reader rather than for the tracker."""

from __future__ import annotations

import re
from pathlib import Path

import nbformat
import pytest

from tools.notebooks import NOTEBOOKS, images, plot_cells

PATHS = sorted(NOTEBOOKS.glob("*.ipynb"))


@pytest.mark.parametrize("path", PATHS, ids=[p.stem for p in PATHS])
def test_a_committed_notebook_holds_its_outputs_and_figures(path: Path) -> None:
    notebook = nbformat.read(path, as_version=4)
    code = [(number, cell) for number, cell in enumerate(notebook.cells, start=1) if cell.cell_type == "code"]
    unrun = [number for number, cell in code if cell.execution_count is None]
    assert unrun == [], f"{path.name}: cells {unrun} were never run; run `make notebooks`"
    plots = plot_cells(notebook)
    assert plots, f"{path.name} has no cell tagged 'plot'"
    assert [number for number, cell in plots if not images(cell)] == []
    errors = [number for number, cell in code for out in cell.outputs if out.output_type == "error"]
    assert errors == []


@pytest.mark.parametrize("path", PATHS, ids=[p.stem for p in PATHS])
def test_a_notebook_names_no_tracker_issue(path: Path) -> None:
    text = "\n".join(cell.source for cell in nbformat.read(path, as_version=4).cells)
    assert not re.search(r"\bissues?\s*#?\d+", text, flags=re.IGNORECASE)
