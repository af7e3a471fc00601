"""Generate README.md from nbs/index.ipynb without Quarto; `--check` fails when they disagree.

Usage: python tools/readme.py [--check]
"""
import sys
from pathlib import Path
from nbtext import cells

ROOT = Path(__file__).resolve().parent.parent
NOTICE = '<!-- generated from nbs/index.ipynb by tools/readme.py: edit the notebook, not this file -->\n\n'

def render(nb=ROOT / 'nbs' / 'index.ipynb') -> str:
    "README text: markdown cells as they are, visible code cells as python blocks."
    parts = [src.strip() if kind == 'markdown' else f'```python\n{src.strip()}\n```' for kind, src, _, _ in cells(nb) if src.strip()]
    return NOTICE + '\n\n'.join(parts) + '\n'

def main(argv=sys.argv[1:]) -> int:
    text, dst = render(), ROOT / 'README.md'
    if '--check' in argv:
        if dst.read_text(encoding='utf-8') != text:
            print('README.md is out of date with nbs/index.ipynb: run `python tools/readme.py`', file=sys.stderr)
            return 1
        return 0
    dst.write_text(text, encoding='utf-8')
    return 0

if __name__ == '__main__': sys.exit(main())
