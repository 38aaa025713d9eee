// The soundtrack timeline: motion, visual beats and cuts against the music's beats and downbeats,
// drawn as SVG from the job's summary; a playhead follows the video and a click seeks it.
(function () {
  "use strict";
  const NS = "http://www.w3.org/2000/svg";
  const ROLE_COLOURS = {intro: "#3a4160", verse: "#31406b", chorus: "#5b3a78", bridge: "#2f5a5a", outro: "#3a4160"};

  function el(name, attrs, parent) {
    const node = document.createElementNS(NS, name);
    for (const key in attrs) node.setAttribute(key, attrs[key]);
    if (parent) parent.appendChild(node);
    return node;
  }

  function nearest(sorted, t) {
    let lo = 0, hi = sorted.length - 1, best = Infinity;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      best = Math.min(best, Math.abs(sorted[mid] - t));
      if (sorted[mid] < t) lo = mid + 1; else hi = mid - 1;
    }
    return best;
  }

  function draw(summary, svg, scroll) {
    const duration = summary.duration_s;
    const width = Math.max(scroll.clientWidth, Math.round(duration * 14));
    const px = (t) => 8 + (t / duration) * (width - 16);
    const lanes = {sections: [6, 24], motion: [36, 64], visual: [108, 36], music: [152, 36], hits: [196, 10], axis: [214, 14]};
    const height = 234;
    svg.setAttribute("width", width);
    svg.setAttribute("height", height);
    svg.setAttribute("viewBox", `0 0 ${width} ${height}`);
    svg.textContent = "";
    const defs = el("defs", {}, svg);
    const grad = el("linearGradient", {id: "st-motion-fill", x1: 0, y1: 0, x2: 0, y2: 1}, defs);
    el("stop", {offset: "0%", "stop-color": "#35c77b", "stop-opacity": 0.85}, grad);
    el("stop", {offset: "100%", "stop-color": "#35c77b", "stop-opacity": 0.08}, grad);

    const label = (y, text) => {
      const t = el("text", {x: 10, y: y, fill: "#6b7085", "font-size": 10, "font-family": "system-ui"}, svg);
      t.textContent = text;
    };
    // Sections, coloured by role and labelled.
    const [sy, sh] = lanes.sections;
    for (const s of summary.music.sections) {
      const x0 = px(s.start_s), x1 = px(s.end_s);
      el("rect", {x: x0, y: sy, width: Math.max(1, x1 - x0 - 2), height: sh, rx: 5, fill: ROLE_COLOURS[s.role] || "#3a4160"}, svg);
      if (x1 - x0 > 40) {
        const t = el("text", {x: x0 + 7, y: sy + 16, fill: "#e8e9ee", "font-size": 11, "font-family": "system-ui", "font-weight": 600}, svg);
        t.textContent = s.role;
      }
    }
    // Motion intensity as an area.
    const [my, mh] = lanes.motion;
    const values = summary.analysis.motion.values, step = summary.analysis.motion.step_s;
    let d = `M ${px(0)} ${my + mh}`;
    values.forEach((v, i) => { d += ` L ${px(Math.min(i * step, duration))} ${my + mh - v * mh}`; });
    d += ` L ${px(Math.min((values.length - 1) * step, duration))} ${my + mh} Z`;
    el("path", {d: d, fill: "url(#st-motion-fill)", stroke: "#35c77b", "stroke-width": 1.2}, svg);
    label(my + 11, "motion");
    // Lane baselines.
    for (const key of ["visual", "music"]) {
      const [y, h] = lanes[key];
      el("line", {x1: px(0), x2: px(duration), y1: y + h, y2: y + h, stroke: "#2a2f40"}, svg);
    }
    label(lanes.visual[0] + 10, "picture");
    label(lanes.music[0] + 10, "music");
    // Cuts: a white line through every lane.
    for (const c of summary.analysis.cuts_s) {
      el("line", {x1: px(c), x2: px(c), y1: sy, y2: lanes.hits[0] + lanes.hits[1], stroke: "#ffffff", "stroke-width": 1.5,
                  "stroke-dasharray": "4 3", opacity: 0.85}, svg);
    }
    // Visual beats, taller when stronger.
    const [vy, vh] = lanes.visual;
    summary.analysis.visual_beats_s.forEach((t, i) => {
      const s = summary.analysis.beat_strengths[i];
      el("line", {x1: px(t), x2: px(t), y1: vy + vh, y2: vy + vh - (0.35 + 0.65 * s) * vh, stroke: "#ff5c8a", "stroke-width": 2.2,
                  "stroke-linecap": "round"}, svg);
    });
    // Musical beats; downbeats taller and thicker.
    const [by, bh] = lanes.music;
    const down = new Set(summary.music.downbeats_s.map((t) => t.toFixed(3)));
    for (const t of summary.music.beats_s) {
      const isDown = down.has(t.toFixed(3));
      el("line", {x1: px(t), x2: px(t), y1: by + bh, y2: by + bh - (isDown ? bh : 0.5 * bh), stroke: isDown ? "#7c5cff" : "#9c88ff",
                  "stroke-width": isDown ? 3.2 : 1.6, "stroke-linecap": "round"}, svg);
    }
    // Hits: did a musical beat land within the window of each visual beat?
    const [hy] = lanes.hits;
    const beats = summary.music.beats_s.slice().sort((a, b) => a - b), win = summary.alignment.window_s;
    for (const t of summary.analysis.visual_beats_s) {
      const hit = nearest(beats, t) <= win + 1e-9;
      el("circle", hit ? {cx: px(t), cy: hy + 5, r: 3.2, fill: "#35c77b"}
                       : {cx: px(t), cy: hy + 5, r: 3, fill: "none", stroke: "#6b7085", "stroke-width": 1.5}, svg);
    }
    // Time axis.
    const [ay] = lanes.axis;
    const tick = duration > 120 ? 10 : duration > 40 ? 5 : duration > 12 ? 2 : 1;
    for (let t = 0; t <= duration + 1e-6; t += tick) {
      el("line", {x1: px(t), x2: px(t), y1: ay, y2: ay + 4, stroke: "#4a5066"}, svg);
      const text = el("text", {x: px(t), y: ay + 14, fill: "#6b7085", "font-size": 10, "text-anchor": "middle", "font-family": "system-ui"}, svg);
      text.textContent = `${t}s`;
    }
    const head = el("line", {x1: px(0), x2: px(0), y1: 2, y2: ay, stroke: "#f4b740", "stroke-width": 2, id: "st-playhead"}, svg);
    return {px: px, head: head, width: width, duration: duration};
  }

  function attach(state, svg, scroll, video) {
    const follow = () => {
      const x = state.px(Math.min(video.currentTime || 0, state.duration));
      state.head.setAttribute("x1", x);
      state.head.setAttribute("x2", x);
      if (x < scroll.scrollLeft + 40 || x > scroll.scrollLeft + scroll.clientWidth - 40) {
        scroll.scrollLeft = Math.max(0, x - scroll.clientWidth / 3);
      }
    };
    const loop = () => { follow(); if (!video.paused) requestAnimationFrame(loop); };
    video.addEventListener("play", () => requestAnimationFrame(loop));
    video.addEventListener("seeked", follow);
    video.addEventListener("timeupdate", follow);
    svg.addEventListener("click", (event) => {
      const box = svg.getBoundingClientRect();
      const t = ((event.clientX - box.left - 8) / (state.width - 16)) * state.duration;
      video.currentTime = Math.max(0, Math.min(state.duration, t));
      follow();
    });
    return follow;
  }

  document.addEventListener("DOMContentLoaded", function () {
    const data = document.getElementById("soundtrack-summary");
    const summary = data ? JSON.parse(data.textContent) : null;
    const svg = document.getElementById("st-chart");
    const scroll = document.getElementById("st-scroll");
    if (summary && svg && scroll) {
      const video = document.getElementById("st-video");
      const state = draw(summary, svg, scroll);
      const follow = video ? attach(state, svg, scroll, video) : null;
      let last = scroll.clientWidth;
      window.addEventListener("resize", () => {
        if (Math.abs(scroll.clientWidth - last) > 20) {
          last = scroll.clientWidth;
          Object.assign(state, draw(summary, svg, scroll));
          if (follow) follow();
        }
      });
    }
    // While the job runs, the step list follows the job's stage (shown in the progress message).
    const steps = document.getElementById("st-steps");
    const message = document.querySelector('.job-progress [data-role="message"]');
    if (steps && message) {
      const items = Array.from(steps.querySelectorAll("li"));
      const mark = () => {
        const stage = (message.textContent || "").split(":")[0].trim();
        const current = items.findIndex((li) => li.dataset.stage.split(" ").includes(stage));
        if (current < 0) return;
        items.forEach((li, i) => {
          li.classList.toggle("done", i < current);
          li.classList.toggle("active", i === current);
        });
      };
      new MutationObserver(mark).observe(message, {childList: true, characterData: true, subtree: true});
      mark();
    }
    // When the job ends, reload to show the result.
    document.addEventListener("encore:job-finished", function () {
      if (!summary) window.location.reload();
    });
  });
})();
