// Live job progress: every element with data-job-id polls /api/jobs/<id>/ until the job ends,
// then dispatches "encore:job-finished" on document with {id, status}.
(function () {
  "use strict";
  const FINISHED = new Set(["succeeded", "failed", "cancelled"]);

  // "probe: Step 6 of 10", but "Done" rather than "done: Done" (as the job_line template filter).
  function progressLine(stage, message) {
    if (!stage || message.toLowerCase().startsWith(stage.toLowerCase())) return message;
    return message ? stage + ": " + message : "";
  }

  function render(el, job) {
    const pct = Math.round((job.progress || 0) * 100);
    el.dataset.jobStatus = job.status;
    const bar = el.querySelector('[data-role="bar"]');
    if (bar) { bar.value = pct; bar.textContent = pct + "%"; }
    const percent = el.querySelector('[data-role="percent"]');
    if (percent) percent.textContent = pct + "%";
    const status = el.querySelector('[data-role="status"]');
    const waiting = !FINISHED.has(job.status) && job.waiting_reason;
    if (status) {
      status.textContent = waiting ? "Waiting for a worker"
        : job.status.charAt(0).toUpperCase() + job.status.slice(1);
      status.className = "job-status status-" + (waiting ? "waiting" : job.status);
    }
    const message = el.querySelector('[data-role="message"]');
    if (message) message.textContent = waiting ? job.waiting_reason : progressLine(job.stage || "", job.message || "");
    const cancel = el.querySelector('[data-role="cancel"]');
    if (cancel && (FINISHED.has(job.status) || job.cancel_requested)) cancel.hidden = true;
    const error = el.querySelector('[data-role="error"]');
    if (error) {
      if (job.error_code) {
        error.hidden = false;
        error.textContent = (job.error_detail || "It failed.") + " ";
        const code = document.createElement("code");
        code.textContent = job.error_code;
        error.appendChild(code);
      } else {
        error.hidden = true;
      }
    }
  }

  function watch(el) {
    const id = el.dataset.jobId;
    let delay = 500;
    let failures = 0;
    async function tick() {
      try {
        const response = await fetch("/api/jobs/" + id + "/", {headers: {"Accept": "application/json"},
                                                               credentials: "same-origin"});
        if (!response.ok) throw new Error("HTTP " + response.status);
        const job = await response.json();
        failures = 0;
        el.classList.remove("offline");
        render(el, job);
        if (FINISHED.has(job.status)) {
          document.dispatchEvent(new CustomEvent("encore:job-finished", {detail: {id: id, status: job.status}}));
          return;
        }
        delay = job.status === "running" ? 700 : 1500;
      } catch (err) {
        failures += 1;
        el.classList.add("offline");
        const message = el.querySelector('[data-role="message"]');
        if (message) message.textContent = "Connection lost, retrying…";
        delay = Math.min(10000, 1000 * 2 ** Math.min(failures, 4));
      }
      setTimeout(tick, delay);
    }
    if (!FINISHED.has(el.dataset.jobStatus)) tick();
  }

  function csrfToken(form) {
    const input = form.querySelector('input[name="csrfmiddlewaretoken"]');
    return input ? input.value : "";
  }

  // Cancel through the API without leaving the page; the poll then shows "Cancelled".
  function wireCancel(el) {
    const form = el.querySelector('[data-role="cancel"]');
    if (!form) return;
    form.addEventListener("submit", async function (event) {
      event.preventDefault();
      const button = form.querySelector("button");
      if (button) { button.disabled = true; button.textContent = "Cancelling…"; }
      const response = await fetch("/api/jobs/" + el.dataset.jobId + "/cancel/", {
        method: "POST", credentials: "same-origin",
        headers: {"Accept": "application/json", "X-CSRFToken": csrfToken(form)}});
      if (response.ok) render(el, await response.json());
      else if (button) { button.disabled = false; button.textContent = "Cancel"; }
    });
  }

  window.encoreWatchJobs = function (root) {
    (root || document).querySelectorAll("[data-job-id]").forEach(function (el) { wireCancel(el); watch(el); });
  };
  document.addEventListener("DOMContentLoaded", function () { window.encoreWatchJobs(document); });
})();
