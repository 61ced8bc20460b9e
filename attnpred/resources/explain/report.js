// attnpred explain report. Reads the JSON block, draws one page of examples at a time.
// Text only ever reaches the page through textContent; maps are 8-bit, base64, decoded on
// demand and cached per example; only the selected layer/head is drawn.
(function () {
  "use strict";
  var data = JSON.parse(document.getElementById("report-data").textContent);
  var examples = data.examples;
  var SVG = "http://www.w3.org/2000/svg";
  var state = { method: data.default_method, layer: 0, head: 0, channel: 0, page: 0,
                size: data.page_size || 20, query: "", sort: "index", order: [] };
  var decoded = new Map();

  function el(tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined && text !== null) e.textContent = String(text);
    return e;
  }
  function svg(tag, attrs) {
    var e = document.createElementNS(SVG, tag);
    for (var k in attrs) e.setAttribute(k, attrs[k]);
    return e;
  }
  function fmt(x, d) { return (x === null || x === undefined || isNaN(x)) ? "–" : Number(x).toFixed(d === undefined ? 3 : d); }

  // ---- maps: {s: shape, m: max, q: base64 uint8} ------------------------------------------
  function bytes(ex, name) {
    var key = ex._i + "/" + name;
    if (!decoded.has(key)) {
      var raw = atob(ex.maps[name].q), out = new Uint8Array(raw.length);
      for (var i = 0; i < raw.length; i++) out[i] = raw.charCodeAt(i);
      decoded.set(key, out);
      if (decoded.size > 400) decoded.delete(decoded.keys().next().value);
    }
    return decoded.get(key);
  }
  // The last two axes of a map as rows x cols for the selected leading indices.
  function slice(ex, name, lead) {
    var m = ex.maps[name], s = m.s, b = bytes(ex, name);
    var cols = s[s.length - 1], rows = s.length > 1 ? s[s.length - 2] : 1;
    var off = 0, stride = rows * cols, n = s.length - 2;
    for (var i = n - 1, mul = stride; i >= 0; i--) {
      off += Math.min(lead[i] || 0, s[i] - 1) * mul;
      mul *= s[i];
    }
    var scale = m.m / 255, out = new Float32Array(rows * cols);
    for (var j = 0; j < out.length; j++) out[j] = b[off + j] * scale;
    return { rows: rows, cols: cols, v: out };
  }
  // A word vector of a classification map for the selected layer/head.
  function vector(ex, name) {
    var s = ex.maps[name].s;
    if (s.length === 1) return slice(ex, name, []).v;
    if (s.length === 2) { var r = slice(ex, name, []); return r.v.subarray(Math.min(state.layer, s[0] - 1) * r.cols, (Math.min(state.layer, s[0] - 1) + 1) * r.cols); }
    var lh = slice(ex, name, [state.layer]);
    var h = Math.min(state.head, s[1] - 1);
    return lh.v.subarray(h * lh.cols, (h + 1) * lh.cols);
  }
  function methodOf(ex) {
    if (ex.maps[state.method]) return state.method;
    return Object.keys(ex.maps)[0];
  }

  // ---- ordering: search, sort, page -------------------------------------------------------
  function plaus(ex) {
    var p = ex.plausibility && ex.plausibility[methodOf(ex)];
    return p ? p.auprc : null;
  }
  function sortKey(ex) {
    switch (state.sort) {
      case "confidence-desc": return -(ex.confidence || 0);
      case "confidence-asc": return ex.confidence || 0;
      case "error": return -(ex.error === null || ex.error === undefined ? -1 : ex.error);
      case "plausibility-desc": var p = plaus(ex); return p === null ? 2 : -p;
      case "plausibility-asc": var q = plaus(ex); return q === null ? 2 : q;
      default: return ex._i;
    }
  }
  function reorder() {
    var q = state.query.toLowerCase();
    var hits = examples.filter(function (ex) { return !q || ex._search.indexOf(q) >= 0; });
    var keys = new Map(hits.map(function (ex) { return [ex, sortKey(ex)]; }));
    hits.sort(function (a, b) { return (keys.get(a) - keys.get(b)) || (a._i - b._i); });
    state.order = hits;
    state.page = Math.min(state.page, Math.max(0, Math.ceil(hits.length / state.size) - 1));
  }

  // ---- views ------------------------------------------------------------------------------
  function shadeRow(tag, words, weights, rgb) {
    var row = el("div", "row"), box = el("div", "tokens");
    row.appendChild(el("span", "tag", tag));
    var max = 0;
    for (var i = 0; i < weights.length; i++) if (weights[i] > max) max = weights[i];
    for (var j = 0; j < words.length; j++) {
      var w = j < weights.length ? weights[j] : 0, a = max > 0 ? w / max : 0;
      var t = el("span", "tok", words[j]);
      t.dataset.w = w.toFixed(4);
      t.title = w.toFixed(4);
      t.style.backgroundColor = "rgba(" + rgb + "," + (0.85 * a).toFixed(3) + ")";
      box.appendChild(t);
      box.appendChild(document.createTextNode(" "));
    }
    row.appendChild(box);
    return row;
  }
  function title(ex, parts) {
    var t = el("div", "title");
    t.appendChild(el("span", "idx", "#" + (ex._i + 1)));
    parts.forEach(function (p) { t.appendChild(p); });
    return t;
  }
  function classifyCard(ex) {
    var card = el("div", "card"), m = methodOf(ex);
    var parts = [el("b", "label", ex.label), el("span", "", "p = " + fmt(ex.confidence))];
    if (ex.gold_label !== null && ex.gold_label !== undefined) {
      parts.push(el("span", ex.gold_label === ex.label ? "ok" : "bad",
                    (ex.gold_label === ex.label ? "✓ gold " : "✗ gold ") + ex.gold_label));
    }
    card.appendChild(title(ex, parts));
    var probs = el("div", "probs");
    Object.keys(ex.probabilities).forEach(function (k) {
      var bar = el("div", "bar");
      bar.style.width = (100 * ex.probabilities[k]).toFixed(1) + "%";
      var wrap = el("div"); wrap.appendChild(bar);
      probs.appendChild(el("span", "", k)); probs.appendChild(wrap);
      probs.appendChild(el("span", "", fmt(ex.probabilities[k])));
    });
    card.appendChild(probs);
    card.appendChild(shadeRow("model", ex.words, vector(ex, m), "214,39,40"));
    if (ex.gold) {
      card.appendChild(shadeRow("gold", ex.words, ex.gold, "44,160,44"));
      var p = ex.plausibility && ex.plausibility[m];
      card.appendChild(el("div", "scores", p ? ("plausibility (" + m + "): AUPRC " + fmt(p.auprc) + " · token F1 " + fmt(p.token_f1)) : "plausibility: – (needs a one-vector method)"));
    }
    var f = ex.faithfulness && (ex.faithfulness[m] || ex.faithfulness[Object.keys(ex.faithfulness)[0]]);
    if (f) card.appendChild(faithTable(f));
    return card;
  }
  function faithTable(f) {
    var box = el("div", "faith", "faithfulness (" + f.method + "): drop of p(" + "predicted) when deleting the top words vs random words");
    var tab = el("table"), head = el("tr"), a = el("tr"), b = el("tr");
    head.appendChild(el("th", "", "deleted"));
    a.appendChild(el("th", "", "top words"));
    b.appendChild(el("th", "", "random"));
    f.bins.forEach(function (x, i) {
      head.appendChild(el("th", "", Math.round(100 * x) + "%"));
      a.appendChild(el("td", "", fmt(f.drop[i])));
      b.appendChild(el("td", "", fmt(f.random_drop[i])));
    });
    tab.appendChild(head); tab.appendChild(a); tab.appendChild(b);
    box.appendChild(tab);
    return box;
  }
  function seq2seqCard(ex) {
    var card = el("div", "card");
    card.appendChild(title(ex, [el("span", "", "score " + fmt(ex.score, 2))]));
    card.appendChild(textRow("source", ex.text));
    card.appendChild(textRow("output", ex.output));
    if (ex.reference) card.appendChild(textRow("reference", ex.reference));
    var name = ex.maps[state.method] && ex.maps[state.method].s.length >= 2 &&
      ex.maps[state.method].s[ex.maps[state.method].s.length - 1] === ex.src_words.length &&
      ex.maps[state.method].s[ex.maps[state.method].s.length - 2] === ex.tgt_words.length ? state.method : "cross_mean";
    var mat = slice(ex, name, [state.layer, state.head]);
    card.appendChild(matrix(ex, mat, name));
    return card;
  }
  function textRow(tag, text) {
    var row = el("div", "row");
    row.appendChild(el("span", "tag", tag));
    row.appendChild(el("div", "tokens", text));
    return row;
  }
  function matrix(ex, mat, name) {
    var cell = 18, left = 10 + 7 * Math.max.apply(null, ex.tgt_words.map(function (w) { return Math.min(w.length, 16); }).concat([3]));
    var top = 10 + 7 * Math.max.apply(null, ex.src_words.map(function (w) { return Math.min(w.length, 16); }).concat([3]));
    var W = left + cell * mat.cols + 10, H = top + cell * mat.rows + 10;
    var g = svg("svg", { width: W, height: H, viewBox: "0 0 " + W + " " + H, "class": "matrix", "data-map": name });
    var max = 0;
    for (var i = 0; i < mat.v.length; i++) if (mat.v[i] > max) max = mat.v[i];
    for (var r = 0; r < mat.rows; r++) {
      for (var c = 0; c < mat.cols; c++) {
        var w = mat.v[r * mat.cols + c];
        g.appendChild(svg("rect", { x: left + c * cell, y: top + r * cell, width: cell - 1, height: cell - 1,
                                    fill: "rgb(214,39,40)", "fill-opacity": max > 0 ? (w / max).toFixed(3) : 0,
                                    "data-w": w.toFixed(4) }));
      }
    }
    (ex.gold_links || []).forEach(function (l) {
      g.appendChild(svg("rect", { x: left + l[0] * cell + 1, y: top + l[1] * cell + 1, width: cell - 3, height: cell - 3,
                                  fill: "none", stroke: "rgb(44,160,44)", "stroke-width": 2, "class": "gold-link" }));
    });
    ex.links.forEach(function (l) {
      g.appendChild(svg("circle", { cx: left + l[0] * cell + cell / 2 - 0.5, cy: top + l[1] * cell + cell / 2 - 0.5, r: 3,
                                    fill: "#1d232a", "class": "link" }));
    });
    ex.tgt_words.forEach(function (w, r) {
      var t = svg("text", { x: left - 4, y: top + r * cell + cell * 0.7, "text-anchor": "end" });
      t.textContent = w.slice(0, 16); g.appendChild(t);
    });
    ex.src_words.forEach(function (w, c) {
      var x = left + c * cell + cell * 0.7, y = top - 4;
      var t = svg("text", { x: x, y: y, transform: "rotate(-60 " + x + " " + y + ")" });
      t.textContent = w.slice(0, 16); g.appendChild(t);
    });
    var box = el("div", "row");
    box.appendChild(el("span", "tag", name === "cross_mean" ? "cross (links' map)" : name));
    box.appendChild(g);
    return box;
  }
  function forecastCard(ex) {
    var card = el("div", "card"), c = Math.min(state.channel, ex.columns.length - 1);
    card.appendChild(title(ex, [el("b", "", ex.name || "forecast"), el("span", "", ex.columns[c]),
                                el("span", "", "MAE " + fmt(ex.error))]));
    var hist = ex.history.map(function (r) { return r[c]; });
    var fc = ex.values.map(function (r) { return r[c]; });
    var truth = ex.truth ? ex.truth.map(function (r) { return r[c]; }) : [];
    var att = ex.maps.history ? slice(ex, "history", []).v.subarray(c * hist.length, (c + 1) * hist.length) : new Float32Array(0);
    var n = hist.length + fc.length, W = 760, H = 260, L = 50, R = 10, top = 10, mid = 180;
    var all = hist.concat(fc).concat(truth.filter(function (x) { return x !== null; }));
    var lo = Math.min.apply(null, all), hi = Math.max.apply(null, all);
    if (hi === lo) { hi += 1; lo -= 1; }
    var x = function (i) { return L + (W - L - R) * i / Math.max(1, n - 1); };
    var y = function (v) { return top + (mid - top) * (1 - (v - lo) / (hi - lo)); };
    var g = svg("svg", { width: W, height: H, viewBox: "0 0 " + W + " " + H, "class": "forecast" });
    g.appendChild(svg("line", { x1: L, y1: mid, x2: W - R, y2: mid, "class": "axis" }));
    g.appendChild(svg("line", { x1: x(hist.length - 0.5), y1: top, x2: x(hist.length - 0.5), y2: H - 4, "class": "axis", "stroke-dasharray": "3 3" }));
    function path(vals, start, colour, dash, cls) {
      var d = "", pen = "M";
      vals.forEach(function (v, i) {
        if (v === null || v === undefined || isNaN(v)) { pen = "M"; return; }
        d += pen + x(start + i).toFixed(1) + " " + y(v).toFixed(1) + " "; pen = "L";
      });
      if (d) g.appendChild(svg("path", { d: d, fill: "none", stroke: colour, "stroke-width": 1.5, "stroke-dasharray": dash || "none", "class": cls }));
    }
    path(hist, 0, "#5b6672", null, "history");
    path(truth, hist.length, "rgb(44,160,44)", "4 3", "truth");
    path(fc, hist.length, "#4a78b5", null, "prediction");
    var amax = 0;
    for (var i = 0; i < att.length; i++) if (att[i] > amax) amax = att[i];
    var bw = Math.max(1, (W - L - R) / n);
    for (var j = 0; j < att.length; j++) {
      var h = amax > 0 ? 60 * att[j] / amax : 0;
      g.appendChild(svg("rect", { x: x(j) - bw / 2, y: H - 4 - h, width: bw, height: h, fill: "rgb(214,39,40)", "class": "att", "data-w": att[j].toFixed(5) }));
    }
    [[hi, y(hi)], [lo, y(lo)]].forEach(function (p) {
      var t = svg("text", { x: L - 4, y: p[1] + 4, "text-anchor": "end" }); t.textContent = fmt(p[0], 2); g.appendChild(t);
    });
    var t1 = svg("text", { x: L, y: H - 70 }); t1.textContent = "attention over the history"; g.appendChild(t1);
    card.appendChild(g);
    card.appendChild(el("div", "legend", "grey: history · blue: forecast · green dashed: truth · red bars: attention each history step received"));
    return card;
  }

  // ---- page -------------------------------------------------------------------------------
  function render() {
    var list = document.getElementById("list");
    list.textContent = "";
    var start = state.page * state.size, items = state.order.slice(start, start + state.size);
    var pages = Math.max(1, Math.ceil(state.order.length / state.size));
    document.getElementById("page").textContent = "page " + (state.page + 1) + " of " + pages + " · " + state.order.length + " shown";
    if (!items.length) list.appendChild(el("div", "empty", "no example matches"));
    var frag = document.createDocumentFragment();
    items.forEach(function (ex) {
      var card = ex.family === "seq2seq" ? seq2seqCard(ex) : ex.family === "forecast" ? forecastCard(ex) : classifyCard(ex);
      card.dataset.index = ex._i;
      frag.appendChild(card);
    });
    list.appendChild(frag);
    document.body.dataset.rendered = String(Date.now());
  }
  function options(select, values, labels) {
    select.textContent = "";
    values.forEach(function (v, i) { var o = el("option", "", labels ? labels[i] : v); o.value = String(v); select.appendChild(o); });
  }
  function range(n) { var r = []; for (var i = 0; i < n; i++) r.push(i); return r; }
  function setup() {
    document.getElementById("title").textContent = data.title;
    document.getElementById("summary").textContent = data.summary;
    examples.forEach(function (ex, i) {
      ex._i = i;
      ex._search = [ex.text || "", ex.output || "", ex.label || "", ex.name || ""].join(" ").toLowerCase();
    });
    var method = document.getElementById("method"), layer = document.getElementById("layer"),
        head = document.getElementById("head"), channel = document.getElementById("channel");
    options(method, data.methods.map(function (m) { return m.name; }), data.methods.map(function (m) { return m.label; }));
    method.value = state.method;
    // values and labels are both 1-based, so either selects the same option
    options(layer, range(data.layers).map(function (i) { return i + 1; }));
    options(head, range(data.heads).map(function (i) { return i + 1; }));
    options(channel, range(data.channels.length), data.channels);
    if (!data.channels.length) channel.parentNode.hidden = true;
    function enable() {
      var m = data.methods.filter(function (x) { return x.name === state.method; })[0];
      layer.disabled = !m || m.rank < 2; head.disabled = !m || m.rank < 3;
    }
    enable();
    method.addEventListener("change", function () { state.method = method.value; enable(); if (state.sort.indexOf("plausibility") === 0) reorder(); render(); });
    layer.addEventListener("change", function () { state.layer = +layer.value - 1; render(); });
    head.addEventListener("change", function () { state.head = +head.value - 1; render(); });
    channel.addEventListener("change", function () { state.channel = +channel.value; render(); });
    var search = document.getElementById("search"), timer = null;
    search.addEventListener("input", function () {
      clearTimeout(timer);
      timer = setTimeout(function () { state.query = search.value; state.page = 0; reorder(); render(); }, 120);
    });
    var sort = document.getElementById("sort");
    sort.addEventListener("change", function () { state.sort = sort.value; state.page = 0; reorder(); render(); });
    document.getElementById("prev").addEventListener("click", function () { if (state.page > 0) { state.page--; render(); } });
    document.getElementById("next").addEventListener("click", function () {
      if ((state.page + 1) * state.size < state.order.length) { state.page++; render(); }
    });
    reorder();
    render();
  }
  setup();
})();
