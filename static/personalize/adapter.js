// Adapter page: draws the loss curve and polls the adapter while it trains (steps, time left).
// When the training job ends (encore:job-finished from jobs.js) the page reloads to show results.
(function () {
  "use strict";
  const section = document.getElementById("training");
  const svg = document.getElementById("loss-curve");
  if (!section || !svg) return;
  const NS = "http://www.w3.org/2000/svg";

  function draw(points) {
    while (svg.firstChild) svg.removeChild(svg.firstChild);
    if (!points || points.length < 2) return;
    const W = 600, H = 180, pad = 24;
    const steps = points.map(p => p[0]), losses = points.map(p => p[1]);
    const x0 = Math.min(...steps), x1 = Math.max(...steps);
    const y0 = Math.min(...losses), y1 = Math.max(...losses);
    const sx = s => pad + (W - 2 * pad) * (s - x0) / Math.max(1, x1 - x0);
    const sy = v => H - pad - (H - 2 * pad) * (v - y0) / Math.max(1e-9, y1 - y0);
    const path = document.createElementNS(NS, "path");
    path.setAttribute("d", points.map((p, i) => (i ? "L" : "M") + sx(p[0]).toFixed(1) + " " + sy(p[1]).toFixed(1)).join(" "));
    svg.appendChild(path);
    const label = document.createElementNS(NS, "text");
    label.setAttribute("x", pad); label.setAttribute("y", 14);
    label.textContent = "loss " + losses[losses.length - 1].toFixed(4) + " at step " + steps[steps.length - 1];
    svg.appendChild(label);
  }

  const data = document.getElementById("loss-data");
  draw(data ? JSON.parse(data.textContent) : []);

  let stopped = false;
  async function poll() {
    if (stopped) return;
    try {
      const response = await fetch(section.dataset.statusUrl, {headers: {"Accept": "application/json"},
                                                               credentials: "same-origin"});
      if (response.ok) {
        const body = await response.json();
        draw(body.loss_curve);
        document.getElementById("steps").textContent = body.steps_done;
        document.getElementById("time-left").textContent =
          body.time_left_s === null ? "" : "about " + Math.round(body.time_left_s) + " s left";
        document.getElementById("adapter-status").textContent = body.status.charAt(0).toUpperCase() + body.status.slice(1);
        if (["ready", "failed", "cancelled"].includes(body.status)) stopped = true;
      }
    } catch (err) { /* the job bar shows connection trouble; try again */ }
    if (!stopped) setTimeout(poll, 1000);
  }
  const status = document.getElementById("adapter-status").textContent.trim().toLowerCase();
  if (status === "queued" || status === "training") poll();
  document.addEventListener("encore:job-finished", () => { setTimeout(() => window.location.reload(), 300); });
})();
