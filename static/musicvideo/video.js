// Music video page: while the render runs, poll the video's API entry; show each finished
// scene's thumbnail as it arrives, switch the player to the preview when it exists, and to the
// final video (with the download button) when the job succeeds.
(function () {
  "use strict";
  const page = document.getElementById("video-page");
  if (!page) return;
  const player = document.getElementById("player");
  const panel = document.getElementById("player-panel");
  const note = document.getElementById("player-note");
  const actions = document.getElementById("video-actions");
  const count = document.getElementById("scenes-count");
  let showing = player.getAttribute("src") || "";

  function showScenes(done, total) {
    done.forEach((d) => {
      const li = document.querySelector(`#scene-thumbs li[data-index="${d.index}"]`);
      if (!li || li.classList.contains("done")) return;
      const thumb = li.querySelector(".thumb");
      thumb.style.backgroundImage = `url("${thumb.dataset.src}")`;
      li.classList.add("done");
    });
    count.textContent = `${done.length} of ${total} rendered`;
  }

  function play(url, text) {
    if (showing === url) return;
    showing = url;
    player.src = url;
    panel.hidden = false;
    note.textContent = text;
  }

  async function poll() {
    let data;
    try {
      const r = await fetch(page.dataset.api, {headers: {Accept: "application/json"}, credentials: "same-origin"});
      if (!r.ok) return setTimeout(poll, 3000);
      data = await r.json();
    } catch (e) {
      return setTimeout(poll, 3000);
    }
    showScenes(data.scenes_done, data.scenes.length);
    if (data.video_url) {
      play(player.dataset.final, "The finished video.");
      actions.hidden = false;
    } else if (data.preview_url) {
      play(player.dataset.preview, "A quick low-resolution preview while the full video renders.");
    }
    const finished = ["succeeded", "failed", "cancelled"].includes(data.job.status);
    page.dataset.status = data.job.status;
    if (!finished || (data.job.status === "succeeded" && !data.video_url)) setTimeout(poll, 1200);
    else if (data.job.status !== "succeeded") window.location.reload();
  }

  if (!["succeeded", "failed", "cancelled"].includes(page.dataset.status)) poll();
  else fetch(page.dataset.api, {headers: {Accept: "application/json"}}).then((r) => r.json())
    .then((d) => showScenes(d.scenes_done, d.scenes.length)).catch(() => {});
})();
