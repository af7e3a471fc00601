"""Build the documentation site without Quarto: one HTML page per notebook, with navigation.

Markdown cells are rendered, visible code cells are highlighted with their committed outputs, and each
exported function or class gets its `show_doc` (signature, docstring, parameter table from docments).
Usage: python tools/docs.py [OUT_DIR]   (default _docs/)
"""
import ast, html, importlib, inspect, re, sys
from pathlib import Path
import mistune
from pygments import highlight
from pygments.formatters import HtmlFormatter
from pygments.lexers import PythonLexer
from fastcore.docments import docments
from nbdev.showdoc import BasicMarkdownRenderer
from nbtext import cells

ROOT = Path(__file__).resolve().parent.parent
md = mistune.create_markdown(plugins=['table', 'strikethrough'], escape=False)
CSS = """body{font-family:system-ui,sans-serif;margin:0;display:flex;color:#222}
nav{width:15rem;min-height:100vh;background:#f6f4f8;padding:1rem;box-sizing:border-box;flex-shrink:0}
nav a{display:block;padding:.25rem 0;color:#5a2a82;text-decoration:none}nav a.here{font-weight:bold}
main{max-width:52rem;padding:1rem 2rem}pre{background:#f7f7f7;padding:.6rem;overflow-x:auto}
.doc{border-left:3px solid #b58ad6;padding-left:1rem;margin:1rem 0}table{border-collapse:collapse}
td,th{border:1px solid #ddd;padding:.2rem .5rem}.out{background:#fff;border-left:3px solid #ccc}img{max-width:100%}"""

def title_of(nb) -> str:
    "The notebook's `# Title`, or its file name."
    for kind, src, _, _ in cells(nb):
        m = kind == 'markdown' and re.search(r'^#\s+(.+)$', src, re.M)
        if m: return m.group(1).strip()
    return nb.stem

def exported_names(src: str) -> list:
    "Public functions and classes an export cell defines, in order."
    tree = ast.parse(src)
    return [n.name for n in tree.body if isinstance(n, (ast.FunctionDef, ast.ClassDef)) and not n.name.startswith('_')]

def show_doc_html(obj) -> str:
    "show_doc of `obj` as HTML: nbdev's markdown (without Quarto's link syntax) plus a parameter table."
    text = re.sub(r'^\[source\]\(.*$', '', BasicMarkdownRenderer(obj)._repr_markdown_(), flags=re.M)
    try: docs = docments(obj, full=True) if callable(obj) else {}
    except (TypeError, ValueError, OSError): docs = {}
    rows = [(k, v) for k, v in docs.items() if k != 'return' and v.get('docment')]
    if rows:
        text += '\n\n| | Type | Default | Details |\n|---|---|---|---|\n' + ''.join(
            f"| **{k}** | {_fmt(v['anno'])} | {_fmt(v['default'])} | {v['docment']} |\n" for k, v in rows)
    return f'<div class="doc">{md(text.replace("---", "", 1))}</div>'

def _fmt(x) -> str:
    "A type or default for the table; empty when there is none."
    if x is inspect.Parameter.empty: return ''
    return '`' + (x.__name__ if isinstance(x, type) else str(x)).replace('|', '\\|') + '`'

def output_html(o: dict) -> str:
    "A committed cell output: image, HTML, or text."
    data = o.get('data', {})
    if 'image/png' in data: return f'<img src="data:image/png;base64,{"".join(data["image/png"])}">'
    if 'text/html' in data: return ''.join(data['text/html'])
    text = ''.join(data.get('text/plain', o.get('text', '')))
    return f'<pre class="out">{html.escape(text)}</pre>' if text else ''

def page(nb, mod) -> str:
    "The body of one notebook's page."
    parts = []
    for kind, src, d, outputs in cells(nb):
        if kind == 'markdown': parts.append(md(src)); continue
        if src.strip(): parts.append(highlight(src, PythonLexer(), HtmlFormatter(nowrap=False)))
        if 'export' in d and mod is not None:
            parts += [show_doc_html(getattr(mod, n)) for n in exported_names(src) if hasattr(mod, n)]
        parts += [output_html(o) for o in outputs]
    return '\n'.join(parts)

def module_of(nb):
    "The femverify module a notebook exports to, if any."
    m = re.search(r'#\|\s*default_exp\s+([\w.]+)', nb.read_text(encoding='utf-8'))
    return importlib.import_module(f'femverify.{m.group(1)}') if m else None

def build(out=ROOT / '_docs') -> list:
    "Write index.html and one page per notebook into `out`; returns the paths."
    out = Path(out); out.mkdir(parents=True, exist_ok=True)
    nbs = sorted((ROOT / 'nbs').glob('*.ipynb'), key=lambda p: (p.stem != 'index', p.stem))
    names = {nb: 'index.html' if nb.stem == 'index' else f'{nb.stem}.html' for nb in nbs}
    titles = {nb: title_of(nb) for nb in nbs}
    written = []
    for nb in nbs:
        nav = ''.join(f'<a href="{names[o]}"{" class=here" if o == nb else ""}>{html.escape(titles[o])}</a>' for o in nbs)
        doc = (f'<!doctype html><html><head><meta charset="utf-8"><title>{html.escape(titles[nb])} – femverify</title>'
               f'<style>{CSS}{HtmlFormatter().get_style_defs(".highlight")}</style></head>'
               f'<body><nav><b>femverify</b>{nav}</nav><main>{page(nb, module_of(nb))}</main></body></html>')
        (out / names[nb]).write_text(doc, encoding='utf-8'); written.append(out / names[nb])
    return written

if __name__ == '__main__':
    for p in build(*(sys.argv[1:2] or [])): print(p)
