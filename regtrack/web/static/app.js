// The regtrack serve page: open a source, drag the target's box on the first frame, start the
// trackers, then watch the frames the server draws (regtrack.tracking.overlay) as they are tracked.
// Boxes are OTB x,y,w,h with 1-based pixels, as in every regtrack file; the canvas holds the frame
// at its own pixel size and is scaled by CSS, so mouse positions are mapped back to image pixels.
"use strict";

const $ = (id) => document.getElementById(id);
const canvas = $("canvas");
const ctx = canvas.getContext("2d");
const POLL_MS = 100;          // status and live-frame refresh: ~10 pictures a second is enough to watch
const FINAL = ["done", "stopped", "error"];
const MIN_SHOWN_WIDTH = 640;  // CSS pixels; a box is easier to drag on a small video shown larger

let session = null;           // the server's status of this tab's session
let frameImage = null;        // the frame on the canvas
let box = null;               // [x, y, w, h] OTB, 1-based
let drag = null;              // [x0, y0] in 0-based image pixels while the mouse is down
let following = true;         // show the newest tracked frame (false while seeking back)
let loading = false;          // a frame request is in flight
let pollTimer = null;

function showError(text) {
  const el = $("error");
  el.textContent = text || "";
  el.hidden = !text;
}

async function api(path, options = {}) {
  const response = await fetch(path, options);
  const body = response.headers.get("content-type")?.includes("json") ? await response.json() : null;
  if (!response.ok) {
    throw new Error((body && (body.error || body.detail)) || `${response.status} ${response.statusText}`);
  }
  return body;
}

// ---- 1. open ---------------------------------------------------------------------------------
async function openSource(form) {
  showError("");
  if (session) closeSession();
  try {
    session = await api("/api/sessions", { method: "POST", body: form });
  } catch (err) {
    showError(err.message);
    return;
  }
  box = null;
  following = true;
  $("box-text").textContent = "none yet";
  $("start").disabled = true;
  $("box-step").hidden = false;
  $("view-step").hidden = false;
  $("controls").hidden = true;
  $("results-step").hidden = true;
  $("legend").textContent = "";
  $("progress").value = 0;
  const total = session.total ? `${session.total} frames` : "live camera";
  $("source-info").textContent = `${session.name}: ${session.width}x${session.height}, ${total}` +
    (session.has_gt ? ", with ground truth" : "");
  document.body.dataset.state = "ready";
  await showFrame(`/api/sessions/${session.id}/frame/0.jpg`);
}

function pathForm(path) {
  const form = new FormData();
  form.append("path", path);
  return form;
}

$("open-path").onclick = () => openSource(pathForm($("path").value));
$("path").addEventListener("keydown", (e) => { if (e.key === "Enter") $("open-path").click(); });
$("open-camera").onclick = () => openSource(pathForm($("camera").value));
for (const id of ["upload-video", "upload-folder"]) {
  $(id).onchange = (e) => {
    const form = new FormData();
    for (const f of e.target.files) form.append("files", f, f.name);
    if (e.target.files.length) openSource(form);
  };
}

function closeSession() {
  clearTimeout(pollTimer);
  fetch(`/api/sessions/${session.id}`, { method: "DELETE", keepalive: true });
  session = null;
}
window.addEventListener("pagehide", () => { if (session) closeSession(); });

// ---- drawing ---------------------------------------------------------------------------------
function showFrame(url) {
  return new Promise((resolve) => {
    const img = new Image();
    loading = true;
    img.onload = () => {
      frameImage = img;
      if (canvas.width !== img.naturalWidth || canvas.height !== img.naturalHeight) {
        canvas.width = img.naturalWidth;
        canvas.height = img.naturalHeight;
        canvas.style.width = `${Math.max(img.naturalWidth, MIN_SHOWN_WIDTH)}px`;  // small videos shown larger
      }
      redraw();
      loading = false;
      resolve(true);
    };
    img.onerror = () => { loading = false; resolve(false); };
    img.src = url;
  });
}

function redraw() {
  if (!frameImage) return;
  ctx.drawImage(frameImage, 0, 0);
  if (box && document.body.dataset.state === "ready") {
    ctx.strokeStyle = "#00e600";
    ctx.lineWidth = 2 * canvas.width / canvas.clientWidth;  // 2 screen pixels
    ctx.strokeRect(box[0] - 1, box[1] - 1, box[2], box[3]);
  }
}

function imagePoint(event) {
  const r = canvas.getBoundingClientRect();  // the border box: the picture starts inside the border
  const x = (event.clientX - r.left - canvas.clientLeft) * canvas.width / canvas.clientWidth;
  const y = (event.clientY - r.top - canvas.clientTop) * canvas.height / canvas.clientHeight;
  return [Math.min(Math.max(x, 0), canvas.width), Math.min(Math.max(y, 0), canvas.height)];
}

function boxFrom(a, b) {
  // corners in 0-based continuous pixels -> OTB box: top-left pixel (1-based), width, height
  const x0 = Math.round(Math.min(a[0], b[0])), y0 = Math.round(Math.min(a[1], b[1]));
  const x1 = Math.round(Math.max(a[0], b[0])), y1 = Math.round(Math.max(a[1], b[1]));
  return [x0 + 1, y0 + 1, x1 - x0, y1 - y0];
}

