"""The package's modules form layers: no import circle between them, at module level or inside functions."""
import ast
from conftest import ROOT


def imports_of(path, modules) -> set:
    "The femverify modules that the module at `path` imports anywhere (relative or absolute)."
    deps = set()
    for n in ast.walk(ast.parse(path.read_text())):
        if isinstance(n, ast.ImportFrom) and n.level == 1:
            deps |= {n.module.split('.')[0]} if n.module else {a.name for a in n.names}
        elif isinstance(n, ast.ImportFrom) and (n.module or '').startswith('femverify'):
            deps |= {n.module.split('.')[1]} if '.' in n.module else {a.name for a in n.names}
        elif isinstance(n, ast.Import):
            deps |= {a.name.split('.')[1] for a in n.names if a.name.startswith('femverify.')}
    return {d for d in deps if d in modules and d != path.stem}


def test_no_import_circle():
    files = {p.stem: p for p in (ROOT / 'femverify').glob('*.py') if not p.stem.startswith('_')}
    graph = {m: imports_of(p, files) for m, p in files.items()}
    assert graph['dlibnet'] == {'core'}  # the face network sits below the embedders
    done, path = set(), []
    def visit(m):
        assert m not in path, 'import circle: ' + ' -> '.join(path[path.index(m):] + [m])
        if m in done: return
        path.append(m)
        for d in sorted(graph[m]): visit(d)
        path.pop(); done.add(m)
    for m in sorted(graph): visit(m)
