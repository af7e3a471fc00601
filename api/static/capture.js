// femverify's live capture: the head-turn challenge's frames, taken while the member follows the cues.
// Used by femverify's own page and by apps' pages (examples/app relays it). No key, no upload: the caller sends the frames.
(function () {
  const sleep = ms => new Promise(r => setTimeout(r, ms));

  // one frame of the camera (not mirrored: the server reads the raw image) as a JPEG blob
  function grab(video) {
    const c = document.createElement('canvas'); c.width = video.videoWidth; c.height = video.videoHeight;
    c.getContext('2d').drawImage(video, 0, 0);
    return new Promise(r => c.toBlob(r, 'image/jpeg', 0.92));
  }

  // The frames answering `challenge` (POST /api/v1/challenges' answer): 10 frames in under 10 s, 0.6 s apart, the first
  // once each cue has been read. `cue(text, arrow, msLeft)` shows each instruction (called every 100 ms).
  // femverify's `fake_camera` (femverify fake-camera) films at this pace: change both together.
  async function captureChallenge(video, challenge, cue) {
    const i = challenge.instructions, frames = [], times = [], t0 = performance.now();
    const steps = [['Look at the camera', '', 2], [i[0].text, i[0].arrow, 3], ['Back to the camera', '•', 2], [i[1].text, i[1].arrow, 3]];
    for (const [text, arrow, n] of steps) {
      for (let left = 900; left > 0; left -= 100) { cue(text, arrow, left); await sleep(Math.min(100, left)); }
      for (let k = 0; k < n; k++) { frames.push(await grab(video)); times.push(Math.round(performance.now() - t0)); await sleep(600); }
    }
    cue('Checking…', '', 0);
    return {frames, times};
  }

  // The camera, started in `video` (640x480); the stream is returned so that the caller can stop it after.
  async function startCamera(video) {
    const stream = await navigator.mediaDevices.getUserMedia({video: {width: 640, height: 480}});
    video.srcObject = stream;
    await new Promise(r => video.readyState >= 2 ? r() : video.addEventListener('loadeddata', r, {once: true}));
    return stream;
  }

  // One capture as a file for `femverify calibrate-liveness` (the format of femverify.liveness.write_capture): only
  // with the consent of the person filmed, for the operator's measurement of how often genuine members are refused.
  async function captureFile(challenge, frames) {
    const b64 = blob => new Promise(r => { const f = new FileReader(); f.onload = () => r(f.result.split(',')[1]); f.readAsDataURL(blob); });
    const doc = {format: 'femverify-capture/1', moves: challenge.moves, note: 'saved by the page',
                 frames: await Promise.all(frames.map(b64))};
    return new Blob([JSON.stringify(doc)], {type: 'application/json'});
  }

  // What each liveness reason means, in words a member understands.
  const WORDS = {frame_unusable: 'a frame showed no clear face', frames_disagree: 'the frames show more than one person',
    no_head_movement: 'the head did not move as asked', wrong_movement: 'the head moved, but not as asked, or not in order',
    flat_picture: 'this looks like a flat picture (a print or a screen), not a head', repeated_frame: 'a frame was sent twice', frame_reused: 'a frame was sent before: film new ones',
    frames_jump: 'the face jumped between frames', challenge_used: 'this challenge was used already',
    challenge_expired: 'the challenge expired', liveness_required: 'a live check is required'};

  window.femverifyCapture = {grab, captureChallenge, startCamera, captureFile, WORDS};
})();
