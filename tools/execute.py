"""Run notebooks in full, `#| slow` cells included, and save their outputs (figures on the real data, small tables).

`nbdev_test` never saves anything; this is how the committed figures in nbs/ are made. Cells marked `#| hide`
keep no output. The checkout's path and the home folder are taken out of the saved outputs (a reader's machine has
others; `tools/nbstats.py --check` fails on any left). Usage: python tools/execute.py nbs/01_data.ipynb [...]
(then nbdev_clean). `--skip-slow` runs what nbdev_test runs and keeps the saved outputs of the slow cells.
"""
import os, site, sys
from pathlib import Path
from execnb.nbio import read_nb, write_nb
from execnb.shell import CaptureShell
from nbtext import directives


ROOT = Path(__file__).resolve().parent.parent
PATHS = (*((d, '…/site-packages') for d in site.getsitepackages()),  # installed packages' files: where pip put them
         (str(ROOT) + '/', ''), (str(ROOT), '.'), (os.path.expanduser('~') + '/', '~/'))


def _sub(t: str) -> str:
    "`t` with this machine's paths (the checkout's, the home folder's) taken out."
    for a, b in PATHS: t = t.replace(a, b)
    return t


def _strip(o):
    "The output `o` without this machine's paths, in place."
    if 'text' in o: o['text'] = _sub(''.join(o['text']) if isinstance(o['text'], list) else o['text'])
    for k, v in o.get('data', {}).items():
        if not k.startswith('image/') and isinstance(v, (str, list)): o['data'][k] = _sub(''.join(v) if isinstance(v, list) else v)


def execute(path, skip_slow:bool=False) -> Path:
    "Execute every cell of `path` in its own folder and write the outputs back (`skip_slow`: slow cells keep theirs)."
    path = Path(path).resolve(); here = os.getcwd()
    nb = read_nb(path)
    os.chdir(path.parent)
    slow = [c for c in nb.cells if c.cell_type == 'code' and 'slow' in directives(c.source)] if skip_slow else []
    kept = [(c, c.source, c.get('outputs', [])) for c in slow]
    for c in slow: c.source = ''  # not run: the cells on the real data (minutes to hours)
    try: CaptureShell(path.parent, mpl_format='png').run_all(nb, exc_stop=True)  # plain PNG: retina figures quadruple the notebook
    finally:
        os.chdir(here)
        for c, src, outs in kept: c.source, c.outputs = src, outs
    for c in nb.cells:
        if c.cell_type == 'code' and ('hide' in directives(c.source) or 'export' in directives(c.source)): c.outputs = []
        for o in c.get('outputs', []) if c.cell_type == 'code' else []: _strip(o)
    write_nb(nb, path)
    return path


if __name__ == '__main__':
    skip = '--skip-slow' in sys.argv
    for p in sys.argv[1:]:
        if p != '--skip-slow': print(execute(p, skip))
