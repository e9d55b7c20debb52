// Real-time emotion detection: webcam frames -> WS /v1/stream, photos -> POST /v1/predict.
"use strict";

const $ = (id) => document.getElementById(id);
const video = $("video");
const overlay = $("overlay");
const capture = document.createElement("canvas");
const COLORS = { angry: "#d62728", disgust: "#8c564b", fear: "#9467bd", happy: "#2ca02c",
                 sad: "#1f77b4", surprise: "#ff7f0e", neutral: "#7f7f7f" };
let labels = [];  // from GET /v1/model, the model's own output order
// With FER_API_KEYS set, open the page as /?api_key=KEY; the key goes with every call.
const apiKey = new URLSearchParams(location.search).get("api_key");
const authHeaders = apiKey ? { "X-API-Key": apiKey } : {};

const live = { stream: null, socket: null, inFlight: false, sentAt: 0, timer: null,
               retries: 0, processedTimes: [], wanted: false };

function setStatus(el, text, isError = false) {
  el.textContent = text;
  el.classList.toggle("error", isError);
}

async function loadModelInfo() {
  try {
    const response = await fetch("/v1/model", { headers: authHeaders });
    const info = await response.json();
    if (!response.ok) throw new Error(info.error ? info.error.message : response.status);
    labels = info.labels;
    // A FER+ model is scored against the annotators' majority, a FER-2013 one against its labels.
    const metrics = info.metadata?.val_metrics;
    const ferplus = info.metadata?.targets === "ferplus" ? metrics?.ferplus : undefined;
    const acc = ferplus ? ferplus.accuracy : metrics?.accuracy;
    const against = ferplus ? "FER+ majority" : "FER-2013 labels";
    $("model-info").textContent = `model ${info.name} (${info.version})` +
      (acc ? `, val accuracy ${(100 * acc).toFixed(1)}% against ${against}` : "") +
      `, detector ${info.detector}`;
  } catch (err) {
    setStatus($("model-info"), `Cannot load model information: ${err.message || err}`, true);
  }
  buildBars();
}

function buildBars() {
  const bars = $("bars");
  bars.replaceChildren();
  for (const name of labels) {
    const row = document.createElement("div");
    row.className = "bar";
    row.innerHTML = `<span>${name}</span><span class="track"><span class="fill" style="width:0%"></span></span><span class="value">–</span>`;
    row.dataset.label = name;
    bars.appendChild(row);
  }
}

function updateBars(scores) {
  for (const row of $("bars").children) {
    const p = scores ? scores[row.dataset.label] : 0;
    row.querySelector(".fill").style.width = `${(100 * p).toFixed(1)}%`;
    row.querySelector(".fill").style.background = COLORS[row.dataset.label] || "#1f6feb";
    row.querySelector(".value").textContent = scores ? `${(100 * p).toFixed(0)}%` : "–";
  }
}

// A stream face's scores: smoothed over its track (default) or this frame's own (raw toggle).
function shownScores(face) {
  return $("raw-toggle").checked && face.raw_scores ? face.raw_scores : face.scores;
}

function topEmotion(scores) {
  return Object.entries(scores).reduce((best, entry) => (entry[1] > best[1] ? entry : best));
}

function drawFaces(ctx, faces, scale = 1) {
  ctx.lineWidth = Math.max(2, 3 * scale);
  ctx.font = `${Math.max(14, Math.round(18 * scale))}px system-ui, sans-serif`;
  for (const face of faces) {
    const { x, y, w, h } = face.box;
    const [emotion, p] = topEmotion(shownScores(face));
    const color = COLORS[emotion] || "#1f6feb";
    ctx.strokeStyle = color;
    ctx.strokeRect(x, y, w, h);
    const track = face.track_id !== undefined ? `#${face.track_id} ` : "";
    const text = `${track}${emotion} ${(100 * p).toFixed(0)}%`;
    const tw = ctx.measureText(text).width + 8;
    const th = parseInt(ctx.font, 10) + 6;
    ctx.fillStyle = color;
    ctx.fillRect(x, Math.max(0, y - th), tw, th);
    ctx.fillStyle = "#fff";
    ctx.fillText(text, x + 4, Math.max(0, y - th) + th - 6);
    if ($("keypoints-toggle").checked && face.keypoints) {
      drawKeypoints(ctx, face.keypoints, color, Math.max(2, 3 * scale));
    }
  }
}

// The detector's keypoints (null for the Haar detector), drawn when the page is asked to.
function drawKeypoints(ctx, keypoints, color, radius) {
  ctx.fillStyle = color;
  for (const { x, y } of Object.values(keypoints)) {
    ctx.beginPath();
    ctx.arc(x, y, radius, 0, 2 * Math.PI);
    ctx.fill();
  }
}

// ---- live stream -------------------------------------------------------------------------

async function startCamera() {
  live.wanted = true;
  setStatus($("live-status"), "Asking for the camera…");
  try {
    live.stream = await navigator.mediaDevices.getUserMedia({ video: { width: 640, height: 480 }, audio: false });
  } catch (err) {
    live.wanted = false;
    const denied = err && (err.name === "NotAllowedError" || err.name === "SecurityError");
    setStatus($("live-status"), denied ? "Camera permission was denied. Allow it in the browser and try again."
                                       : `No camera available (${err && err.name ? err.name : err}).`, true);
    return;
  }
  video.srcObject = live.stream;
  await video.play();
  $("camera-toggle").textContent = "Stop camera";
  connect();
}

