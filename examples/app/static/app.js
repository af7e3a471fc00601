// The example app's page: capture the live check with femverify's capture script, post it to this app's backend.
const $ = id => document.getElementById(id);
const {captureChallenge, startCamera, WORDS} = window.femverifyCapture;

async function post(url, form) {  // to this app's backend only: it holds the femverify key, the page never does
  const r = await fetch(url, {method: 'POST', body: form, credentials: 'same-origin'});
  let body; try { body = await r.json(); } catch (e) { body = {reason: 'bad_response', message: 'HTTP ' + r.status}; }
  return {status: r.status, body};
}

function cue(text, arrow, left) {
  $('cue').textContent = text; $('arrow').textContent = arrow || '';
  $('count').textContent = left ? Math.ceil(left / 1000) : ''; document.body.dataset.step = text;
}

function say(text, cls) { $('result').textContent = text; $('result').className = cls || ''; }

async function live(join) {
  say('starting the camera…'); $('stage').style.display = 'block';
  let stream;
  try { stream = await startCamera($('video')); } catch (e) { say('no camera: ' + e.message, 'bad'); return; }
  try {
    const ch = await post('/challenge', new FormData());
    if (ch.status !== 201) { say(ch.body.reason + ': ' + ch.body.message, 'bad'); return; }
    say('follow the arrows on the video');
    const {frames} = await captureChallenge($('video'), ch.body, cue);
    const fd = new FormData(); fd.append('challenge', ch.body.id); fd.append('user', $('user').value);
    if (join && $('consent').checked) fd.append('consent', 'yes');
    frames.forEach((b, i) => fd.append('frames', b, 'frame' + i + '.jpg'));
    const r = await post(join ? '/register' : '/login', fd), b = r.body;
    const why = WORDS[b.reason] || b.message || b.reason;
    if (join && r.status === 201) say('Welcome! You are a member.', 'ok');
    else if (join && r.status === 202) say('Thank you: a moderator will look at your registration (case ' + b.case + ').', 'review');
    else if (!join && b.match) say('Logged in.', 'ok');
    else say((join ? 'Not registered: ' : 'Not logged in: ') + why, 'bad');
    document.body.dataset.done = r.status + ' ' + (b.status || (b.match ? 'match' : b.reason));
  } finally { stream.getTracks().forEach(t => t.stop()); cue('', '', 0); }
}
$('join').addEventListener('click', () => live(true));
$('login').addEventListener('click', () => live(false));
