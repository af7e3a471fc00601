"""Build the documentation site where Quarto is missing: nbdev's own notebook processing, rendered by MkDocs.

1. `nbdev.serve.proc_nbs` runs exactly the processors that `nbdev_docs` runs before Quarto (into `_proc/`): export
   cells lose their source, each exported name gets its `show_doc` (patched methods as `Class.method`), hidden cells go,
   backticked names become links.
2. What Quarto would do with the result, done here: the front matter becomes the page's title and summary,
   `#| echo: false` cells show only their output, Quarto's link attributes and tqdm's carriage returns are cleaned,
   links to the site become relative, and pages get Quarto's names (`06_store.ipynb` → `store.html`).
3. MkDocs with the Material theme and mkdocs-jupyter renders the notebooks (search, a table of contents per page), and
   `tools/mkdocs_hooks.py` adds Quarto's lower-case heading anchors, which the `_modidx.py` doc links point to.

Why MkDocs and not Sphinx: mkdocs-jupyter renders committed notebooks, outputs included, with no execution and no
reStructuredText layer, and Material brings client-side search and a per-page table of contents with no server;
myst-nb would need a Sphinx project around the same notebooks. Where Quarto exists, `make docs` runs `nbdev_docs`.

Usage: python tools/docs.py [OUT_DIR]   (default _docs/)
"""
import json, re, shutil, subprocess, sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SRC = ROOT / '_proc' / 'mkdocs'


def settings() -> dict:
    import configparser
    c = configparser.ConfigParser(); c.read(ROOT / 'settings.ini')
    return dict(c['DEFAULT'])


def page_name(nb: Path) -> str:
    "The page name nbdev gives a notebook (and writes into `_modidx.py`'s doc links): `06b_search.ipynb` → `search`."
    from nbdev.doclinks import _nbpath2html
    return _nbpath2html(Path(nb.name)).stem


def collapse_cr(text: str) -> str:
    "Terminal output as it finally looked: for each line, what followed its last carriage return (tqdm's bars)."
    return '\n'.join(l.rsplit('\r', 1)[-1] for l in text.split('\n'))


def front_matter(src: str) -> dict:
    import yaml
    m = re.match(r'^---\n(.*?)\n---', src, re.S)
    return (yaml.safe_load(m.group(1)) or {}) if m else {}


def clean_markdown(text: str, site: str) -> str:
    "Quarto-only syntax out, links to the published site made relative."
    text = re.sub(r'\[source\]\(([^)]*)\)\{[^}]*\}', r'<a class="source-link" href="\1">source</a>', text)
    text = text.replace(site.rstrip('/') + '/', '')
    # nbdev links every backticked name in _modidx.py, private ones too, but only public names are documented
    text = re.sub(r'\[(`[^`\]]*`)\]\((?:[\w.-]*\.html)?#_[\w.]*\)', r'\1', text)
    return text


def clean(nb: dict, site: str) -> dict:
    "A processed notebook, made ready for mkdocs-jupyter."
    cells = []
    for c in nb['cells']:
        src = ''.join(c['source']) if isinstance(c['source'], list) else c['source']
        if c['cell_type'] == 'raw':
            fm = front_matter(src)
            if fm.get('title'):
                cells.append(dict(cell_type='markdown', metadata={}, source=f"# {fm['title']}\n\n> {fm.get('description', '')}\n"))
            continue
        if c['cell_type'] == 'markdown':
            if src.startswith('<!-- WARNING'): continue
            c['source'] = clean_markdown(src, site)
        else:
            d = re.findall(r'^#\|\s*(.*)$', src, re.M)
            c['source'] = '\n'.join(l for l in src.splitlines() if not l.startswith('#|')).strip('\n')
            tags = set(c['metadata'].get('tags', []))
            if any(x.replace(' ', '') in ('echo:false', 'output:asis') for x in d) or not c['source']: tags.add('hide-input')
            c['metadata']['tags'] = sorted(tags)
            for o in c.get('outputs', []):
                if o.get('output_type') == 'stream': o['text'] = collapse_cr(''.join(o['text']))
                for k in ('text/markdown', 'text/plain'):
                    if k in o.get('data', {}):
                        v = ''.join(o['data'][k]); o['data'][k] = clean_markdown(v, site) if k == 'text/markdown' else v
        cells.append(c)
    nb['cells'] = cells
    return nb


def title(nb: dict, fallback: str) -> str:
    for c in nb['cells']:
        m = c['cell_type'] == 'markdown' and re.match(r'#\s+(.+)', ''.join(c['source']))
        if m: return m.group(1).strip()
    return fallback


def _cell(x) -> str:
    "A type, default or text for the parameter table (empty when missing)."
    import inspect
    if x is inspect.Parameter.empty or x is None or x is type(None): return ''
    return str(x.__name__ if isinstance(x, type) else x).replace('|', '\\|').replace('\n', ' ')


