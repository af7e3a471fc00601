"""The 1:N search at scale: approximate-nearest-neighbour libraries side by side with exact search, in one run.

Galleries of synthetic unit vectors (10k, 100k, 1M; 128 and 512 dimensions) shaped like real face templates: each is a
shared mean direction plus Gaussian noise, scaled so that the median cosine distance between two random ones equals
the median LFW *impostor* distance of the model in use. Into each gallery we plant duplicates: queries drawn at the
cosine distances that LFW *same-person* pairs have with that model (sampled from the measured genuine distances).

Model in use: dlib's ResNet v1 (`dlib:resnet_v1+flip`, 128-d), distances measured here on `--pairs` LFW View 2 pairs
of each kind whose photos both pass the quality gate, as a registration's must (cached in runs/search/). It has no
512-d variant and FaceNet's weights can't be downloaded here, so the 512-d galleries reuse the dlib distance
distributions.

Per library and size: build time (2 threads), index memory, the time to add one template, single-thread search
latency p50/p99 over `--queries` planted queries (top 10), recall of the planted duplicate in the top 10, and false
hits at the service threshold (a fresh, non-member probe with any gallery template within the threshold, distances
re-ranked exactly from float32 templates, as the service does). Exact search (numpy, float32 matmul) is the
reference, and the crossover size below which it is faster is measured on small galleries.

Indexes: femverify's `SketchIndex` (sign bits of centred templates scanned by faiss-cpu's IndexBinaryFlat, 64 int8
re-ranked candidates; its knob is the number of candidates), usearch (HNSW, int8 vectors) and faiss-cpu (HNSW with 8-bit
scalar quantisation), both on centred templates (their knob is the search breadth ef), and exact numpy.
Writes results/search.json and .png. Usage: python benchmarks/search.py [--sizes 10000 100000 1000000] [--dims 128 512]
"""
import argparse, json, time
from pathlib import Path
import numpy as np
from tqdm.auto import tqdm
from common import data_dir, percentiles, save

RUNS = Path(__file__).resolve().parent.parent / 'runs' / 'search'
K = 10


def lfw_distances(n_pairs: int, seed: int = 0) -> dict:
    "Cosine distances of `n_pairs` genuine and `n_pairs` impostor LFW View 2 pairs with dlib's embedder (cached)."
    cache = RUNS / f'lfw-dlib-{n_pairs}.json'
    if cache.exists(): return json.loads(cache.read_text())
    from femverify.core import Config, load_image
    from femverify.metrics import read_pairs
    from femverify.verify import cosine_distance, get_embedder
    lfw = data_dir() / 'lfw'
    pairs = read_pairs(lfw / 'pairs.txt', lfw / 'images')
    rng = np.random.default_rng(seed)
    emb, cfg = get_embedder('dlib'), Config.from_env()
    out = dict(model=emb.model, genuine=[], impostor=[])
    for same, kind in ((True, 'genuine'), (False, 'impostor')):
        rows = pairs[pairs.same == same]
        for _, r in tqdm(rows.iloc[rng.choice(len(rows), n_pairs, replace=False)].iterrows(), total=n_pairs, desc=f'LFW {kind} pairs'):
            a = emb.analyse([load_image(r.path1), load_image(r.path2)], cfg)
            if len(a[0]['embedding']) and len(a[1]['embedding']):  # both photos pass the gate
                out[kind].append(float(cosine_distance(a[0]['embedding'][0], a[1]['embedding'][0])))
    RUNS.mkdir(parents=True, exist_ok=True); cache.write_text(json.dumps(out))
    return out


def unit(x): return x / np.linalg.norm(x, axis=-1, keepdims=True)


def gallery(n: int, d: int, spread: float, rng) -> np.ndarray:
    "`n` unit vectors around a shared direction (the first axis); `spread` sets how far apart two of them are."
    x = rng.standard_normal((n, d), dtype=np.float32) * np.float32(spread / np.sqrt(d))
    x[:, 0] += 1.0
    return unit(x).astype(np.float32)


