"""Helpers shared by the benchmarks: where the data is, thread pinning, medians, and writing JSON + PNG."""
import json, os, platform, time
from pathlib import Path
import numpy as np

OUT = Path(__file__).resolve().parent / 'results'


def data_dir() -> Path:
    "FEMVERIFY_DATA, or ../shared/data; the benchmarks need the real photos."
    from femverify.core import Config
    d = Config.from_env().data_dir
    if not (d / 'lfw').is_dir(): raise SystemExit(f'benchmark data not found in {d}: set FEMVERIFY_DATA')
    return d


def threads(n: int = 2):
    "Pin torch to `n` threads, as on the 2-core machines."
    import torch
    torch.set_num_threads(n)
    return n


def lfw_photos(n: int, seed: int = 0) -> list:
    "`n` LFW photo paths, a seeded sample."
    files = sorted((data_dir() / 'lfw' / 'images').glob('*/*.jpg'))
    return [files[i] for i in np.random.default_rng(seed).choice(len(files), n, replace=False)]


def percentiles(xs, ps=(50, 90, 95, 99)) -> dict:
    "Percentiles of `xs` in milliseconds (xs in seconds)."
    return {f'p{p}': float(np.percentile(np.asarray(xs) * 1000, p)) if len(xs) else float('nan') for p in ps}


def machine() -> dict:
    import torch
    return dict(python=platform.python_version(), torch=torch.__version__, cpus=os.cpu_count(),
                torch_threads=torch.get_num_threads(), device='cpu', date=time.strftime('%Y-%m-%d %H:%M'))


def save(name: str, result: dict, fig) -> Path:
    "Write results/<name>.json and results/<name>.png."
    OUT.mkdir(exist_ok=True)
    (OUT / f'{name}.json').write_text(json.dumps(dict(result, machine=machine()), indent=1, default=float))
    fig.savefig(OUT / f'{name}.png', dpi=100, bbox_inches='tight')
    return OUT / f'{name}.json'


def two_megapixel(photo, size=(1920, 1080)):
    "A >= 2 MP phone-like photo from an LFW photo: the face enlarged 4x in the middle of a blurred backdrop."
    from PIL import Image, ImageFilter
    bg = photo.resize(size).filter(ImageFilter.GaussianBlur(12))
    face = photo.resize((photo.width * 4, photo.height * 4), Image.BICUBIC)
    bg.paste(face, ((size[0] - face.width) // 2, (size[1] - face.height) // 2))
    return bg


def jpeg_bytes(im, quality=90) -> bytes:
    import io
    b = io.BytesIO(); im.save(b, 'JPEG', quality=quality); return b.getvalue()


def http(url, method='GET', fields=None, files=None, headers=None, timeout=120):
    "One HTTP request with an optional multipart body; returns (status, JSON body, seconds)."
    import json as _json, urllib.error, urllib.request
    boundary, body = 'femverify-bench-boundary', b''
    for k, v in (fields or {}).items(): body += f'--{boundary}\r\nContent-Disposition: form-data; name="{k}"\r\n\r\n{v}\r\n'.encode()
    for k, data in (files or []): body += f'--{boundary}\r\nContent-Disposition: form-data; name="{k}"; filename="p.jpg"\r\nContent-Type: image/jpeg\r\n\r\n'.encode() + data + b'\r\n'
    if body: body += f'--{boundary}--\r\n'.encode()
    h = dict({'X-Requested-With': 'femverify-benchmark'}, **(headers or {}), **({'Content-Type': f'multipart/form-data; boundary={boundary}'} if body else {}))
    req = urllib.request.Request(url, data=body or None, method=method, headers=h)
    t = time.perf_counter()
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r: return r.status, _json.load(r), time.perf_counter() - t
    except urllib.error.HTTPError as e: return e.code, _json.load(e), time.perf_counter() - t


class Server:
    "gunicorn serving the API on a free loopback port, with `env` added; a context manager."
    def __init__(self, env: dict, workers: int = 2, threads: int = 0):  # threads > 0: gunicorn's gthread workers, as `make serve`
        import socket
        with socket.socket() as s: s.bind(('127.0.0.1', 0)); self.port = s.getsockname()[1]
        self.env, self.workers, self.threads, self.url = env, workers, threads, f'http://127.0.0.1:{self.port}/api/v1'

    def __enter__(self):
        import subprocess, sys
        root = Path(__file__).resolve().parent.parent
        gthread = ['--worker-class', 'gthread', '--threads', str(self.threads)] if self.threads else []
        self.proc = subprocess.Popen([str(Path(sys.executable).parent / 'gunicorn'), '--workers', str(self.workers), '--timeout', '300', *gthread,
                                      '--bind', f'127.0.0.1:{self.port}', 'api:create_app()'], cwd=root,
                                     env=dict(os.environ, **self._key(), **self.env), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
        deadline = time.time() + 120
        while time.time() < deadline:
            try:
                if http(self.url + '/health')[0] == 200: return self
            except OSError: time.sleep(0.5)
        raise RuntimeError('gunicorn did not start')

    @staticmethod
    def _key() -> dict:
        "A throwaway template key for the throwaway store, unless the environment names one."
        from femverify.store import new_key
        return {} if os.environ.get('FEMVERIFY_TEMPLATE_KEY') or os.environ.get('FEMVERIFY_TEMPLATE_KEY_FILE') else dict(FEMVERIFY_TEMPLATE_KEY=new_key())

    def rss_mb(self) -> float:
        "Resident memory of the gunicorn master and its workers, MB."
        return sum(self.rss_each().values())

    def rss_each(self) -> dict:
        "Resident memory of each process, MB: {'master': …, 'worker 1': …, …}."
        import subprocess
        pids = [self.proc.pid] + [int(p) for p in subprocess.run(['pgrep', '-P', str(self.proc.pid)], capture_output=True, text=True).stdout.split()]
        out = {}
        for i, pid in enumerate(pids):
            try: out['master' if i == 0 else f'worker {i}'] = int(next(l for l in open(f'/proc/{pid}/status') if l.startswith('VmRSS')).split()[1]) / 1024
            except (OSError, StopIteration): pass
        return out

    def __exit__(self, *exc):
        import signal
        os.killpg(self.proc.pid, signal.SIGTERM); self.proc.wait(timeout=60)
