"""`femverify train` under `torchrun --nproc_per_node 2` on the CPU (gloo): DistributedDataParallel, rank 0 writes.

A process-level test, so it lives here: two real processes train a few steps on toy photos the test makes; exactly one
checkpoint (and one history) comes out, it records two processes, and it loads. Then a resumed run continues it.
"""
import json, subprocess, sys
from pathlib import Path
import torch
from femverify.train import _toy_coco
from femverify.detect import load_detector

TORCHRUN = str(Path(sys.executable).parent / 'torchrun')


def train(toy, out, *extra):
    cmd = [TORCHRUN, '--standalone', '--nproc_per_node', '2', str(Path(sys.executable).parent / 'femverify'), 'train', str(toy), '--out', str(out), '--device', 'cpu',
           '--workers', '0', '--batch-size', '2', '--min-size', '96', '--max-size', '128', '--random-init', '--recipe', 'torchvision', *extra]
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stderr[-3000:]
    return r


def test_two_gloo_processes_one_checkpoint(tmp_path):
    toy = _toy_coco(tmp_path, n=12)
    coco = json.loads(toy.read_text())
    for im in coco['images']: im['split'] = 'train' if im['id'] <= 8 else 'val'
    toy.write_text(json.dumps(coco))
    train(toy, tmp_path / 'run', '--epochs', '2')
    files = sorted(p.name for p in (tmp_path / 'run').iterdir())
    assert files == ['curves.png', 'history.json', 'model.pt'], files
    ck = torch.load(tmp_path / 'run' / 'model.pt', map_location='cpu', weights_only=False)
    assert ck['config']['processes'] == 2 and ck['epoch'] == 1 and len(ck['metrics']) == 2
    assert ck['metrics'][0]['steps'] == 2  # 8 photos, 2 processes, batch 2: each process takes 2 steps an epoch
    assert load_detector(tmp_path / 'run' / 'model.pt').meta['config']['processes'] == 2
    train(toy, tmp_path / 'run', '--epochs', '3', '--resume', str(tmp_path / 'run' / 'model.pt'))
    assert len(json.loads((tmp_path / 'run' / 'history.json').read_text())) == 3