function stopCamera() {
  live.wanted = false;
  clearTimeout(live.timer);
  if (live.socket) live.socket.close(1000, "camera stopped");
  if (live.stream) live.stream.getTracks().forEach((t) => t.stop());
  live.stream = null;
  video.srcObject = null;
  overlay.getContext("2d").clearRect(0, 0, overlay.width, overlay.height);
  $("camera-toggle").textContent = "Start camera";
  setStatus($("live-status"), "Camera off.");
}

function connect() {
  const scheme = location.protocol === "https:" ? "wss" : "ws";
  const query = apiKey ? `?api_key=${encodeURIComponent(apiKey)}` : "";
  const socket = new WebSocket(`${scheme}://${location.host}/v1/stream${query}`);
  live.socket = socket;
  live.inFlight = false;
  setStatus($("live-status"), "Connecting to the server…");
  socket.onopen = () => {
    live.retries = 0;
    setStatus($("live-status"), "Streaming.");
    scheduleFrame(0);
  };
  socket.onmessage = (event) => onResult(JSON.parse(event.data));
  socket.onclose = (event) => {
    live.inFlight = false;
    if (!live.wanted) return;
    const delay = Math.min(10000, 500 * 2 ** live.retries++);
    const why = event.reason ? `: ${event.reason}` : "";
    setStatus($("live-status"), `Server connection closed (code ${event.code}${why}). Reconnecting in ${(delay / 1000).toFixed(1)} s…`, true);
    live.timer = setTimeout(connect, delay);
  };
}

function scheduleFrame(delay) {
  clearTimeout(live.timer);
  live.timer = setTimeout(sendFrame, delay);
}

function sendFrame() {
  const socket = live.socket;
  if (!live.wanted || !socket || socket.readyState !== WebSocket.OPEN || live.inFlight) return;
  if (!video.videoWidth) { scheduleFrame(100); return; }
  capture.width = video.videoWidth;
  capture.height = video.videoHeight;
  capture.getContext("2d").drawImage(video, 0, 0);
  capture.toBlob((blob) => {
    if (!blob || socket.readyState !== WebSocket.OPEN) return;
    live.inFlight = true;  // one frame in flight: the next goes after this one's answer
    live.sentAt = performance.now();
    socket.send(blob);
  }, "image/jpeg", 0.8);
}

function onResult(message) {
  live.inFlight = false;
  const now = performance.now();
  const rtt = now - live.sentAt;
  if (message.type === "error") {
    setStatus($("live-status"), `Server error on frame ${message.seq}: ${message.error.message}`, true);
  } else {
    setStatus($("live-status"), "Streaming.");
    live.processedTimes.push(now);
    while (live.processedTimes.length && now - live.processedTimes[0] > 2000) live.processedTimes.shift();
    $("stat-fps").textContent = (live.processedTimes.length / 2).toFixed(1);
    $("stat-rtt").textContent = `${rtt.toFixed(0)} ms`;
    $("stat-dropped").textContent = String(message.dropped);
    $("stat-faces").textContent = String(message.faces.length);
    overlay.width = message.image.width;
    overlay.height = message.image.height;
    const ctx = overlay.getContext("2d");
    ctx.clearRect(0, 0, overlay.width, overlay.height);
    drawFaces(ctx, message.faces, overlay.width / 640);
    const largest = message.faces[0];  // the server sorts faces largest first
    updateBars(largest ? shownScores(largest) : null);
  }
  const interval = 1000 / Number($("fps").value);
  scheduleFrame(Math.max(0, interval - rtt));
}

$("camera-toggle").addEventListener("click", () => (live.wanted ? stopCamera() : startCamera()));
if (!navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) {
  setStatus($("live-status"), "This browser offers no camera access here (it needs https or localhost).", true);
}

// ---- photos ------------------------------------------------------------------------------

async function predictFile(file) {
  const status = $("photo-status");
  setStatus(status, `Analysing ${file.name}…`);
  const form = new FormData();
  form.append("file", file);
  let body;
  try {
    const response = await fetch("/v1/predict", { method: "POST", body: form, headers: authHeaders });
    body = await response.json();
    if (!response.ok) {
      setStatus(status, `The server refused ${file.name}: ${body.error ? body.error.message : response.status}`, true);
      return;
    }
  } catch (err) {
    setStatus(status, `The server is unreachable (${err}).`, true);
    return;
  }
  const bitmap = await createImageBitmap(file, { imageOrientation: "from-image" });
  const canvas = $("photo");
  canvas.width = body.image.width;
  canvas.height = body.image.height;
  const ctx = canvas.getContext("2d");
  ctx.drawImage(bitmap, 0, 0, canvas.width, canvas.height);
  drawFaces(ctx, body.faces, canvas.width / 640);
  canvas.dataset.faces = String(body.faces.length);
  const summary = body.faces.map((f) => `${f.emotion} ${(100 * f.confidence).toFixed(0)}%`).join(", ");
  setStatus(status, body.faces.length ? `${body.faces.length} face(s): ${summary}` : "No face found.");
}

const dropZone = $("drop-zone");
$("file-input").addEventListener("change", (e) => e.target.files[0] && predictFile(e.target.files[0]));
dropZone.addEventListener("keydown", (e) => {
  if (e.key === "Enter" || e.key === " ") { e.preventDefault(); $("file-input").click(); }
});
dropZone.addEventListener("dragover", (e) => { e.preventDefault(); dropZone.classList.add("over"); });
dropZone.addEventListener("dragleave", () => dropZone.classList.remove("over"));
dropZone.addEventListener("drop", (e) => {
  e.preventDefault();
  dropZone.classList.remove("over");
  const file = e.dataTransfer.files[0];
  if (file) predictFile(file);
});

loadModelInfo();