def spread_for(d: int, target: float, rng) -> float:
    "The spread whose median distance between two random gallery vectors is `target` (bisection on 2,000 vectors)."
    lo, hi = 0.01, 20.0
    for _ in range(40):
        s = (lo + hi) / 2; x = gallery(2000, d, s, rng)
        med = np.median(1 - (x[:1000] * x[1000:]).sum(1))
        lo, hi = (s, hi) if med < target else (lo, s)
    return (lo + hi) / 2


def plant(x: np.ndarray, dist: np.ndarray, rng) -> np.ndarray:
    "A query per row of `x` at cosine distance `dist` from it, in a random direction."
    u = rng.standard_normal(x.shape, dtype=np.float32)
    u = unit(u - (u * x).sum(1, keepdims=True) * x)
    c = (1 - dist)[:, None].astype(np.float32)
    return unit(c * x + np.sqrt(np.clip(1 - c ** 2, 0, None)) * u).astype(np.float32)


class Exact:
    name = 'exact'
    def __init__(self, d): self.x = np.zeros((0, d), np.float32)
    def build(self, x): self.x = np.ascontiguousarray(x)
    def add(self, key, v): self.x = np.concatenate([self.x, v[None]])  # what the service's exact gallery does
    def search(self, q, k):
        s = self.x @ q; i = np.argpartition(-s, k)[:k]
        return i[np.argsort(-s[i])]
    def memory(self): return self.x.nbytes


class USearch:
    name = 'usearch-i8'
    def __init__(self, d, ef=64):
        from usearch.index import Index
        self.ix = Index(ndim=d, metric='cos', dtype='i8', connectivity=16, expansion_add=128, expansion_search=ef)
    def build(self, x): self.ix.add(np.arange(len(x)), x, threads=2, log=False)
    def add(self, key, v): self.ix.add(key, v, threads=1)
    def search(self, q, k): return self.ix.search(q, k, threads=1).keys
    def set_ef(self, ef): self.ix.expansion_search = ef
    def memory(self): return self.ix.memory_usage


class Faiss:
    name = 'faiss-hnsw-sq8'
    def __init__(self, d, ef=64):
        import faiss
        faiss.omp_set_num_threads(2)
        self.ix = faiss.IndexHNSWSQ(d, faiss.ScalarQuantizer.QT_8bit, 16, faiss.METRIC_INNER_PRODUCT)
        self.ix.hnsw.efConstruction = 128; self.ix.hnsw.efSearch = ef; self.faiss = faiss
    def build(self, x): self.ix.train(x[:50000]); self.ix.add(x)
    def add(self, key, v): self.ix.add(v[None])
    def search(self, q, k):
        self.faiss.omp_set_num_threads(1)
        return self.ix.search(q[None], k)[1][0]
    def set_ef(self, ef): self.ix.hnsw.efSearch = ef
    def memory(self): return len(self.faiss.serialize_index(self.ix))


def centred(x, c): return unit(x - c).astype(np.float32)


class Sketch:
    "femverify's own index (`femverify.search.SketchIndex`): sign sketches scanned by faiss's IndexBinaryFlat, int8 re-ranking."
    name = 'femverify-sketch'
    def __init__(self, d, centre=None): self.d, self.centre, self.ix = d, centre, None
    def build(self, x):
        from femverify.search import SketchIndex
        self.ix = SketchIndex(x.mean(0) if self.centre is None else self.centre); self.ix.add(np.arange(len(x)), x)
    def add(self, key, v): self.ix.add([key], v[None])
    def search(self, q, k): return self.ix.search(q, k)
    def set_ef(self, c): self.ix.candidates = c
    def memory(self): return self.ix.memory()


