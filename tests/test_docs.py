"""The documentation site and README, built without Quarto as `make docs` / `tools/readme.py` do."""
import subprocess, sys
from conftest import ROOT


def test_static_docs_have_rendered_show_doc(tmp_path):
    subprocess.run([sys.executable, 'tools/docs.py', str(tmp_path)], cwd=ROOT, check=True, capture_output=True)
    pages = {p.name for p in tmp_path.glob('*.html')}
    assert {'index.html', '00_core.html'} <= pages
    core = (tmp_path / '00_core.html').read_text()
    assert '<h3>load_image</h3>' in core, 'show_doc of load_image is missing'
    assert 'Open <code>src</code> as an upright RGB image' in core
    assert 'refuse images with more pixels than this' in core, 'the docments parameter table is missing'
    assert 'href="00_core.html"' in (tmp_path / 'index.html').read_text(), 'navigation is missing'
    assert '#| export' not in core


def test_readme_is_generated_from_index():
    r = subprocess.run([sys.executable, 'tools/readme.py', '--check'], cwd=ROOT, capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    assert 'make test' in (ROOT / 'README.md').read_text()
