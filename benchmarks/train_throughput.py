"""Where a CPU training step of the Faster R-CNN spends its time, and what each speed-up buys in images/s.

Each recipe in RECIPES adds one change to the one before; every recipe trains from the same random init on the same
batches of real UTKFace + LFW training photos (batch 8, 2 threads), and the median step time over steps 3..N is
reported. A torch.profiler run of the first and last recipe splits a step into backbone, RPN, RoI heads, losses and
data. Writes results/train_throughput.json and .png; asserts nothing.
Usage: python benchmarks/train_throughput.py [--steps 10]
"""
import argparse, time, warnings
import numpy as np
import torch
from femverify.annotate import merge_coco
from femverify.train import FaceDataset, Composites, get_transforms, collate
from femverify.detect import get_detector
from common import save, threads
from train_detector import ANN

RECIPES = [  # name, get_detector kwargs, channels_last, bf16 autocast
    ('torchvision defaults', {}, False, False),
    ('100 RPN proposals kept, 64 RoIs/image', dict(rpn_post_nms_top_n_train=100, box_batch_size_per_image=64), False, False),
    ('+ 256-wide box head', dict(rpn_post_nms_top_n_train=100, box_batch_size_per_image=64, head=256), False, False),
    ('+ RoIAlign sampling ratio 1', dict(rpn_post_nms_top_n_train=100, box_batch_size_per_image=64, head=256, sampling_ratio=1), False, False),
    ('+ input scale 224 (320 before)', dict(rpn_post_nms_top_n_train=100, box_batch_size_per_image=64, head=256, sampling_ratio=1, min_size=224, max_size=448), False, False),
    ('+ channels-last', dict(rpn_post_nms_top_n_train=100, box_batch_size_per_image=64, head=256, sampling_ratio=1, min_size=224, max_size=448), True, False),
    ('+ bf16 autocast', dict(rpn_post_nms_top_n_train=100, box_batch_size_per_image=64, head=256, sampling_ratio=1, min_size=224, max_size=448), True, True),
]


def batches(n_steps, bs=8, seed=0):
    ds = Composites(FaceDataset(merge_coco(ANN), split='train', transforms=get_transforms(True)), p=0.2)
    torch.manual_seed(seed); idx = torch.randperm(len(ds))[:n_steps * bs].tolist()
    t = time.perf_counter(); b = [collate([ds[i] for i in idx[k:k + bs]]) for k in range(0, len(idx), bs)]
    return b, (time.perf_counter() - t) / len(idx)


def step_times(kw, cl, bf16, data, n_warm=2):
    torch.manual_seed(0)
    with warnings.catch_warnings(): warnings.simplefilter('ignore'); m = get_detector(pretrained=False, **kw).train()
    if cl: m = m.to(memory_format=torch.channels_last)
    opt = torch.optim.SGD(m.parameters(), lr=0.01, momentum=0.9)
    ts = []
    for imgs, targets in data:
        t = time.perf_counter()
        with torch.autocast('cpu', dtype=torch.bfloat16, enabled=bf16): loss = sum(m(list(imgs), list(targets)).values())
        opt.zero_grad(); loss.backward(); opt.step(); ts.append(time.perf_counter() - t)
    return ts[n_warm:], sum(p.numel() for p in m.parameters())


def profile(kw, cl, data):
    "Self CPU time by part of the model over 3 steps (torch.profiler with record_function on each part)."
    from torch.profiler import profile as prof, ProfilerActivity
    torch.manual_seed(0)
    with warnings.catch_warnings(): warnings.simplefilter('ignore'); m = get_detector(pretrained=False, **kw).train()
    if cl: m = m.to(memory_format=torch.channels_last)
    parts = dict(transform=m.transform, backbone=m.backbone, rpn=m.rpn, roi_heads=m.roi_heads)
    hooks, opt = [], torch.optim.SGD(m.parameters(), lr=0.01)
    for imgs, targets in data[:2]: sum(m(list(imgs), list(targets)).values()).backward()
    fwd = {k: 0.0 for k in parts}
    for k, mod in parts.items():
        hooks.append(mod.register_forward_pre_hook(lambda mod, i, k=k: fwd.__setitem__(k + '_t0', time.perf_counter())))
        hooks.append(mod.register_forward_hook(lambda mod, i, o, k=k: fwd.__setitem__(k, fwd[k] + time.perf_counter() - fwd[k + '_t0'])))
    bwd = 0.0; t_all = time.perf_counter()
    with prof(activities=[ProfilerActivity.CPU]) as p:
        for imgs, targets in data[2:5]:
            loss = sum(m(list(imgs), list(targets)).values()); t = time.perf_counter(); opt.zero_grad(); loss.backward(); opt.step(); bwd += time.perf_counter() - t
    for h in hooks: h.remove()
    total = time.perf_counter() - t_all
    ops = sorted(((e.key, e.self_cpu_time_total / 1e6) for e in p.key_averages()), key=lambda x: -x[1])[:12]
    return dict(seconds_per_step=total / 3, forward={k: fwd[k] / 3 for k in parts}, backward_and_step=bwd / 3,
                top_ops_self_seconds_per_step={k: v / 3 for k, v in ops})


def main(steps=10):
    threads(2)
    data, decode_s = batches(steps)
    res = dict(batch_size=8, steps_timed=steps - 2, data_seconds_per_image=decode_s, weights='random init (speed does not depend on it)', recipes=[])
    for name, kw, cl, bf16 in RECIPES:
        ts, n_par = step_times(kw, cl, bf16, data)
        res['recipes'].append(dict(name=name, kw=kw, channels_last=cl, bf16=bf16, params=n_par, step_s_median=float(np.median(ts)),
                                   images_per_s=8 / float(np.median(ts)), step_s_all=ts))
        print(name, res['recipes'][-1]['images_per_s'])
    res['profile_first'] = profile(*RECIPES[0][1:3], data)
    best = max(res['recipes'], key=lambda r: r['images_per_s'])
    res['profile_best'] = profile(best['kw'], best['channels_last'], data)
    res['speedup_best_vs_first'] = best['images_per_s'] / res['recipes'][0]['images_per_s']
    import matplotlib.pyplot as plt
    fig, ax = plt.subplots(1, 2, figsize=(14, 4))
    r = res['recipes']; ax[0].barh(range(len(r)), [x['images_per_s'] for x in r], color='#8e5bb5')
    ax[0].set(yticks=range(len(r)), yticklabels=[x['name'] for x in r], xlabel='training images/s (median step, batch 8, 2 threads)'); ax[0].invert_yaxis()
    for i, x in enumerate(r): ax[0].text(x['images_per_s'], i, f" {x['images_per_s']:.1f}", va='center')
    for j, (k, pr) in enumerate((('defaults', res['profile_first']), ('fastest', res['profile_best']))):
        parts = dict(pr['forward'], backward_and_step=pr['backward_and_step']); left = 0
        for n, v in parts.items(): ax[1].barh(j, v, left=left, label=n if j == 0 else None); left += v
    ax[1].set(yticks=[0, 1], yticklabels=['defaults', 'fastest'], xlabel='seconds per step', title='where a step goes'); ax[1].legend(fontsize=8)
    fig.tight_layout()
    return save('train_throughput', res, fig), res


if __name__ == '__main__':
    a = argparse.ArgumentParser(); a.add_argument('--steps', type=int, default=10); a = a.parse_args()
    p, r = main(a.steps)
    print(p, {x['name']: round(x['images_per_s'], 2) for x in r['recipes']}, r['speedup_best_vs_first'])
