"""Every notebook runs top to bottom on the small sample and draws every figure it promises."""

from __future__ import annotations

from pathlib import Path

import pytest

from tools.notebooks import NOTEBOOKS, execute, images, plot_cells

PATHS = sorted(NOTEBOOKS.glob("*.ipynb"))


@pytest.mark.notebook
@pytest.mark.slow
@pytest.mark.parametrize("path", PATHS, ids=[p.stem for p in PATHS])
def test_notebook_runs_and_draws_every_figure(path: Path) -> None:
    notebook = execute(path)  # a failing cell raises CellExecutionError naming the cell and the error
    plots = plot_cells(notebook)
    assert plots, f"{path.name} has no cell tagged 'plot'"
    blank = [number for number, cell in plots if not images(cell)]
    assert blank == [], f"{path.name}: plot cells {blank} drew no figure"