def measure(index, x, queries, truth, probes, threshold, centre=None, efs=(32, 64, 128, 256, 512)) -> dict:
    """Build, add one, then search the planted queries and the fresh probes at each `efs` (exact: once).
    `centre`: index the templates' directions from this point (the gallery's mean), as the service's `Gallery` does."""
    raw, raw_probes = x, probes
    if centre is not None and not isinstance(index, Sketch): x, queries, probes = centred(x, centre), centred(queries, centre), centred(probes, centre)
    t = time.perf_counter(); index.build(x); build = time.perf_counter() - t
    out = dict(library=index.name, centred=centre is not None, build_s=build, memory_mb=index.memory() / 2**20, by_ef={})
    for ef in ((16, 64, 256) if isinstance(index, Sketch) else efs if hasattr(index, 'set_ef') else (None,)):  # the sketch's knob: candidates
        if ef is not None: index.set_ef(ef)
        lat, found = [], 0
        for q, want in zip(queries, truth):
            t = time.perf_counter(); keys = index.search(q, K); lat.append(time.perf_counter() - t)
            found += int(want in set(int(k) for k in keys))
        false = sum(bool(((1 - raw[np.asarray(index.search(p, K), int)] @ praw) <= threshold).any()) for p, praw in zip(probes, raw_probes))  # exact re-rank
        out['by_ef'][str(ef)] = dict(**percentiles(lat, (50, 99)), recall=found / len(queries), false_hit_rate=false / len(probes))
    extra = np.random.default_rng(1).standard_normal((200, x.shape[1])).astype(np.float32)
    adds = []
    for i, v in enumerate(unit(extra).astype(np.float32)):
        t = time.perf_counter(); index.add(len(x) + i, v); adds.append(time.perf_counter() - t)
        if isinstance(index, Exact) and i >= 20: break  # each exact add copies the matrix: 20 are enough
    out['add_one_ms'] = float(np.median(adds) * 1000)
    return out


def crossover(d: int, spread: float, rng, sizes=(1000, 2000, 5000, 10000, 20000, 50000)) -> list:
    "Exact vs the sketch index (64 candidates) p50 latency on small galleries: where exact stops being faster."
    rows = []
    for n in tqdm(sizes, desc=f'crossover d={d}', leave=False):
        x = gallery(n, d, spread, rng); q = x[rng.choice(n, 300)]
        r = dict(n=n)
        for ix in (Exact(d), Sketch(d)):
            ix.build(x); lat = []
            for v in q: t = time.perf_counter(); ix.search(v, K); lat.append(time.perf_counter() - t)
            r[ix.name] = float(np.median(lat) * 1000)
        rows.append(r)
    return rows


def main(a):
    if a.from_partial:  # a run stopped early (a session's end): write the JSON and the figure of what it measured
        res = json.loads((RUNS / 'search-partial.json').read_text()); res['complete'] = False
        print('wrote', save('search', res, plot(res))); return
    if a.replot:  # the figure again, from the JSON of a finished run
        from common import OUT
        plot(json.loads((OUT / 'search.json').read_text())).savefig(OUT / 'search.png', dpi=100, bbox_inches='tight'); return
    dist = lfw_distances(a.pairs)
    g, imp = np.asarray(dist['genuine']), np.asarray(dist['impostor'])
    threshold = json.loads((Path(__file__).resolve().parent.parent / 'femverify' / 'thresholds' / 'dlib.json').read_text())['threshold']
    rng = np.random.default_rng(0)
    res = dict(model=dist['model'], threshold=threshold, lfw=dict(n_genuine=len(g), n_impostor=len(imp), genuine_median=float(np.median(g)),
               impostor_median=float(np.median(imp)), genuine_above_threshold=float((g > threshold).mean())), k=K, ef=a.ef, runs=[], crossover={})
    libs = dict(exact=Exact, sketch=Sketch, usearch=USearch, faiss=Faiss)
    for d in a.dims:
        spread = spread_for(d, float(np.median(imp)), rng)
        res['crossover'][str(d)] = crossover(d, spread, rng)
        for n in a.sizes:
            x = gallery(n, d, spread, rng)
            who = rng.choice(n, a.queries, replace=False)
            queries = plant(x[who], rng.choice(g, a.queries), rng)
            probes = gallery(a.queries, d, spread, rng)
            for lib in tqdm(a.libs, desc=f'n={n:,} d={d}'):
                if lib == 'exact' and n > a.exact_max: continue
                m = a.exact_queries if lib == 'exact' and n > 100_000 else a.queries  # exact's recall is 1 by construction: fewer queries
                r = measure(libs[lib](d), x, queries[:m], who[:m], probes[:m], threshold, None if lib == 'exact' or a.raw else x.mean(0))
                res['runs'].append(dict(n=n, d=d, spread=spread, **r)); print(json.dumps(res['runs'][-1]), flush=True)
                (RUNS / 'search-partial.json').write_text(json.dumps(res, indent=1))
            del x
    res['complete'] = True
    print('wrote', save('search', res, plot(res)))


