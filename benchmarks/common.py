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
    return {f'p{p}': float(np.percentile(np.asarray(xs) * 1000, p)) for p in ps}


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
