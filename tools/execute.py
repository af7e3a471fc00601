"""Run notebooks in full, `#| slow` cells included, and save their outputs (figures on the real data, small tables).

`nbdev_test` never saves anything; this is how the committed figures in nbs/ are made. Cells marked `#| hide`
keep no output. Usage: python tools/execute.py nbs/01_data.ipynb [...]   (then nbdev_clean)
"""
import os, sys
from pathlib import Path
from execnb.nbio import read_nb, write_nb
from execnb.shell import CaptureShell
from nbtext import directives


def execute(path) -> Path:
    "Execute every cell of `path` in its own folder and write the outputs back."
    path = Path(path).resolve(); here = os.getcwd()
    nb = read_nb(path)
    os.chdir(path.parent)
    try: CaptureShell(path.parent, mpl_format='png').run_all(nb, exc_stop=True)  # plain PNG: retina figures quadruple the notebook
    finally: os.chdir(here)
    for c in nb.cells:
        if c.cell_type == 'code' and ('hide' in directives(c.source) or 'export' in directives(c.source)): c.outputs = []
    write_nb(nb, path)
    return path


if __name__ == '__main__':
    for p in sys.argv[1:]: print(execute(p))