def plot(res):
    import matplotlib; matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    fig, ax = plt.subplots(1, 4, figsize=(21, 4.8))
    knob = lambda r: '64' if r['library'] == 'femverify-sketch' else str(res['ef']) if r['library'] != 'exact' else 'None'
    series = {}
    for r in res['runs']: series.setdefault((r['library'], r['d']), []).append(r)
    for (lib, d), rs in series.items():
        st, lab = ('-' if d == 512 else '--'), f'{lib} d={d}'
        ns = [r['n'] for r in rs]
        ax[0].plot(ns, [r['by_ef'][knob(r)]['p50'] for r in rs], st, marker='o', label=lab)
        ax[2].plot(ns, [r['memory_mb'] for r in rs], st, marker='o', label=lab)
        big = max(rs, key=lambda r: r['n'])
        if lib != 'exact':
            ks = sorted(big['by_ef'], key=int)
            ax[1].plot([big['by_ef'][k]['p50'] for k in ks], [big['by_ef'][k]['recall'] for k in ks], st, marker='o', label=f"{lab} ({'candidates' if lib == 'femverify-sketch' else 'ef'} {','.join(ks)})")
    for d, rows in res['crossover'].items():
        for lib in ('exact', 'femverify-sketch'): ax[3].plot([r['n'] for r in rows], [r[lib] for r in rows], marker='o', label=f'{lib} d={d}')
    ax[0].set(xscale='log', yscale='log', xlabel='gallery size', ylabel='p50 ms, 1 thread', title=f"latency (HNSW at ef {res['ef']}, sketch at 64 candidates)")
    ax[1].set(xlabel='p50 ms', ylabel='recall of planted duplicates (top 10)', title='1M templates: recall against latency')
    ax[2].set(xscale='log', yscale='log', xlabel='gallery size', ylabel='index MB', title='memory (dotted: 1 GB)'); ax[2].axhline(1024, color='gray', ls=':')
    ax[3].set(xscale='log', yscale='log', xlabel='gallery size', ylabel='p50 ms', title='exact vs the sketch index: the crossover')
    for a_ in ax: a_.legend(fontsize=7); a_.grid(alpha=.3)
    fig.suptitle(f"1:N search on synthetic galleries shaped by the LFW distances of {res['model']}; duplicates planted at its same-person distances")
    fig.tight_layout()
    return fig


if __name__ == '__main__':
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('--sizes', type=int, nargs='+', default=[10_000, 100_000, 1_000_000])
    p.add_argument('--dims', type=int, nargs='+', default=[128, 512])
    p.add_argument('--libs', nargs='+', default=['exact', 'sketch', 'usearch', 'faiss'])
    p.add_argument('--queries', type=int, default=1000, help='planted queries (and as many fresh probes) per gallery')
    p.add_argument('--pairs', type=int, default=300, help='LFW pairs of each kind to measure distances on')
    p.add_argument('--ef', type=int, default=256, help='the search breadth the latency panel shows')
    p.add_argument('--from-partial', action='store_true', help='write results/search.json + .png from the runs a stopped run finished')
    p.add_argument('--replot', action='store_true', help='redraw results/search.png from results/search.json')
    p.add_argument('--raw', action='store_true', help="index the raw templates, not centred on the gallery's mean")
    p.add_argument('--exact-queries', type=int, default=200, help='queries for exact search on galleries over 100k')
    p.add_argument('--exact-max', type=int, default=1_000_000, help='largest gallery exact search runs on')
    main(p.parse_args())