canvas.addEventListener("mousedown", (e) => {
  if (!session || document.body.dataset.state !== "ready") return;
  drag = imagePoint(e);
  e.preventDefault();
});
window.addEventListener("mousemove", (e) => {
  if (!drag) return;
  box = boxFrom(drag, imagePoint(e));
  redraw();
});
window.addEventListener("mouseup", (e) => {
  if (!drag) return;
  box = boxFrom(drag, imagePoint(e));
  drag = null;
  $("box-text").textContent = box.join(",");
  $("start").disabled = false;
  redraw();
});

// ---- 2. trackers and start -------------------------------------------------------------------
async function listTrackers() {
  const trackers = await api("/api/trackers");
  const list = $("tracker-list");
  for (const t of trackers) {
    const span = document.createElement("span");
    span.className = "tracker";
    span.innerHTML = `<label><input type="checkbox" name="tracker" value="${t.name}"` +
      `${t.default ? " checked" : ""}> ${t.name}</label>` +
      (t.weights ? ` <input type="text" name="weights-${t.name}" placeholder="weights file (optional)">` : "");
    list.appendChild(span);
  }
}

$("start").onclick = async () => {
  showError("");
  const trackers = [...document.querySelectorAll("input[name=tracker]:checked")].map((el) => {
    const weights = document.querySelector(`input[name="weights-${el.value}"]`);
    return { name: el.value, weights: weights ? weights.value : "" };
  });
  try {
    session = await api(`/api/sessions/${session.id}/start`, {
      method: "POST", headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ box, trackers }),
    });
  } catch (err) {
    showError(err.message);
    return;
  }
  $("start").disabled = true;
  $("controls").hidden = false;
  $("pause").textContent = "Pause";
  legend();
  poll();
};

function legend() {
  const el = $("legend");
  el.textContent = "";
  for (const [name, colour] of Object.entries(session.colours)) {
    const span = document.createElement("span");
    span.innerHTML = `<i style="background:${colour}"></i>`;
    span.append(name);
    el.appendChild(span);
  }
}

// ---- 3. watching -----------------------------------------------------------------------------
async function poll() {
  if (!session) return;
  const id = session.id;
  let s;
  try {
    s = await api(`/api/sessions/${id}/status`);
  } catch (err) {
    showError(err.message);
    return;
  }
  if (!session || session.id !== id) return;
  session = s;
  const final = FINAL.includes(s.state);
  if (!final) document.body.dataset.state = s.state;  // a final state once the results are on the page
  $("state").textContent = s.state;
  $("frame-no").textContent = s.latest === null ? "" : `frame ${s.latest + 1}` + (s.total ? ` / ${s.total}` : "");
  $("fps").textContent = Object.entries(s.fps).map(([n, f]) => `${n} ${f.toFixed(1)} fps`).join(", ");
  $("progress").max = s.total || 1;
  $("progress").value = s.total ? s.tracked : 0;
  $("seek").max = Math.max(s.tracked - 1, 0);
  if (following) $("seek").value = $("seek").max;
  $("pause").textContent = s.state === "paused" ? "Resume" : "Pause";
  if (s.error) showError(s.error);
  if (following && s.tracked > 0 && (!loading || final)) {
    await showFrame(`/api/sessions/${id}/live.jpg?n=${s.tracked}`);
  }
  if (final) {
    finish(s);
    document.body.dataset.state = s.state;
  } else {
    pollTimer = setTimeout(poll, POLL_MS);
  }
}

$("pause").onclick = () => {
  const action = session.state === "paused" ? "resume" : "pause";
  api(`/api/sessions/${session.id}/${action}`, { method: "POST" }).catch((e) => showError(e.message));
};
$("stop").onclick = () => {
  api(`/api/sessions/${session.id}/stop`, { method: "POST" }).catch((e) => showError(e.message));
};
$("seek").oninput = async () => {
  following = false;
  $("live").disabled = false;
  const i = Number($("seek").value);
  $("frame-no").textContent = `frame ${i + 1} (seeking)`;
  await showFrame(`/api/sessions/${session.id}/frame/${i}.jpg`);
};
$("live").onclick = () => {
  following = true;
  $("live").disabled = true;
  showFrame(`/api/sessions/${session.id}/live.jpg?n=${session.tracked}`);
};

function finish(s) {
  $("pause").disabled = true;
  $("stop").disabled = true;
  if (s.state === "error" || !s.tracked) return;
  $("results-step").hidden = false;
  const base = `/api/sessions/${s.id}`;
  const list = $("downloads");
  list.textContent = "";
  const link = (href, text) => {
    const li = document.createElement("li");
    const a = document.createElement("a");
    a.href = href;
    a.textContent = text;
    a.setAttribute("download", "");
    li.appendChild(a);
    list.appendChild(li);
  };
  for (const name of Object.keys(s.fps)) {
    link(`${base}/boxes/${encodeURIComponent(name)}.txt`, `${name} boxes (OTB text)`);
  }
  link(`${base}/video.mp4`, "annotated video (mp4)");
  const table = $("scores");
  const body = table.querySelector("tbody");
  body.textContent = "";
  for (const [name, score] of Object.entries(s.scores)) {
    const row = body.insertRow();
    row.insertCell().textContent = name;
    row.insertCell().textContent = score.auc.toFixed(3);
    row.insertCell().textContent = score.precision.toFixed(3);
  }
  table.hidden = !Object.keys(s.scores).length;
  const plot = $("success-plot");
  plot.hidden = table.hidden;
  if (!table.hidden) plot.src = `${base}/plot/success.png`;
}

window.addEventListener("DOMContentLoaded", () => {
  document.body.dataset.state = "open";
  listTrackers().catch((err) => showError(err.message));
});
