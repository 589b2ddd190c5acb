"""Execute the notebooks the one way ``make notebooks`` and the test suite both use.

``python -m tools.notebooks`` re-executes every notebook in place, keeping its outputs and figures so it
reads on a code host without being run. Volatile metadata (execution timestamps, the interpreter's patch
version) is dropped, so a re-run on unchanged code changes nothing but what the code now computes.

A cell that draws a figure is tagged ``plot`` (cell metadata ``"tags": ["plot"]``); the notebook test
checks that each such cell produced an image.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import nbformat
from nbclient import NotebookClient
from nbformat import NotebookNode

NOTEBOOKS = Path(__file__).resolve().parent.parent / "notebooks"
PLOT_TAG = "plot"
TIMEOUT_SECONDS = 600


def execute(path: Path) -> NotebookNode:
    """Run every cell top to bottom in a fresh kernel; a failing cell raises ``CellExecutionError``."""
    notebook = nbformat.read(path, as_version=4)
    client = NotebookClient(
        notebook,
        timeout=TIMEOUT_SECONDS,
        kernel_name="python3",
        record_timing=False,
        resources={"metadata": {"path": str(path.parent)}},
    )
    env = {
        **os.environ,
        "PYTHONHASHSEED": "0",  # hash-based orders stay the same from run to run
        # Figures come out as image/png outputs even where MPLBACKEND says otherwise (e.g. Agg).
        "MPLBACKEND": "module://matplotlib_inline.backend_inline",
    }
    client.execute(env=env)
    return notebook


def plot_cells(notebook: NotebookNode) -> list[tuple[int, NotebookNode]]:
    """The cells tagged as drawing a figure, with their position (from 1, as a reader counts)."""
    return [
        (number, cell)
        for number, cell in enumerate(notebook.cells, start=1)
        if PLOT_TAG in cell.get("metadata", {}).get("tags", [])
    ]


def images(cell: NotebookNode) -> list[str]:
    """The PNG figures a code cell displayed."""
    return [out["data"]["image/png"] for out in cell.get("outputs", []) if "image/png" in out.get("data", {})]


def strip_volatile(notebook: NotebookNode) -> NotebookNode:
    notebook.metadata.pop("widgets", None)
    notebook.metadata["language_info"] = {"name": "python"}
    for cell in notebook.cells:
        cell.metadata.pop("execution", None)
        cell.metadata.pop("ExecuteTime", None)
    return notebook


def main() -> None:
    paths = [Path(arg) for arg in sys.argv[1:]] or sorted(NOTEBOOKS.glob("*.ipynb"))
    for path in paths:
        print(f"executing {path}", flush=True)
        nbformat.write(strip_volatile(execute(path)), path)


if __name__ == "__main__":
    main()
