// The s2st relay page: microphone -> relay WebSocket -> captions and translated speech.
// Plain ES module, no build step and no third-party code. Protocol: s2st.relay.protocol (v1).
const PROTOCOL_VERSION = 1;
const INPUT_RATE = 16000;
const JITTER_S = 0.15; // playout delay that absorbs network jitter
const NEW_LINE_AFTER_MS = 1500; // a pause this long starts a new caption paragraph

const params = new URLSearchParams(location.search);
const fragment = new URLSearchParams(location.hash.slice(1)); // never sent to any server
const $ = (id) => document.getElementById(id);

// Counters for tests and dashboards (read them from window.s2stRelay).
const state = {
  status: "loading",
  audioChunksScheduled: 0,
  audioSecondsScheduled: 0,
  captions: { source: 0, translation: 0 },
  framesCaptured: 0,
  framesSent: 0,
  framesDropped: 0,
  audioContext: null,
  lagS: null,
  rttMs: null,
  lastError: null,
};
window.s2stRelay = state;

let config = null;
let ws = null;
let ctx = null;
let workletLoaded = false;
let mic = null;
let capture = null;
let micStopped = null; // resolves stopMic()'s wait for the worklet's last frame
let outputRate = 24000;
let nextPlayTime = 0;
const playing = new Set();
let pinger = null;
const lines = { source: null, translation: null };
const lastText = { source: 0, translation: 0 };

function setStatus(text, kind) {
  state.status = text;
  $("status").textContent = text;
  document.body.dataset.state = kind || text;
}

function updateLatency() {
  const parts = [];
  if (state.lagS !== null) parts.push(`ear-to-voice ${state.lagS.toFixed(2)} s`);
  if (state.rttMs !== null) parts.push(`relay ${Math.round(state.rttMs)} ms`);
  $("latency").textContent = parts.length ? parts.join(" · ") : "–";
}

function caption(kind, text) {
  const now = performance.now();
  let line = lines[kind];
  if (!line || now - lastText[kind] > NEW_LINE_AFTER_MS) {
    line = document.createElement("p");
    line.dataset.testid = kind;
    if (msgLanguage[kind]) line.lang = msgLanguage[kind];
    $(`${kind}-log`).appendChild(line);
    lines[kind] = line;
  }
  lastText[kind] = now;
  line.textContent += text;
  line.scrollIntoView({ block: "end" });
  state.captions[kind] += 1;
}
const msgLanguage = { source: null, translation: null };

function play(buffer) {
  if (!ctx) return;
  const pcm = new Int16Array(buffer);
  if (pcm.length === 0) return;
  const samples = new Float32Array(pcm.length);
  for (let i = 0; i < pcm.length; i++) samples[i] = pcm[i] / 32768;
  const audio = ctx.createBuffer(1, samples.length, outputRate);
  audio.copyToChannel(samples, 0);
  const source = ctx.createBufferSource();
  source.buffer = audio;
  source.connect(ctx.destination);
  const now = ctx.currentTime;
  if (nextPlayTime < now + 0.01) nextPlayTime = now + JITTER_S; // underrun: rebuffer
  source.start(nextPlayTime);
  nextPlayTime += audio.duration;
  playing.add(source);
  source.onended = () => playing.delete(source);
  state.audioChunksScheduled += 1;
  state.audioSecondsScheduled += audio.duration;
  document.body.dataset.audioScheduled = String(state.audioChunksScheduled);
  document.body.dataset.audioSeconds = state.audioSecondsScheduled.toFixed(2);
}

function flushPlayback() {
  for (const s of playing) { try { s.stop(); } catch (_) { /* already ended */ } }
  playing.clear();
  nextPlayTime = 0;
}

function onMessage(event) {
  if (typeof event.data !== "string") { play(event.data); return; }
  const msg = JSON.parse(event.data);
  switch (msg.type) {
    case "ready":
      outputRate = msg.output_sample_rate || 24000;
      setStatus("translating");
      break;
    case "source":
    case "translation":
      if (msg.language) msgLanguage[msg.type] = msg.language;
      caption(msg.type, msg.text);
      break;
    case "format":
      outputRate = msg.sample_rate;
      break;
    case "latency":
      state.lagS = msg.lag_s;
      updateLatency();
      break;
    case "pong":
      if (typeof msg.t === "number") state.rttMs = performance.now() - msg.t;
      updateLatency();
      break;
    case "interrupted":
      flushPlayback();
      break;
    case "reconnected":
      console.info("s2st: the relay reconnected upstream", msg);
      break;
    case "error":
      state.lastError = msg;
      document.body.dataset.error = String(msg.code);
      setStatus(`error: ${msg.message}`, "error");
      break;
    case "end":
      setStatus("ended");
      break;
  }
}

async function token() {
  if (fragment.get("token")) return fragment.get("token");
  if (config.token_url) {
    const r = await fetch(config.token_url, { method: "POST", credentials: "same-origin" });
    if (!r.ok) throw new Error(`the token service answered ${r.status}`);
    return (await r.json()).token;
  }
  return null;
}

