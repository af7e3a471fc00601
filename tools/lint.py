"""Lint for names: pyflakes' checks (via ruff, rules F) over femverify/, api/, tests/, benchmarks/ and tools/, with star imports resolved.

nbdev modules import their siblings with `from .core import *`, which hides undefined names from pyflakes (it can only
say "may be undefined"). This script resolves each such name against the `__all__` of the modules that file
star-imports, and reports the names that none of them defines, as undefined names. Redefinitions (F811) are reported
too, except where the redefined function is a fastcore `@patch`: a patch binds the method to its class and leaves the
module's name as it was, so `def search(self:SketchIndex)` and `def search(self:Gallery)` don't shadow each other, and
each method is found by grepping its own name (pyproject.toml ignores F811 in those files for plain `ruff check`;
this script lifts that and keeps F811 everywhere but on patches). Exit code 1 on any finding.
Usage: python tools/lint.py
"""
import ast, importlib, json, re, subprocess, sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PATHS = ['femverify', 'api', 'tests', 'benchmarks', 'tools']


def star_names(path: Path) -> set:
    "Names the `from X import *` lines of `path` provide (X's __all__, or its public names)."
    tree, names = ast.parse(path.read_text()), set()
    pkg = '.'.join(path.relative_to(ROOT).with_suffix('').parts[:-1])
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and any(a.name == '*' for a in node.names):
            mod = importlib.import_module(('.' * node.level + (node.module or '')), pkg or None)
            names |= set(getattr(mod, '__all__', [n for n in dir(mod) if not n.startswith('_')]))
    return names


def patched_rows(path: Path) -> set:
    "Line numbers of the `def`s in `path` decorated with fastcore's `@patch` (with or without arguments)."
    name = lambda d: getattr(d.func if isinstance(d, ast.Call) else d, 'id', None)
    return {n.lineno for n in ast.walk(ast.parse(path.read_text())) if isinstance(n, ast.FunctionDef)
            and any(name(d) == 'patch' for d in n.decorator_list)}


def findings() -> list:
    "ruff's F findings, star-import ones kept only where the name is really undefined, patches' F811 dropped."
    r = subprocess.run([sys.executable, '-m', 'ruff', 'check', '--select', 'F', '--config', 'lint.per-file-ignores = {}', '--output-format', 'json', *PATHS], cwd=ROOT, capture_output=True, text=True)
    out, stars = [], {}
    for f in json.loads(r.stdout or '[]'):
        p, code = Path(f['filename']), f['code']
        if code == 'F403' or (code == 'F811' and f['location']['row'] in patched_rows(p)): continue
        if code == 'F405':
            name = re.match(r'`([^`]+)`', f['message']).group(1)
            if name in stars.setdefault(p, star_names(p)): continue
            f['message'] = f'undefined name `{name}` (not defined here nor by any star import)'
        out.append(f"{p.relative_to(ROOT)}:{f['location']['row']}:{f['location']['column']}: {code} {f['message']}")
    return out


if __name__ == '__main__':
    sys.path.insert(0, str(ROOT))
    problems = findings()
    print('\n'.join(problems) or 'lint: no undefined names, unused imports or other pyflakes findings')
    sys.exit(1 if problems else 0)
