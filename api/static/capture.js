// femverify's live capture: the head-turn challenge's frames, taken while the member follows the cues.
// Used by femverify's own page and by apps' pages (examples/app relays it). No key, no upload: the caller sends the frames.
(function () {
  const sleep = ms => new Promise(r => setTimeout(r, ms));

  // one frame of the camera (not mirrored: the server reads the raw image) as a JPEG blob, at most `width` wide
  function grab(video, width) {
    const k = Math.min(1, (width || video.videoWidth) / video.videoWidth), c = document.createElement('canvas');
    c.width = Math.round(video.videoWidth * k); c.height = Math.round(video.videoHeight * k);
    c.getContext('2d').drawImage(video, 0, 0, c.width, c.height);
    return new Promise(r => c.toBlob(r, 'image/jpeg', width ? 0.85 : 0.92));
  }

  // The frames answering `challenge` (POST /api/v1/challenges' answer): a burst, 5 frames a second from 0.9 s (once the
  // first cue has been read) to 9.6 s, 44 frames of at most 480x360 (about 1 MB), while the cues follow each other: look
  // 0-2.1 s, the first move 2.1-4.8 s, back 4.8-6.9 s, the second move 6.9-9.6 s (each cue's first 0.9 s to read it).
  // `cue(text, arrow, msLeft)` shows each instruction (called every 100 ms). femverify's `fake_camera`
  // (femverify fake-camera) films at this pace: change both together.
  async function captureChallenge(video, challenge, cue) {
    const i = challenge.instructions, frames = [], times = [], t0 = performance.now();
    const steps = [['Look at the camera', '', 2100], [i[0].text, i[0].arrow, 2700], ['Back to the camera', '•', 2100], [i[1].text, i[1].arrow, 2700]];
    const end = steps.reduce((s, x) => s + x[2], 0), every = 1000 / ((challenge.frames || {}).fps || 5);
    let stop = false;
    const cues = (async () => {
      let at = 0;
      for (const [text, arrow, ms] of steps) {
        for (let t = performance.now() - t0; t < at + ms; t = performance.now() - t0) {
          cue(text, arrow, Math.max(0, Math.round(at + 900 - t))); await sleep(100);
        }
        at += ms;
      }
      stop = true;
    })();
    await sleep(900);
    for (let k = 0; !stop && 900 + k * every < end; k++) {
      const due = t0 + 900 + k * every;
      await sleep(Math.max(0, due - performance.now()));
      frames.push(await grab(video, 480)); times.push(Math.round(performance.now() - t0));
    }
    await cues;
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
    frames_jump: 'the face jumped between frames',
    flat_face: 'the face turned like a curved picture, not a head', frames_cut: 'the video cut from one picture to another',
    shallow_face: 'a person will look at this check', liveness_doubtful: 'a person will look at your registration',
    liveness_review: 'a person will look at your registration', challenge_used: 'this challenge was used already',
    challenge_expired: 'the challenge expired', liveness_required: 'a live check is required'};

  window.femverifyCapture = {grab, captureChallenge, startCamera, captureFile, WORDS};
})();