async function start() {
  $("start").disabled = true;
  setStatus("starting");
  try {
    ctx = ctx || new AudioContext({ latencyHint: "interactive" });
    state.audioContext = ctx.state;
    ctx.onstatechange = () => { state.audioContext = ctx.state; };
    if (!workletLoaded) {
      await ctx.audioWorklet.addModule("static/capture-worklet.js");
      workletLoaded = true;
    }
    const startMessage = {
      type: "start",
      version: PROTOCOL_VERSION,
      target_language: $("language").value,
      sample_rate: INPUT_RATE,
    };
    const t = await token();
    if (t) startMessage.token = t;
    if (params.get("room")) startMessage.room = params.get("room");
    const url = new URL("ws", location.href);
    url.protocol = location.protocol === "https:" ? "wss:" : "ws:";
    url.search = "";
    url.hash = "";
    ws = new WebSocket(url);
    ws.binaryType = "arraybuffer";
    // Audio captured before the socket is open waits here, so the first words are not lost.
    let pending = [];
    let started = false;
    ws.onopen = () => {
      ws.send(JSON.stringify(startMessage));
      for (const frame of pending) ws.send(frame);
      state.framesSent += pending.length;
      pending = [];
      started = true;
      pinger = setInterval(() => {
        if (ws.readyState === WebSocket.OPEN) ws.send(JSON.stringify({ type: "ping", t: performance.now() }));
      }, 2000);
      $("stop").disabled = false;
    };
    ws.onmessage = onMessage;
    ws.onclose = (e) => {
      clearInterval(pinger);
      stopMic();
      if (e.code !== 1000 && !state.lastError) {
        state.lastError = { code: e.code, error: e.reason };
        document.body.dataset.error = String(e.code);
        setStatus(`closed ${e.code} ${e.reason}`, "error");
      } else if (e.code === 1000 && state.status !== "ended") {
        setStatus("ended");
      }
      $("start").disabled = false;
      $("stop").disabled = true;
    };
    mic = await navigator.mediaDevices.getUserMedia({
      audio: { channelCount: 1, echoCancellation: false, noiseSuppression: false, autoGainControl: false },
    });
    capture = new AudioWorkletNode(ctx, "s2st-capture", {
      processorOptions: { targetRate: INPUT_RATE, frameMs: 100 },
    });
    capture.port.onmessage = (e) => {
      if (e.data === "stopped") { if (micStopped) micStopped(); return; }
      state.framesCaptured += 1;
      if (started) {
        if (ws.readyState === WebSocket.OPEN) { ws.send(e.data); state.framesSent += 1; }
      } else if (pending.length < 100) {
        pending.push(e.data); // up to 10 s while the socket opens (the relay's default burst)
      } else {
        if (!state.framesDropped) console.warn("s2st: the relay socket is not open after 10 s; dropping audio");
        state.framesDropped += 1;
      }
    };
    ctx.createMediaStreamSource(mic).connect(capture);
    capture.connect(ctx.destination); // outputs silence; keeps the node pulled by the graph
    // Browsers may start an AudioContext without a click once the page captures the microphone;
    // if this one still refuses (autoplay policy), a click on "enable audio" resumes it.
    if (ctx.state === "suspended") {
      await Promise.race([ctx.resume(), new Promise((r) => setTimeout(r, 500))]);
    }
    if (ctx.state === "suspended") $("unmute").hidden = false;
  } catch (err) {
    state.lastError = { message: String(err) };
    setStatus(`error: ${err.message || err}`, "error");
    $("start").disabled = false;
    if (ws) ws.close();
  }
}

// Stops the microphone; resolves once the worklet has handed over its last frame (audio
// captured before the click still goes out, and none after the "stop" message).
function stopMic() {
  let flushed = Promise.resolve();
  if (capture) {
    const node = capture;
    capture = null;
    flushed = new Promise((resolve) => {
      micStopped = resolve;
      setTimeout(resolve, 500); // a worklet that no longer runs posts nothing
    }).then(() => {
      micStopped = null;
      node.port.onmessage = null;
      node.disconnect();
    });
    node.port.postMessage("stop");
  }
  if (mic) { for (const track of mic.getTracks()) track.stop(); mic = null; }
  return flushed;
}

async function stop() {
  $("stop").disabled = true;
  await stopMic(); // the last captured audio goes out before "stop" (the relay refuses it after)
  if (ws && ws.readyState === WebSocket.OPEN) {
    ws.send(JSON.stringify({ type: "stop" })); // the relay sends the rest, then "end"
    setStatus("finishing");
  }
}

async function main() {
  config = await (await fetch("config", { cache: "no-store" })).json();
  const select = $("language");
  for (const { code, name } of config.languages) {
    const option = document.createElement("option");
    option.value = code;
    option.textContent = `${name} (${code})`;
    select.appendChild(option);
  }
  const wanted = params.get("to");
  select.value = config.languages.some((l) => l.code === wanted) ? wanted : config.default_language;
  $("start").addEventListener("click", start);
  $("stop").addEventListener("click", stop);
  $("unmute").addEventListener("click", async () => { await ctx.resume(); $("unmute").hidden = true; });
  setStatus("idle");
  if (params.get("autostart") === "1") start();
}

main().catch((err) => {
  state.lastError = { message: String(err) };
  setStatus(`error: ${err.message || err}`, "error");
});
