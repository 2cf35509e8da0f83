// callbot try-it page: record or upload speech, POST it to /ars, show the transcript and reply,
// play the spoken answer. Recordings are converted to 16 kHz mono WAV in the browser, because
// browsers record WebM/Ogg-Opus, which the service refuses (415) rather than guess at.
"use strict";

const RATE = 16000;
const $ = (id) => document.getElementById(id);
const history = [];
let recorder = null;
let apiKey = sessionStorage.getItem("callbot-api-key") || "";

// Every API call goes through here: when the service answers 401 (CALLBOT_API_KEY is set on it),
// ask for the key once, keep it for this tab, and send it as X-API-Key from then on.
async function call(url, init) {
  const send = () => fetch(url, { ...init, headers: { ...(init.headers || {}), ...(apiKey ? { "X-API-Key": apiKey } : {}) } });
  let response = await send();
  if (response.status === 401) {
    const entered = window.prompt("API key / API 키를 입력하세요");
    if (entered) {
      apiKey = entered.trim();
      sessionStorage.setItem("callbot-api-key", apiKey);
      response = await send();
    }
  }
  return response;
}

// The bot's turns go back with the signature the service gave them: it refuses unsigned ones.
function remember(userText, reply) {
  history.push({ role: "user", content: userText }, { role: "assistant", content: reply.text, signature: reply.signature });
  history.splice(0, Math.max(0, history.length - 10));
}

function status(text, isError = false) {
  $("status").textContent = text;
  $("status").classList.toggle("error", isError);
}

function encodeWav(samples, rate) {
  const buffer = new ArrayBuffer(44 + samples.length * 2);
  const view = new DataView(buffer);
  const text = (offset, s) => [...s].forEach((c, i) => view.setUint8(offset + i, c.charCodeAt(0)));
  text(0, "RIFF"); view.setUint32(4, 36 + samples.length * 2, true); text(8, "WAVE");
  text(12, "fmt "); view.setUint32(16, 16, true); view.setUint16(20, 1, true); view.setUint16(22, 1, true);
  view.setUint32(24, rate, true); view.setUint32(28, rate * 2, true); view.setUint16(32, 2, true);
  view.setUint16(34, 16, true); text(36, "data"); view.setUint32(40, samples.length * 2, true);
  samples.forEach((x, i) => view.setInt16(44 + i * 2, Math.max(-1, Math.min(1, x)) * 0x7fff, true));
  return new Blob([buffer], { type: "audio/wav" });
}

async function toWav(blob) {
  const decoded = await new AudioContext().decodeAudioData(await blob.arrayBuffer());
  const offline = new OfflineAudioContext(1, Math.ceil(decoded.duration * RATE), RATE);
  const source = offline.createBufferSource();
  source.buffer = decoded; source.connect(offline.destination); source.start();
  return encodeWav((await offline.startRendering()).getChannelData(0), RATE);
}

async function errorText(response) {
  try {
    let body = await response.json();
    if (Array.isArray(body)) body = body[0];
    return body.error || JSON.stringify(body);
  } catch { return response.statusText; }
}

// The bot's action: a confirm question gets yes/no buttons (typed or spoken 네/아니요 work too);
// a handover shows the one-line summary the counsellor receives.
function showAction(reply) {
  $("confirm").hidden = reply.action !== "confirm";
  $("summary").hidden = !(reply.action === "handover" && reply.summary);
  $("summary").textContent = reply.summary ? `상담원에게 전달 / for the counsellor: ${reply.summary}` : "";
}

function showAnswer(result) {
  $("reply").textContent = result.reply.text + (result.reply.guarded ? "  (상담원 연결 / handed over)" : "");
  showAction(result.reply);
  $("answer").src = "data:audio/wav;base64," + result.audio_wav_base64;
  $("answer").play().catch(() => {});
  remember(result.transcript.text, result.reply);
}

