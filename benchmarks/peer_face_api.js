// The peer @vladmandic/face-api (its age-gender model, SSD MobileNet face finder, tfjs on WASM) on the test split's
// photos, for benchmarks/train_gender.py. Benchmark-only, outside femverify's environment:
//   mkdir -p runs/faceapi && cd runs/faceapi && npm init -y && npm install @vladmandic/face-api @tensorflow/tfjs@4 @tensorflow/tfjs-backend-wasm@4 jpeg-js
//   node benchmarks/peer_face_api.js
// Writes runs/peers/face_api.json: {dataset/file_name: p_female of the most confident face, or null when none is found}.
const path = require('path'), fs = require('fs');
globalThis.fetch = undefined; // emscripten then reads the .wasm files with fs (Node 20's fetch can't open paths)
const ROOT = path.resolve(__dirname, '..'), NM = path.join(ROOT, 'runs', 'faceapi', 'node_modules');
const tf = require(path.join(NM, '@tensorflow/tfjs'));
const wasm = require(path.join(NM, '@tensorflow/tfjs-backend-wasm'));
const faceapi = require(path.join(NM, '@vladmandic/face-api/dist/face-api.node-wasm.js'));
const jpeg = require(path.join(NM, 'jpeg-js'));

function tensorOf(file) {
  const im = jpeg.decode(fs.readFileSync(file), { useTArray: true, formatAsRGBA: false });
  return tf.tensor3d(im.data, [im.height, im.width, 3], 'int32');
}

async function main() {
  wasm.setWasmPaths(path.join(NM, '@tensorflow/tfjs-backend-wasm/dist') + '/');
  await tf.setBackend('wasm'); await tf.ready();
  const model = path.join(NM, '@vladmandic/face-api/model');
  await faceapi.nets.ssdMobilenetv1.loadFromDisk(model);
  await faceapi.nets.faceLandmark68Net.loadFromDisk(model);
  await faceapi.nets.ageGenderNet.loadFromDisk(model);
  const opts = new faceapi.SsdMobilenetv1Options({ minConfidence: 0.2, maxResults: 5 });
  const out = {}, t0 = Date.now();
  for (const name of ['utkface', 'lfw']) {
    const coco = JSON.parse(fs.readFileSync(path.join(ROOT, 'runs', 'annotations', name + '.json')));
    for (const im of coco.images) {
      if (im.split !== 'test') continue;
      const t = tensorOf(path.join(coco.info.root, im.file_name));
      const r = await faceapi.detectSingleFace(t, opts).withFaceLandmarks().withAgeAndGender();
      tf.dispose(t);
      out[name + '/' + im.file_name] = r ? (r.gender === 'female' ? r.genderProbability : 1 - r.genderProbability) : null;
    }
  }
  const dst = path.join(ROOT, 'runs', 'peers', 'face_api.json');
  fs.mkdirSync(path.dirname(dst), { recursive: true });
  fs.writeFileSync(dst + '.tmp', JSON.stringify({ model: `@vladmandic/face-api ${faceapi.version} (tfjs wasm)`, seconds: (Date.now() - t0) / 1000, p_female: out }));
  fs.renameSync(dst + '.tmp', dst);
  console.log(dst);
}
main();
