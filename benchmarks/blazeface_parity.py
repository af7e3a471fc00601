"""BlazeFace in PyTorch (femverify.blazeface) beside TFLite's own runtime, on the same file and the same input tensors.

TFLite's runtime (`ai-edge-litert`) is never a dependency of femverify: it lives in an environment of its own, given by
--runtime-python, which runs the part of this script after `if RUNTIME`. On the packaged photos (matplotlib's Grace
Hopper, scikit-image's astronaut, the two side by side) and 40 seeded LFW photos when the data is there, it reports
the largest differences of the raw outputs, of the coordinates as a share of the 128-pixel input, and of the
probabilities, under each of the runtime's kernels (XNNPACK, the built-in ones, the reference ones); writes
results/blazeface_parity.json + .png, and with --write the reference that the offline test reads
(models/blazeface_parity.json: the runtime's outputs at the 16 best anchors of each packaged photo).

    python -m venv /tmp/litert && /tmp/litert/bin/pip install ai-edge-litert numpy
    python benchmarks/blazeface_parity.py --runtime-python /tmp/litert/bin/python [--write]
"""
import argparse, json, subprocess, sys, tempfile
import numpy as np

RUNTIME = len(sys.argv) > 1 and sys.argv[1] == '--run-tflite'


def run_tflite(model: str, inputs: str, out: str):
    "In the runtime's environment: every kernel set's outputs for the NCHW inputs, as NHWC, into `out` (.npz)."
    from ai_edge_litert.interpreter import Interpreter, OpResolverType
    x, res = np.load(inputs).transpose(0, 2, 3, 1), {}
    for kind in ('AUTO', 'BUILTIN_WITHOUT_DEFAULT_DELEGATES', 'BUILTIN_REF'):
        it = Interpreter(model_path=model, experimental_op_resolver_type=getattr(OpResolverType, kind))
        it.allocate_tensors()
        rs, cs = [], []
        for xi in x:
            it.set_tensor(it.get_input_details()[0]['index'], xi[None].astype(np.float32))
            it.invoke()
            o = {d['name']: it.get_tensor(d['index']) for d in it.get_output_details()}
            rs.append(o['regressors'][0]), cs.append(o['classificators'][0, :, 0])
        res[f'{kind}_r'], res[f'{kind}_c'] = np.stack(rs), np.stack(cs)
    np.savez(out, **res)


def photos(n_lfw: int = 40) -> dict:
    "The packaged photos (always) and `n_lfw` seeded LFW photos (when the data is there)."
    import matplotlib.cbook, skimage.data
    from PIL import Image
    h = Image.open(matplotlib.cbook.get_sample_data('grace_hopper.jpg')).convert('RGB')
    pair = Image.new('RGB', (1024, 600))
    pair.paste(h, (0, 0)), pair.paste(h, (512, 0))
    out = {'grace_hopper': h, 'astronaut': Image.fromarray(skimage.data.astronaut()), 'two_faces': pair}
    try:
        from common import lfw_photos
        out.update({p.stem: Image.open(p).convert('RGB') for p in lfw_photos(n_lfw, seed=1)})
    except SystemExit: pass
    return out


def main(a):
    import torch
    from femverify.blazeface import letterbox, to_input, load_blazeface, shipped_blazeface
    from common import save
    ims = photos()
    x = to_input([letterbox(im)[0] for im in ims.values()])
    bf = load_blazeface()
    with torch.inference_mode(): r, c = (t.numpy() for t in bf(x))
    with tempfile.TemporaryDirectory() as d:
        np.save(f'{d}/x.npy', x.numpy())
        subprocess.run([a.runtime_python, __file__, '--run-tflite', str(shipped_blazeface()), f'{d}/x.npy', f'{d}/out.npz'], check=True)
        rt = dict(np.load(f'{d}/out.npz'))
    sig = lambda z: 1 / (1 + np.exp(-np.clip(z, -100, 100)))
    kernels = {}
    for k in ('AUTO', 'BUILTIN_WITHOUT_DEFAULT_DELEGATES', 'BUILTIN_REF'):
        R, C = rt[f'{k}_r'], rt[f'{k}_c']
        kernels[k] = dict(raw_regressors=float(np.abs(R - r).max()), coords_of_input=float(np.abs(R - r)[..., :].max() / 128),
                          raw_logits=float(np.abs(C - c).max()), probabilities=float(np.abs(sig(C) - sig(c)).max()))
    ref = rt['BUILTIN_REF_r'], rt['BUILTIN_REF_c']
    refs = [dict(photo=n, anchors=(i := np.argsort(-ref[1][k])[:16]).tolist(), regressors=ref[0][k, i].tolist(), logits=ref[1][k, i].tolist())
            for k, n in enumerate(list(ims)[:3])]
    result = dict(model='BlazeFace short range (mediapipe==0.10.14 face_detection_short_range.tflite)', photos=len(ims),
                  packaged=list(ims)[:3], lfw=len(ims) - 3, max_abs_difference=kernels,
                  note='coords_of_input: regressor differences divided by the 128-pixel input side; probabilities: after the sigmoid')
    import matplotlib; matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    fig, ax = plt.subplots(figsize=(7, 3.5))
    names = list(kernels)
    for j, m in enumerate(('coords_of_input', 'probabilities')):
        ax.bar(np.arange(len(names)) + j * 0.4, [kernels[k][m] for k in names], 0.4, label=m)
    ax.set_yscale('log'), ax.axhline(1e-4, color='k', ls='--', lw=1, label='1e-4')
    ax.set_xticks(np.arange(len(names)) + 0.2, [n.lower() for n in names], fontsize=8)
    ax.set_title(f'BlazeFace: PyTorch vs TFLite runtime, max |diff| over {len(ims)} photos'), ax.legend(fontsize=8)
    print(json.dumps(result, indent=1))
    save('blazeface_parity', result, fig)
    if a.write:
        p = shipped_blazeface().parent / 'blazeface_parity.json'
        p.write_text(json.dumps(dict(source='benchmarks/blazeface_parity.py --write: ai-edge-litert, reference kernels (BUILTIN_REF)',
                                     photos=refs), indent=None) + '\n')
        print('wrote', p)


if __name__ == '__main__':
    if RUNTIME: run_tflite(*sys.argv[2:5])
    else:
        p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
        p.add_argument('--runtime-python', required=True, help="the python of an environment with ai-edge-litert")
        p.add_argument('--write', action='store_true', help='write models/blazeface_parity.json (the offline test reads it)')
        main(p.parse_args())
