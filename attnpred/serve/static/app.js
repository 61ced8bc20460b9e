"use strict";
// The attnpred page: no framework, no CDN; talks only to this server (CSP connect-src 'self').
(function () {
  const $ = (id) => document.getElementById(id);

  function headers() {
    const h = { "Content-Type": "application/json" };
    const key = $("key").value.trim();
    if (key) h["Authorization"] = "Bearer " + key;
    return h;
  }

  async function call(body) {
    body.model = $("model").value || null;
    body.return_attention = true;
    $("status").textContent = "";
    const res = await fetch("/v1/predict", { method: "POST", headers: headers(), body: JSON.stringify(body) });
    const data = await res.json().catch(() => ({}));
    if (!res.ok) {
      $("status").textContent = res.status + ": " + (typeof data.detail === "string" ? data.detail : JSON.stringify(data.detail || data));
      return null;
    }
    return data.results[0];
  }

  function showWords(result) {
    const box = $("words");
    box.textContent = "";
    const words = result.words || [], att = result.word_attention || [];
    const top = Math.max(1e-9, ...att);
    words.forEach((w, i) => {
      const span = document.createElement("span");
      const a = att[i] || 0;
      span.textContent = w;
      span.title = "attention " + a.toFixed(3);
      span.dataset.attention = a.toFixed(4);
      span.style.backgroundColor = "rgba(220, 60, 20, " + (a / top).toFixed(3) + ")";
      box.appendChild(span);
      box.appendChild(document.createTextNode(" "));
    });
  }

  function showProbs(result) {
    const table = $("probs");
    table.textContent = "";
    Object.entries(result.probabilities || {}).forEach(([lab, p]) => {
      const tr = table.insertRow();
      tr.insertCell().textContent = lab;
      tr.insertCell().textContent = p.toFixed(3);
    });
  }

  function drawForecast(result) {
    const canvas = $("chart"), ctx = canvas.getContext("2d");
    canvas.hidden = false;
    ctx.clearRect(0, 0, canvas.width, canvas.height);
    const target = Object.keys(result.forecast || {})[0];
    if (!target) return;
    const att = (result.attention || {})[target] || [];
    const fc = result.forecast[target];
    const n = att.length + fc.length, w = canvas.width / Math.max(n, 1), h = canvas.height;
    const top = Math.max(1e-9, ...att);
    att.forEach((a, i) => {  // attention over the history as shaded bars
      ctx.fillStyle = "rgba(220, 60, 20, " + (a / top).toFixed(3) + ")";
      ctx.fillRect(i * w, 0, Math.ceil(w), h);
    });
    const lo = Math.min(...fc), hi = Math.max(...fc), span = hi - lo || 1;
    ctx.strokeStyle = "#1050c0"; ctx.lineWidth = 2; ctx.beginPath();
    fc.forEach((v, j) => {
      const x = (att.length + j) * w, y = h - 10 - (v - lo) / span * (h - 20);
      if (j === 0) ctx.moveTo(x, y); else ctx.lineTo(x, y);
    });
    ctx.stroke();
    $("label").textContent = target + ": forecast of " + fc.length + " steps (shading: attention over the history)";
  }

  function show(result) {
    if (!result) return;
    if (result.forecast) { drawForecast(result); return; }
    $("chart").hidden = true;
    $("label").textContent = result.label !== undefined ? result.label : JSON.stringify(result).slice(0, 200);
    showWords(result);
    showProbs(result);
  }

  async function loadModels() {
    const res = await fetch("/v1/models", { headers: headers() });
    if (!res.ok) return;
    const data = await res.json(), sel = $("model");
    sel.textContent = "";
    data.models.forEach((m) => {
      const opt = document.createElement("option");
      opt.value = m.name; opt.textContent = m.name + " (" + m.task + ")";
      sel.appendChild(opt);
    });
  }

  document.addEventListener("DOMContentLoaded", () => {
    loadModels();
    $("key").addEventListener("change", loadModels);
    $("predict").addEventListener("click", async () => show(await call({ inputs: [$("text").value] })));
    $("csv").addEventListener("change", async (ev) => {
      const file = ev.target.files[0];
      if (file) show(await call({ csv: await file.text() }));
    });
  });
})();