async function ask(audioBlob) {
  status("처리 중… / working…");
  const form = new FormData();
  form.append("audio", audioBlob, "speech.wav");
  if (history.length) form.append("history", JSON.stringify(history));
  const response = await call("../ars", { method: "POST", body: form });
  if (!response.ok) { status(`${response.status}: ${await errorText(response)}`, true); return; }
  const result = await response.json();
  $("transcript").textContent = result.transcript.text || "(없음 / nothing heard)";
  showAnswer(result);
  status("완료 / done");
}

async function askText(text) {
  status("처리 중… / working…");
  const response = await call("../reply", {
    method: "POST", headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ text, history: history.length ? history : null }),
  });
  if (!response.ok) { status(`${response.status}: ${await errorText(response)}`, true); return; }
  const reply = await response.json();
  $("transcript").textContent = text;
  const speech = await call("../synthesize", {
    method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify({ text: reply.text }),
  });
  $("reply").textContent = reply.text + (reply.guarded ? "  (상담원 연결 / handed over)" : "");
  showAction(reply);
  if (speech.ok) { $("answer").src = URL.createObjectURL(await speech.blob()); $("answer").play().catch(() => {}); }
  remember(text, reply);
  status("완료 / done");
}

// Interview analysis: typed text goes to /interview_text, a recording to /interview (which
// transcribes it first); the page shows what each head decided and how sure it was.
function showAnalysis(result, transcript) {
  const label = (head) => `${head.label} (${Math.round(head.confidence * 100)}%)`;
  $("a-transcript").textContent = transcript || "–";
  $("a-emotion").textContent = label(result.emotion);
  $("a-intent").textContent = label(result.intent);
  $("a-summary").textContent = result.summary || "–";
  $("analysis").hidden = false;
}

async function analyse(request, transcriptOf) {
  status("분석 중… / analysing…");
  const response = await call(request.url, request.init);
  if (!response.ok) { status(`${response.status}: ${await errorText(response)}`, true); return; }
  const result = await response.json();
  showAnalysis(result, transcriptOf(result));
  status("완료 / done");
}

$("analyse").addEventListener("submit", async (event) => {
  event.preventDefault();
  const text = $("answer-text").value.trim();
  const init = { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify({ text }) };
  if (text) { try { await analyse({ url: "../interview_text", init }, () => text); } catch (e) { status(String(e), true); } }
});

$("answer-file").addEventListener("change", async (event) => {
  const file = event.target.files[0];
  const form = new FormData();
  if (file) {
    form.append("audio", file, file.name);
    try { await analyse({ url: "../interview", init: { method: "POST", body: form } }, (r) => r.transcript.text); }
    catch (e) { status(String(e), true); }
  }
  event.target.value = "";
});

$("record").addEventListener("click", async () => {
  if (recorder && recorder.state === "recording") { recorder.stop(); return; }
  try {
    const stream = await navigator.mediaDevices.getUserMedia({ audio: true });
    const chunks = [];
    recorder = new MediaRecorder(stream);
    recorder.ondataavailable = (e) => chunks.push(e.data);
    recorder.onstop = async () => {
      stream.getTracks().forEach((t) => t.stop());
      $("record").textContent = "● 녹음 시작 / Record"; $("record").classList.remove("recording");
      try { await ask(await toWav(new Blob(chunks))); } catch (e) { status(String(e), true); }
    };
    recorder.start();
    $("record").textContent = "■ 녹음 끝 / Stop"; $("record").classList.add("recording");
    status("녹음 중… / recording…");
  } catch (e) { status(`마이크를 쓸 수 없습니다 / no microphone: ${e}`, true); }
});

$("file").addEventListener("change", async (event) => {
  const file = event.target.files[0];
  if (file) { try { await ask(file); } catch (e) { status(String(e), true); } }
  event.target.value = "";
});

$("ask").addEventListener("submit", async (event) => {
  event.preventDefault();
  const text = $("question").value.trim();
  if (text) { try { await askText(text); } catch (e) { status(String(e), true); } }
});

for (const [id, said] of [["yes", "네"], ["no", "아니요"]]) {
  $(id).addEventListener("click", async () => {
    $("confirm").hidden = true;
    try { await askText(said); } catch (e) { status(String(e), true); }
  });
}