def show_doc_markdown(self) -> str:
    "`show_doc` as nbdev rendered it for Quarto before 2.4: source link, heading, signature, docstring and a parameter table."
    import inspect
    from fastcore.docments import docments
    from nbdev.doclinks import NbdevLookup
    empty, doc = inspect.Parameter.empty, '---\n\n'
    if src := NbdevLookup().code(self.fn): doc += f'[source]({src}){{target="_blank" style="float:right; font-size:smaller"}}\n\n'
    doc += f"{'#' * self.title_level} {self.nm.replace('_', chr(92) + '_')}\n\n"  # `__call__`, not bold "call"
    params = [p for p in (self.sig.parameters.values() if self.sig else []) if p.name != 'self']
    if self.sig is not None:
        sig = str(self.sig.replace(parameters=params)).replace('NoneType', 'None')
        doc += f"```python\n{self.nm}{sig}\n```\n\n"
    if self.docs: doc += f'*{self.docs}*\n\n'
    try: dm = docments(self.sym, full=True, returns=True) if params else {}
    except (TypeError, ValueError, OSError): dm = {}
    if params:
        doc += '| | **Type** | **Default** | **Details** |\n|---|---|---|---|\n'
        for p in params:
            d = dm.get(p.name, {})
            anno, default = d.get('anno', p.annotation), d.get('default', p.default)
            dflt = '' if default is empty else f'`{_cell(repr(default))}`'
            doc += f"| **{p.name}** | {f'`{_cell(anno)}`' if _cell(anno) else ''} | {dflt} | {_cell(d.get('docment'))} |\n"
        ret = dm.get('return', {})
        rt = f"`{_cell(ret.get('anno', empty))}`" if _cell(ret.get('anno', empty)) else ''
        if ret.get('docment') or rt:
            doc += f"| **Returns** | {rt} | | {_cell(ret.get('docment'))} |\n"
    return doc


def build(out=ROOT / '_docs') -> Path:
    "Process the notebooks with nbdev, then render them with MkDocs into `out`."
    from nbdev.serve import proc_nbs
    import nbdev.showdoc
    nbdev.showdoc.BasicMarkdownRenderer._repr_markdown_ = show_doc_markdown  # the notebooks' show_doc runs in this process (n_workers=0)
    s = settings(); site = s['doc_host'].rstrip('/') + s['doc_baseurl']
    proc = proc_nbs(str(ROOT / 'nbs'), n_workers=0, force=True)
    if SRC.exists(): shutil.rmtree(SRC)
    SRC.mkdir(parents=True)
    nav = []
    for nb in sorted(Path(proc).glob('*.ipynb'), key=lambda p: (p.stem != 'index', p.stem)):
        name = page_name(nb)
        data = clean(json.loads(nb.read_text(encoding='utf-8')), site)
        (SRC / f'{name}.ipynb').write_text(json.dumps(data, indent=1), encoding='utf-8')
        nav.append({title(data, name) if name != 'index' else 'femverify': f'{name}.ipynb'})
    # no In [ ]/Out[0] prompts: mkdocs-jupyter's own rule (.jupyter-wrapper .jp-CodeCell … .jp-InputPrompt) is more specific
    (SRC / 'femverify.css').write_text('.jupyter-wrapper .jp-InputPrompt, .jupyter-wrapper .jp-OutputPrompt {display: none !important}\n')
    cfg = dict(site_name='femverify', site_url=site.rstrip('/') + '/', extra_css=['femverify.css'], site_description=s.get('description', ''), docs_dir=str(SRC), site_dir=str(Path(out).resolve()),
               use_directory_urls=False, nav=nav,  # no repo_url: the theme would call GitHub's API from every page
               theme=dict(name='material', font=False, features=['navigation.sections', 'search.highlight', 'toc.follow', 'content.code.copy'],
                          palette=dict(primary='deep purple')),
               plugins=['search', {'mkdocs-jupyter': dict(execute=False, include_source=False, ignore_h1_titles=True,
                                                          remove_tag_config=dict(remove_input_tags=['hide-input']), toc_depth=3)}],
               hooks=[str(ROOT / 'tools' / 'mkdocs_hooks.py')], markdown_extensions=['toc', 'tables', 'attr_list'])
    (ROOT / '_proc' / 'mkdocs.yml').write_text(json.dumps(cfg, indent=1))  # JSON is YAML
    r = subprocess.run([sys.executable, '-m', 'mkdocs', 'build', '--quiet', '-f', str(ROOT / '_proc' / 'mkdocs.yml')], capture_output=True, text=True)
    if r.returncode: raise SystemExit(f'mkdocs failed:\n{r.stderr[-3000:]}')
    return Path(out) / 'index.html'


if __name__ == '__main__':
    print('wrote', build(*(sys.argv[1:2] or [])))
