"""Shared helpers for the README and docs builders: read notebooks, drop hidden cells, strip nbdev directives."""
import json, re
from pathlib import Path

DIRECTIVE = re.compile(r'^\s*#\|\s*(\S+)(.*)$')

def directives(src: str) -> dict:
    "The `#| name args` lines of a cell, as {name: args}."
    return {m.group(1): m.group(2).strip() for m in map(DIRECTIVE.match, src.splitlines()) if m}

def strip_directives(src: str) -> str:
    "The cell's source without its `#|` lines."
    return '\n'.join(l for l in src.splitlines() if not DIRECTIVE.match(l)).strip('\n')

def cells(nb_path) -> list:
    "(kind, source, directives, outputs) for each cell that is not `#| hide`."
    nb = json.loads(Path(nb_path).read_text(encoding='utf-8'))
    out = []
    for c in nb['cells']:
        src = ''.join(c['source'])
        d = directives(src) if c['cell_type'] == 'code' else {}
        if 'hide' in d or 'default_exp' in d: continue
        out.append((c['cell_type'], strip_directives(src) if c['cell_type'] == 'code' else src, d, c.get('outputs', [])))
    return out
