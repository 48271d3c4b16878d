// Caption overlay: reads a room's server-sent events and shows the last lines in large type.
// ?room=NAME (required), ?show=translation|source|both (default translation),
// ?lines=N (default 2), ?clear=SECONDS (hide after silence, default 8); #token=... for rooms
// that need a viewer token.
const params = new URLSearchParams(location.search);
const fragment = new URLSearchParams(location.hash.slice(1));
const room = params.get("room") || "main";
const show = params.get("show") || "translation";
const maxLines = Math.max(1, Number(params.get("lines") || 2));
const clearAfterMs = 1000 * Number(params.get("clear") || 8);
const NEW_LINE_AFTER_MS = 1500;
const box = document.getElementById("captions");
const state = { captions: 0, connected: false };
window.s2stCaptions = state;

const current = {}; // kind + speaker -> { line, at }
let clearTimer = null;

function wanted(kind) {
  return show === "both" || show === kind;
}

function add(data) {
  if (!wanted(data.type)) return;
  const key = `${data.type}:${data.speaker || ""}`;
  const now = performance.now();
  let entry = current[key];
  if (!entry || now - entry.at > NEW_LINE_AFTER_MS || !entry.line.isConnected) {
    const line = document.createElement("p");
    line.dataset.testid = data.type;
    if (data.language) line.lang = data.language;
    box.appendChild(line);
    entry = current[key] = { line, at: now };
  }
  entry.at = now;
  entry.line.textContent += data.text;
  const limit = show === "both" ? maxLines * 2 : maxLines;
  while (box.children.length > limit) box.removeChild(box.firstChild);
  state.captions += 1;
  document.body.dataset.captions = String(state.captions);
  clearTimeout(clearTimer);
  if (clearAfterMs > 0) clearTimer = setTimeout(() => { box.replaceChildren(); }, clearAfterMs);
}

const url = new URL("captions/events", location.href);
url.search = "";
url.searchParams.set("room", room);
if (fragment.get("token")) url.searchParams.set("token", fragment.get("token"));
const source = new EventSource(url);
source.addEventListener("open", () => { state.connected = true; document.body.dataset.state = "open"; });
source.addEventListener("error", () => { state.connected = false; document.body.dataset.state = "reconnecting"; });
source.addEventListener("caption", (e) => add(JSON.parse(e.data)));
