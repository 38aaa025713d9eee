// Song page: the analysis timeline (SVG drawn from the analysis JSON), a playhead that follows
// the audio, scene prompt editing through the API, and a reload when the analysis job ends.
(function () {
  "use strict";
  const SVG = "http://www.w3.org/2000/svg";
  const MOOD = {euphoric: "#ffb347", serene: "#5ad1b3", melancholy: "#6f8cff", tense: "#ff5c6c"};
  // Lanes, top to bottom (y, height).
  const L = {sections: [0, 26], wave: [34, 84], emotion: [128, 64], words: [202, 54], axis: [262, 18]};
  const HEIGHT = 282;
  const GUTTER = 58;        // left margin for the lanes' labels and the emotion axis, never under data
  const WORD_ROWS = 3;

  function el(name, attrs, parent, text) {
    const node = document.createElementNS(SVG, name);
    for (const [k, v] of Object.entries(attrs || {})) node.setAttribute(k, v);
    if (text !== undefined) node.textContent = text;
    if (parent) parent.appendChild(node);
    return node;
  }

  // Zoom 1 is "the whole song in the panel"; higher zooms scroll.
  function fitPxPerS(svg, a) {
    return Math.max((svg.parentElement.clientWidth - 2 - GUTTER) / Math.max(a.duration_s, 0.1), 0.5);
  }

  function draw(svg, a, zoom) {
    const fit = fitPxPerS(svg, a);
    const pxPerS = fit * Math.max(zoom, 1);
    svg.dataset.pxPerS = pxPerS;
    const width = Math.ceil(GUTTER + a.duration_s * pxPerS);
    const x = (t) => GUTTER + t * pxPerS;
    svg.innerHTML = "";
    svg.setAttribute("width", width);
    svg.setAttribute("height", HEIGHT);
    svg.setAttribute("viewBox", `0 0 ${width} ${HEIGHT}`);

    // Sections: a band per section, coloured by mood, named.
    const sec = el("g", {"class": "lane-sections"}, svg);
    a.sections.forEach((s) => {
      const w = Math.max(x(s.end_s) - x(s.start_s) - 2, 1);
      el("rect", {x: x(s.start_s) + 1, y: L.sections[0], width: w, height: L.sections[1], rx: 6,
                  fill: MOOD[s.mood] || "#888", "fill-opacity": 0.85, "data-section": s.name}, sec);
      // The longest label that fits its band: "verse · euphoric", else "verse", else none.
      const label = el("text", {x: x(s.start_s) + 8, y: L.sections[0] + 17, "class": "section-label"}, sec,
                       `${s.name} · ${s.mood}`);
      if (label.getComputedTextLength() > w - 12) label.textContent = s.name;
      if (label.getComputedTextLength() > w - 12) label.remove();
      // Section backdrop down through the other lanes keeps the eye on the structure.
      el("rect", {x: x(s.start_s), y: L.wave[0], width: x(s.end_s) - x(s.start_s), height: L.words[0] + L.words[1] - L.wave[0],
                  fill: MOOD[s.mood] || "#888", "fill-opacity": 0.06}, sec);
    });

    // Waveform: one bar per peak bucket, mirrored around the lane's middle.
    const mid = L.wave[0] + L.wave[1] / 2;
    const n = a.waveform.length;
    let path = "";
    const span = width - GUTTER;
    a.waveform.forEach((p, i) => {
      const px = GUTTER + (i + 0.5) * span / n;
      const h = Math.max(p * (L.wave[1] / 2 - 2), 0.5);
      path += `M${px.toFixed(1)} ${(mid - h).toFixed(1)}V${(mid + h).toFixed(1)}`;
    });
    el("path", {d: path, "class": "waveform", "stroke-width": Math.max(span / n * 0.7, 1)}, svg);

    // Beats over the waveform; bar starts taller and brighter.
    const downs = new Set(a.downbeats.map((t) => t.toFixed(3)));
    let beats = "", bars = "";
    a.beats.forEach((t) => {
      const bx = x(t).toFixed(1);
      if (downs.has(t.toFixed(3))) bars += `M${bx} ${L.wave[0]}V${L.wave[0] + L.wave[1]}`;
      else beats += `M${bx} ${L.wave[0] + 12}V${L.wave[0] + L.wave[1] - 12}`;
    });
    el("path", {d: beats, "class": "beat"}, svg);
    el("path", {d: bars, "class": "downbeat"}, svg);

    // Emotion: valence and arousal, -1..1, around a zero line.
    const e = a.emotion;
    const ey = (v) => L.emotion[0] + L.emotion[1] / 2 - v * (L.emotion[1] / 2 - 3);
    // Emotion axis in the gutter: the scale (+1, 0, -1) and which curve is which, in its colour.
    [[1, "+1"], [0, "0"], [-1, "−1"]].forEach(([v, label]) => {
      el("line", {x1: GUTTER - 5, x2: width, y1: ey(v), y2: ey(v), "class": v === 0 ? "zero" : "grid"}, svg);
      el("text", {x: GUTTER - 7, y: ey(v) + 3.5, "class": "axis-label tick-label", "text-anchor": "end"}, svg, label);
    });
    el("text", {x: 4, y: L.emotion[0] + 22, "class": "lane-name valence"}, svg, "valence");
    el("text", {x: 4, y: L.emotion[0] + 46, "class": "lane-name arousal"}, svg, "arousal");
    ["valence", "arousal"].forEach((key) => {
      if (!e[key] || !e[key].length) return;
      const d = e[key].map((v, i) => `${i ? "L" : "M"}${x(e.times_s[i]).toFixed(1)} ${ey(v).toFixed(1)}`).join("");
      el("path", {d: d, "class": "curve " + key, "data-curve": key}, svg);
    });
    el("text", {x: 4, y: L.wave[0] + L.wave[1] / 2 + 4, "class": "lane-name"}, svg, "beats");
    el("text", {x: 4, y: L.words[0] + 30, "class": "lane-name"}, svg, "words");

    // Lyric words on staggered rows. A word is written only where its measured width fits before
    // the next one on its row; the others keep their tick and tooltip (zoom in to read them), so
    // words never overlap whatever the zoom.
    const rows = new Array(WORD_ROWS).fill(-Infinity);
    const wg = el("g", {"class": "lane-words"}, svg);
    let hidden = 0;
    a.words.forEach((w) => {
      const wx = x(w.start_s);
      const g = el("g", {}, wg);
      el("title", {}, g, `${w.text} ${w.start_s.toFixed(2)} s (${w.source})`);
      const row = rows.findIndex((end) => end <= wx);
      const y = L.words[0] + 14 + Math.max(row, 0) * 17;
      el("line", {x1: wx, x2: wx, y1: y - 11, y2: y + 3, "class": "word-tick " + w.source}, g);
      if (row < 0) { hidden += 1; return; }
      const label = el("text", {x: wx + 3, y: y, "class": "word " + w.source, "data-word": ""}, g, w.text);
      const right = wx + 3 + label.getComputedTextLength();
      if (right > width) { label.remove(); hidden += 1; return; }
      rows[row] = right + 6;
    });
    svg.dataset.wordsHidden = hidden;
    if (!a.words.length) el("text", {x: GUTTER + 8, y: L.words[0] + 30, "class": "lane-label"}, svg, "no words");

    // Time axis: a label every 5, 10, 30 or 60 s, whichever keeps labels at least 60 px apart.
    const step = [5, 10, 15, 30, 60, 120].find((s) => s * pxPerS >= 60) || 120;
    for (let t = 0; t <= a.duration_s; t += step) {
      el("line", {x1: x(t), x2: x(t), y1: L.axis[0], y2: L.axis[0] + 5, "class": "axis"}, svg);
      const m = Math.floor(t / 60), s = Math.round(t % 60);
      const tick = el("text", {x: x(t) + 3, y: L.axis[0] + 14, "class": "axis-label"}, svg,
                      `${m}:${String(s).padStart(2, "0")}`);
      if (x(t) + 3 + tick.getComputedTextLength() > width) tick.remove();
    }
    return el("line", {x1: GUTTER, x2: GUTTER, y1: 0, y2: HEIGHT, "class": "playhead"}, svg);
  }

  function setupTimeline() {
    const svg = document.getElementById("timeline");
    if (!svg) return;
    const audio = document.getElementById("song-audio");
    const zoom = document.getElementById("timeline-zoom");
    const scroll = document.getElementById("timeline-scroll");
    let analysis = null, playhead = null;
    const zoomValue = () => Number(zoom ? zoom.value : 1);
    const px = () => Number(svg.dataset.pxPerS || zoomValue());
    function redraw() { if (analysis) playhead = draw(svg, analysis, zoomValue()); }
    fetch(svg.dataset.analysisUrl, {credentials: "same-origin", headers: {"Accept": "application/json"}})
      .then((r) => { if (!r.ok) throw new Error("HTTP " + r.status); return r.json(); })
      .then((a) => { analysis = a; redraw(); svg.dataset.ready = "true"; })
      .catch((err) => { svg.dataset.error = String(err); });
    if (zoom) zoom.addEventListener("input", redraw);
    window.addEventListener("resize", redraw);
    svg.addEventListener("click", (ev) => {
      if (!audio || !analysis) return;
      const box = svg.getBoundingClientRect();
      audio.currentTime = Math.max(0, (ev.clientX - box.left - GUTTER) / px());
      audio.play().catch(() => {});
    });
    function follow() {
      if (playhead && audio) {
        const hx = GUTTER + audio.currentTime * px();
        playhead.setAttribute("x1", hx); playhead.setAttribute("x2", hx);
        if (!audio.paused && (hx < scroll.scrollLeft || hx > scroll.scrollLeft + scroll.clientWidth - 40)) {
          scroll.scrollLeft = hx - 40;
        }
      }
      requestAnimationFrame(follow);
    }
    requestAnimationFrame(follow);
    document.querySelectorAll("[data-seek]").forEach((b) => b.addEventListener("click", () => {
      if (!audio) return;
      audio.currentTime = Number(b.dataset.seek);
      audio.play().catch(() => {});
    }));
  }

  function csrfToken() {
    const m = document.cookie.match(/(?:^|;\s*)csrftoken=([^;]+)/);
    return m ? decodeURIComponent(m[1]) : "";
  }

  function setupPrompts() {
    const list = document.querySelector("ol.scenes");
    if (!list) return;
    list.addEventListener("click", async (ev) => {
      const button = ev.target.closest(".save-prompt");
      if (!button) return;
      const item = button.closest(".scene");
      const status = item.querySelector(".save-status");
      status.textContent = "saving…";
      status.className = "save-status small";
      try {
        const response = await fetch(list.dataset.sceneUrl + item.dataset.index + "/", {
          method: "PATCH", credentials: "same-origin",
          headers: {"Content-Type": "application/json", "Accept": "application/json", "X-CSRFToken": csrfToken()},
          body: JSON.stringify({prompt: item.querySelector("textarea").value}),
        });
        const body = await response.json();
        if (!response.ok) throw new Error(`${body.detail} (${body.code})`);
        item.querySelector("textarea").value = body.prompt;
        status.textContent = "saved";
        status.classList.add("ok");
      } catch (err) {
        status.textContent = String(err.message || err);
        status.classList.add("error");
      }
    });
  }

  document.addEventListener("encore:job-finished", () => {
    if (document.querySelector("[data-reload-on-finish]")) window.location.reload();
  });
  document.addEventListener("DOMContentLoaded", () => { setupTimeline(); setupPrompts(); });
})();
