"""How the notebooks read as pages: per notebook, code cells, cells that show an output, figures, `;`-joined lines,
and saved outputs that hold a machine's paths.

`--check` fails (exit 1) when a saved output holds an absolute path of the machine that ran it (a home folder, a
virtual environment, the checkout), which `make test` runs. `--rev REV` counts the notebooks as committed at REV.
Usage: python tools/nbstats.py [--check] [--rev REV] [--json]
"""
import argparse, io, json, re, subprocess, sys, tokenize
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# absolute paths of a machine: a home folder, a checkout or venv under it, the system's Python, pytest's temp folders
MACHINE = re.compile(r'(/root/|/home/\w+|/Users/\w+|/work/\w+/|\.venv/|/usr/(?:local/)?lib/python3|/tmp/pytest-of-)')


def joined_lines(src: str) -> int:
    "Lines of `src` holding a `;` that joins two statements (not one inside a string)."
    src = '\n'.join(l for l in src.splitlines() if not l.lstrip().startswith(('%', '!')))  # magics aren't Python
    try: toks = list(tokenize.generate_tokens(io.StringIO(src).readline))
    except (tokenize.TokenError, IndentationError, SyntaxError): return 0
    return len({t.start[0] for t in toks if t.type == tokenize.OP and t.string == ';'})


def output_text(o: dict) -> str:
    "The text of one saved output (stream, result, error), images left out."
    if o.get('output_type') == 'stream': return ''.join(o.get('text', ''))
    if o.get('output_type') == 'error': return '\n'.join(o.get('traceback', []))
    d = o.get('data', {})
    return ''.join(''.join(v) if isinstance(v, list) else str(v) for k, v in d.items() if not k.startswith('image/'))


def stats(nb: dict) -> dict:
    "The counts of one notebook."
    code = [c for c in nb['cells'] if c['cell_type'] == 'code']
    src = lambda c: ''.join(c['source'])
    shown = [c for c in code if c.get('outputs')]
    figs = sum(1 for c in code for o in c.get('outputs', []) if 'image/png' in o.get('data', {}) or 'image/svg+xml' in o.get('data', {}))
    paths = sorted({m.group(0) for c in code for o in c.get('outputs', []) for m in MACHINE.finditer(output_text(o))})
    return dict(code_cells=len(code), exported=sum('#| export' in src(c) for c in code), with_output=len(shown),
                figures=figs, joined_lines=sum(joined_lines(src(c)) for c in code), machine_paths=paths)


def notebooks(rev: str = None) -> dict:
    "{name: notebook} from the working tree, or as committed at `rev`."
    if rev is None: return {p.stem: json.loads(p.read_text()) for p in sorted((ROOT / 'nbs').glob('*.ipynb'))}
    names = subprocess.run(['git', 'ls-tree', '--name-only', rev, 'nbs/'], cwd=ROOT, capture_output=True, text=True).stdout.split()
    return {Path(n).stem: json.loads(subprocess.run(['git', 'show', f'{rev}:{n}'], cwd=ROOT, capture_output=True, text=True).stdout)
            for n in sorted(names) if n.endswith('.ipynb')}


def main(check=False, rev=None, as_json=False) -> int:
    table = {n: stats(nb) for n, nb in notebooks(rev).items()}
    if as_json: print(json.dumps(table, indent=1))
    else:
        print(f"{'notebook':16s} {'code':>5s} {'export':>6s} {'output':>6s} {'figures':>7s} {'; lines':>7s}  machine paths")
        for n, s in table.items():
            print(f"{n:16s} {s['code_cells']:5d} {s['exported']:6d} {s['with_output']:6d} {s['figures']:7d} {s['joined_lines']:7d}  "
                  + (', '.join(s['machine_paths']) or '-'))
    bad = {n: s['machine_paths'] for n, s in table.items() if s['machine_paths']}
    if check and bad:
        print(f'saved outputs hold machine paths: {bad} (strip them: tools/execute.py does)', file=sys.stderr)
        return 1
    return 0


if __name__ == '__main__':
    a = argparse.ArgumentParser(); a.add_argument('--check', action='store_true'); a.add_argument('--rev')
    a.add_argument('--json', action='store_true', dest='as_json')
    sys.exit(main(**vars(a.parse_args())))
