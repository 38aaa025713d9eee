// CHARCHA capture page: notice -> camera preview -> server-issued challenge -> verdict.
//
// The browser only shows prompts and light and sends frames with their capture times. It never
// knows the challenge ahead: it asks the server's cue endpoint ~8 times a second and shows each
// move and each light colour only once the server reveals it; the server records when it did,
// checks the frames' times against its own clock and decides. The preview is mirrored with CSS (what
// people expect of a camera); frames are taken from the camera track itself, so the server sees
// the real, unmirrored image. Batches that fail to send are retried in order until they would be
// too old for the server, and then the page says the connection was lost.
(function () {
  "use strict";

  const root = document.getElementById("charcha");
  if (!root) return;
  const config = JSON.parse(document.getElementById("charcha-config").textContent);
  const $ = (sel) => root.querySelector(sel);
  const video = $("#charcha-video");
  const stages = Array.from(root.querySelectorAll("[data-stage]"));

  const LOCK_KEY = "encore-charcha-lock";
  const LOCK_FRESH_MS = 2500;
  const tabId = (window.crypto && crypto.randomUUID) ? crypto.randomUUID() : String(Math.random()).slice(2);
  const channel = ("BroadcastChannel" in window) ? new BroadcastChannel("encore-charcha") : null;

  let stream = null;
  let lockTimer = null;
  let run = null;          // the running challenge, or null

  // ---------------------------------------------------------------- stages and messages
  function show(stage) {
    stages.forEach((el) => { el.hidden = el.dataset.stage !== stage; });
    root.dataset.current = stage;
    const cameraStages = new Set(["camera", "challenge"]);
    $("#charcha-stage-video").hidden = !cameraStages.has(stage);
    const focus = root.querySelector(`[data-stage="${stage}"] h2`);
    if (focus) { focus.setAttribute("tabindex", "-1"); focus.focus({preventScroll: true}); }
    // Keep what the person must look at in view: the camera during the challenge, the top otherwise.
    if (stage === "challenge") $("#charcha-stage-video").scrollIntoView({block: "start", behavior: "smooth"});
    else window.scrollTo({top: 0, behavior: "smooth"});
  }

  function showError(kind, title, text, retry) {
    stopEverything();
    $("#charcha-error-title").textContent = title;
    $("#charcha-error-text").textContent = text;
    $("#charcha-error").dataset.kind = kind;
    const retryButton = $("#charcha-error-retry");
    retryButton.hidden = !retry;
    retryButton.textContent = retry ? retry.label : "";
    retryButton.onclick = retry ? retry.action : null;
    show("error");
  }

  function setText(el, text) { if (el.textContent !== text) el.textContent = text; }
  function setData(el, key, value) { if (el.dataset[key] !== value) el.dataset[key] = value; }
  function setStyle(el, prop, value) { if (el.style.getPropertyValue(prop) !== value) el.style.setProperty(prop, value); }

  function banner(text) {
    const el = $("#charcha-banner");
    el.hidden = !text;
    el.textContent = text || "";
  }

  // ---------------------------------------------------------------- the screen's light
  // During the challenge the screen around the preview lights the face with the colours the server
  // reveals, then a steady neutral light. Every change fades over ~200 ms (CSS), also under
  // prefers-reduced-motion: a fade is gentler than a jump, and the server's sequence never changes
  // faster than ~1.5 times a second or into saturated red (photosensitivity guidance).
  const light = {
    el: document.getElementById("charcha-light"),
    on() {
      document.documentElement.classList.add("charcha-lit");
      this.el.hidden = false;
    },
    show(rgb) {
      const value = `rgb(${rgb[0]}, ${rgb[1]}, ${rgb[2]})`;
      if (this.el.dataset.rgb !== rgb.join(",")) {
        this.el.dataset.rgb = rgb.join(",");
        this.el.style.backgroundColor = value;
      }
    },
    off() {
      document.documentElement.classList.remove("charcha-lit");
      this.el.hidden = true;
    },
  };

  // ---------------------------------------------------------------- one tab at a time
  // BroadcastChannel answers "is another tab busy?" at once; the localStorage heartbeat covers
  // browsers without it. The server also keeps one open challenge per user and tells a superseded
  // tab so when it next sends frames.
  if (channel) {
    channel.onmessage = (event) => {
      const msg = event.data || {};
      if (msg.from === tabId) return;
      if (msg.type === "probe" && lockTimer) channel.postMessage({type: "busy", from: tabId});
      if (msg.type === "takeover" && lockTimer) {
        showError("other-tab", "Continued in another tab",
          "You started CHARCHA in another tab or window, so this one has stopped. Use the other tab, or reload this page to continue here.",
          null);
      }
    };
  }

  function readLock() {
    try { return JSON.parse(localStorage.getItem(LOCK_KEY) || "null"); } catch (e) { return null; }
  }

  async function anotherTabBusy() {
    const lock = readLock();
    if (lock && lock.id !== tabId && Date.now() - lock.ts < LOCK_FRESH_MS) return true;
    if (!channel) return false;
    return new Promise((resolve) => {
      const onMessage = (event) => {
        if (event.data && event.data.type === "busy") { cleanup(); resolve(true); }
      };
      const timer = setTimeout(() => { cleanup(); resolve(false); }, 300);
      function cleanup() { clearTimeout(timer); channel.removeEventListener("message", onMessage); }
      channel.addEventListener("message", onMessage);
      channel.postMessage({type: "probe", from: tabId});
    });
  }

  function takeLock() {
    const beat = () => {
      try { localStorage.setItem(LOCK_KEY, JSON.stringify({id: tabId, ts: Date.now()})); } catch (e) { /* private mode */ }
    };
    beat();
    clearInterval(lockTimer);
    lockTimer = setInterval(beat, 1000);
  }

  function releaseLock() {
    clearInterval(lockTimer);
    lockTimer = null;
    const lock = readLock();
    if (lock && lock.id === tabId) { try { localStorage.removeItem(LOCK_KEY); } catch (e) { /* ignore */ } }
  }

  // ---------------------------------------------------------------- camera
  const CAMERA_ERRORS = {
    NotAllowedError: ["camera-refused", "Camera access was refused",
      "CHARCHA needs your camera. Allow camera access for this site (the camera icon in the address bar), then try again."],
    SecurityError: ["camera-refused", "Camera access was refused",
      "Your browser blocked the camera for this page. Allow camera access for this site, then try again."],
    NotFoundError: ["camera-missing", "No camera found",
      "We could not find a camera. Connect one (or enable the built-in camera) and try again."],
    OverconstrainedError: ["camera-missing", "No suitable camera found",
      "Your camera does not offer a picture we can use. Try another camera."],
    NotReadableError: ["camera-busy", "The camera is busy",
      "Another app or tab is using your camera. Close it and try again."],
    AbortError: ["camera-busy", "The camera did not start",
      "Your camera could not be started. Close other apps that use it and try again."],
  };

  async function openCamera() {
    if (!navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) {
      showError("camera-missing", "No camera available here",
        "This browser cannot use a camera on this page. Use a current browser over a secure (https) connection.",
        {label: "Try again", action: () => location.reload()});
      return;
    }
    $("#charcha-camera-status").textContent = "Starting your camera…";
    try {
      stream = await navigator.mediaDevices.getUserMedia({
        audio: false,
        video: {facingMode: "user", width: {ideal: 640}, height: {ideal: 480}, frameRate: {ideal: 30}},
      });
    } catch (err) {
      const [kind, title, text] = CAMERA_ERRORS[err && err.name] ||
        ["camera-error", "The camera did not start", "Something went wrong starting your camera. Try again."];
      showError(kind, title, text, {label: "Try again", action: agree});
      return;
    }
    stream.getVideoTracks().forEach((track) => {
      track.addEventListener("ended", () => {
        if (stream) showError("camera-lost", "The camera stopped",
          "Your camera was switched off or disconnected. Check it and try again.", {label: "Try again", action: agree});
      });
    });
    video.srcObject = stream;
    await video.play().catch(() => undefined);
    show("camera");
    await waitForVideo();
    startPrecheck();
  }

  function waitForVideo() {
    return new Promise((resolve) => {
      if (video.videoWidth > 0) { resolve(); return; }
      video.addEventListener("loadedmetadata", () => resolve(), {once: true});
    });
  }

  function stopCamera() {
    if (stream) stream.getTracks().forEach((t) => t.stop());
    stream = null;
    video.srcObject = null;
  }

  function stopEverything() {
    stopPrecheck();
    light.off();
    if (run) run.abort();
    run = null;
    stopCamera();
    releaseLock();
    banner("");
  }

  // ---------------------------------------------------------------- face-in-frame check before Start
  // Twice a second a small picture goes to the server, which answers: how many faces, centred,
  // close enough, light enough (it keeps nothing). Start is enabled only while exactly one face is
  // ready, so nobody sits through a challenge that was going to fail for want of a face. A brief
  // miss (one answer) does not take Start away again.
  const precheck = {timer: null, stopped: true, misses: 0, failures: 0, canvas: null};
  const PRECHECK_EVERY_MS = 450;

  function setCheck(name, ok) {
    const item = root.querySelector(`#charcha-precheck [data-check="${name}"]`);
    if (item) setData(item, "ok", ok === null ? "" : (ok ? "1" : "0"));
  }

  function startPrecheck() {
    precheck.stopped = false;
    precheck.misses = 0;
    precheck.failures = 0;
    $("#charcha-start").disabled = true;
    $("#charcha-camera-status").textContent = "Checking that we can see you…";
    schedulePrecheck(0);
  }

  function stopPrecheck() {
    precheck.stopped = true;
    clearTimeout(precheck.timer);
  }

  function schedulePrecheck(ms) {
    clearTimeout(precheck.timer);
    precheck.timer = setTimeout(precheckOnce, ms);
  }

  function precheckFrame() {
    const scale = Math.min(1, 320 / Math.max(video.videoWidth, video.videoHeight));
    if (!precheck.canvas) precheck.canvas = document.createElement("canvas");
    const canvas = precheck.canvas;
    canvas.width = Math.round(video.videoWidth * scale);
    canvas.height = Math.round(video.videoHeight * scale);
    canvas.getContext("2d").drawImage(video, 0, 0, canvas.width, canvas.height);
    return new Promise((resolve) => canvas.toBlob(resolve, "image/jpeg", 0.7));
  }

  async function precheckOnce() {
    if (precheck.stopped) return;
    if (!stream || video.readyState < 2 || !video.videoWidth) { schedulePrecheck(200); return; }
    const blob = await precheckFrame();
    if (precheck.stopped) return;
    let result = {ok: false, status: 0, body: {}};
    if (blob) {
      const form = new FormData();
      form.append("frame", blob, "precheck.jpg");
      try { result = await api(config.urls.precheck, {method: "POST", body: form}); } catch (err) { /* offline */ }
    }
    if (precheck.stopped) return;
    if (result.ok) {
      precheck.failures = 0;
      showPrecheck(result.body);
      schedulePrecheck(PRECHECK_EVERY_MS);
      return;
    }
    precheck.failures += 1;
    if (result.status === 429) { schedulePrecheck(2000); return; }
    if ((result.status === 0 || result.status >= 500) && precheck.failures >= 4) {
      // The check itself is out of order: let the person go on; the server's verdict checks everything again.
      stopPrecheck();
      ["face", "centred", "close", "light"].forEach((name) => setCheck(name, null));
      $("#charcha-camera-status").textContent =
        "We couldn't check your position. Make sure only your face is in the oval, in good light, then press Start.";
      $("#charcha-start").disabled = false;
      return;
    }
    schedulePrecheck(1000);
  }

  function showPrecheck(answer) {
    const one = answer.faces === 1;
    setCheck("face", one);
    setCheck("centred", one ? answer.centred : null);
    setCheck("close", one ? (answer.close_enough && !answer.too_close) : null);
    setCheck("light", answer.bright_enough);
    setText($("#charcha-camera-status"), answer.hint || "");
    const start = $("#charcha-start");
    if (answer.ready) {
      precheck.misses = 0;
      start.disabled = false;
    } else {
      precheck.misses += 1;
      if (start.disabled || precheck.misses >= 2) start.disabled = true;
    }
  }

  // ---------------------------------------------------------------- server calls
  async function api(url, options) {
    const headers = Object.assign({"X-CSRFToken": config.csrfToken, "Accept": "application/json"},
      (options && options.headers) || {});
    const response = await fetch(url, Object.assign({credentials: "same-origin"}, options || {}, {headers}));
    let body = {};
    try { body = await response.json(); } catch (e) { body = {}; }
    return {ok: response.ok, status: response.status, body};
  }

  function url(name, id) { return config.urls[name].replace("00000000-0000-0000-0000-000000000000", id); }

  // ---------------------------------------------------------------- frame capture
  // Preferred: a worker reads the camera track itself (MediaStreamTrackProcessor) and encodes
  // there, with capture times from the camera's frame timestamps: a busy page can then neither
  // delay nor drop captures. Otherwise a timer on the page grabs the <video>, encoding in the
  // worker (OffscreenCanvas) or, last resort, with a <canvas>. Frames always come from the camera
  // itself, never from the mirrored preview.
  class Capturer {
    constructor(run, width, height) {
      this.run = run;
      this.width = width;
      this.height = height;
      this.quality = run.capture.jpeg_quality;
      this.worker = null;
      this.nextId = 1;
      this.waiting = new Map();
      this.mode = "canvas";
      const track = stream && stream.getVideoTracks()[0];
      if (window.Worker && window.OffscreenCanvas && config.urls.worker) {
        try {
          this.worker = new Worker(config.urls.worker);
          this.worker.onmessage = (event) => this.message(event.data);
          this.worker.onerror = () => this.fallBack();
          this.mode = (window.MediaStreamTrackProcessor && track) ? "stream" : "bitmap";
        } catch (err) {
          this.worker = null;
        }
      }
      if (this.mode === "canvas" || this.mode === "bitmap") {
        this.canvas = document.createElement("canvas");
        this.canvas.width = width;
        this.canvas.height = height;
        this.ctx = this.canvas.getContext("2d");
      }
    }

    start() {
      if (this.mode === "stream") {
        try {
          // A clone, so stopping capture never stops the preview's track.
          this.track = stream.getVideoTracks()[0].clone();
          const processor = new MediaStreamTrackProcessor({track: this.track, maxBufferSize: 8});
          this.worker.postMessage({
            type: "stream", readable: processor.readable, t0Abs: performance.timeOrigin + this.run.t0,
            minIntervalMs: Math.round(850 / this.run.capture.fps), width: this.width, height: this.height,
            quality: this.quality,
          }, [processor.readable]);
          return;
        } catch (err) {
          this.mode = "bitmap";
          this.canvas = document.createElement("canvas");
          this.canvas.width = this.width;
          this.canvas.height = this.height;
          this.ctx = this.canvas.getContext("2d");
        }
      }
      this.timer = setInterval(() => this.run.grab(), 1000 / this.run.capture.fps);
    }

    stop() {
      clearInterval(this.timer);
      if (this.worker && this.mode === "stream") this.worker.postMessage({type: "stop"});
      if (this.track) this.track.stop();
    }

    close() {
      this.stop();
      if (this.worker) this.worker.terminate();
      this.worker = null;
    }

    message(msg) {
      if (msg.type === "frame") this.run.accept(msg.t, msg.blob);
      else if (msg.type === "encoded") this.settle(msg.id, msg.blob || null);
    }

    settle(id, blob) {
      const callback = this.waiting.get(id);
      this.waiting.delete(id);
      if (callback) callback(blob);
    }

    fallBack() {
      if (this.worker) this.worker.terminate();
      this.worker = null;
      Array.from(this.waiting.keys()).forEach((id) => this.settle(id, null));
    }

    encode(callback) {
      if (this.worker && this.mode === "bitmap") {
        const id = this.nextId++;
        this.waiting.set(id, callback);
        createImageBitmap(video, {resizeWidth: this.width, resizeHeight: this.height, resizeQuality: "medium"})
          .then((bitmap) => {
            if (this.worker) this.worker.postMessage({type: "encode", id, bitmap, quality: this.quality}, [bitmap]);
            else this.settle(id, null);
          })
          .catch(() => this.settle(id, null));
        return;
      }
      if (!this.ctx) {
        this.canvas = document.createElement("canvas");
        this.canvas.width = this.width;
        this.canvas.height = this.height;
        this.ctx = this.canvas.getContext("2d");
      }
      this.ctx.drawImage(video, 0, 0, this.width, this.height);
      this.canvas.toBlob(callback, "image/jpeg", this.quality);
    }
  }

  // ---------------------------------------------------------------- the challenge
  class ChallengeRun {
    constructor(challenge) {
      this.challenge = challenge;
      this.capture = challenge.capture;
      this.t0 = performance.now();
      this.pending = [];        // frames captured, not yet batched
      this.queue = [];          // batches waiting to be sent, oldest first
      this.seq = 0;
      this.encoding = 0;
      this.lastT = -1;
      this.sending = false;
      this.stopped = false;
      this.failures = 0;
      const scale = Math.min(1, this.capture.max_side / Math.max(video.videoWidth, video.videoHeight));
      this.capturer = new Capturer(this, Math.round(video.videoWidth * scale), Math.round(video.videoHeight * scale));
      // The page knows neither the moves nor the colours: the cue endpoint reveals each when its
      // time comes. duration_ms only sizes the progress bar and a last-resort end.
      this.endS = challenge.duration_ms / 1000;
      this.cue = null;          // the last cue answer, with the page time it arrived
      this.cueAt = 0;
      this.cueBusy = false;
      this.spans = new Map();   // step index -> its window length as first seen (for the ring)
      this.onVisibility = () => {
        if (document.hidden) this.fail("hidden", "You left the page",
          "The challenge needs this tab in front of you the whole time. Try again and stay on this page.");
      };
      this.onOffline = () => banner("You are offline. Keeping your pictures and retrying…");
    }

    elapsedS() { return (performance.now() - this.t0) / 1000; }

    start() {
      document.addEventListener("visibilitychange", this.onVisibility);
      window.addEventListener("offline", this.onOffline);
      this.capturing = true;
      this.capturer.start();
      this.batchTimer = setInterval(() => this.cut(), this.capture.batch_ms);
      light.on();
      this.pollCue();
      this.animate();
    }

    async pollCue() {
      // One request at a time, every cue_every_ms: what to show now comes only from the server.
      if (this.stopped || this.finishing) return;
      this.cueTimer = setTimeout(() => this.pollCue(), this.challenge.cue_every_ms);
      if (this.cueBusy) return;
      this.cueBusy = true;
      let result;
      try {
        result = await api(url("cue", this.challenge.id), {method: "GET",
          headers: {"X-Challenge-Nonce": this.challenge.nonce}});
      } catch (err) {
        result = {ok: false, status: 0, body: {}};
      } finally {
        this.cueBusy = false;
      }
      if (this.stopped || this.finishing) return;
      if (result.ok) {
        this.cue = result.body;
        this.cueAt = performance.now();
        light.show(this.cue.light.rgb);
        if (this.cue.step && !this.spans.has(this.cue.step.index)) this.spans.set(this.cue.step.index, this.cue.step.ms_left);
        this.buildPills(this.cue.step_count);
        this.animate();
        if (this.cue.done) this.finish();
      } else if (result.status >= 400 && result.status < 500 && result.status !== 429) {
        this.refused(result.body);
      }
    }

    buildPills(count) {
      const list = $("#charcha-steps");
      if (list.children.length === count) return;
      list.innerHTML = "";
      for (let i = 0; i < count; i++) {
        const li = document.createElement("li");
        li.className = "charcha-step";
        li.dataset.state = "todo";
        li.textContent = String(i + 1);
        list.appendChild(li);
      }
    }

    grab() {
      if (!this.capturing || this.encoding >= 6 || video.readyState < 2) return;
      const t = Math.round(performance.now() - this.t0);
      if (t - this.lastT < this.capture.min_interval_ms) return;
      this.lastT = t;
      this.encoding += 1;
      const slot = {t, blob: null, done: false};
      this.pending.push(slot);
      this.capturer.encode((blob) => {
        this.encoding -= 1;
        slot.blob = blob;
        slot.done = true;
      });
    }

    accept(t, blob) {
      // A frame from the worker's camera reader: already encoded, already in capture order.
      if (!this.capturing || !blob) return;
      this.lastT = t;
      this.pending.push({t, blob, done: true});
    }

    cut() {
      // Encodings can finish out of order: a batch takes only frames whose predecessors are all
      // encoded, so capture times keep increasing across batches.
      let ready = 0;
      while (ready < this.pending.length && this.pending[ready].done) ready += 1;
      const frames = this.pending.splice(0, ready).filter((slot) => slot.blob);
      if (!frames.length) return;
      this.queue.push({seq: this.seq++, frames});
      this.pump();
    }

    async pump() {
      if (this.sending) return;
      this.sending = true;
      try {
        while (this.queue.length && !this.stopped) {
          const batch = this.queue[0];
          const ageMs = performance.now() - this.t0 - batch.frames[0].t;
          if (ageMs > this.capture.max_lag_ms - 500) {
            // The server would refuse these frames as too old: say so instead of sending them.
            this.fail("connection", "The connection was lost",
              "Your pictures could not reach us in time. Check your internet connection and try again.");
            return;
          }
          const form = new FormData();
          form.append("nonce", this.challenge.nonce);
          form.append("seq", String(batch.seq));
          form.append("capture_ms", JSON.stringify(batch.frames.map((f) => f.t)));
          batch.frames.forEach((f, i) => form.append("frames", f.blob, `f${batch.seq}-${i}.jpg`));
          let result;
          try {
            const controller = new AbortController();
            const timer = setTimeout(() => controller.abort(), 3000);
            result = await api(url("frames", this.challenge.id), {method: "POST", body: form, signal: controller.signal});
            clearTimeout(timer);
          } catch (err) {
            result = {ok: false, status: 0, body: {}};
          }
          if (result.ok) {
            this.queue.shift();
            this.failures = 0;
            banner("");
            $("#charcha-sent").textContent = String(result.body.frames_received || 0);
            continue;
          }
          if (result.status === 0 || result.status >= 500 || result.status === 429) {
            this.failures += 1;
            banner(`Connection unstable — retrying (${this.queue.length} batch${this.queue.length > 1 ? "es" : ""} waiting)…`);
            await new Promise((r) => setTimeout(r, Math.min(1000, 150 * 2 ** this.failures)));
            continue;
          }
          this.refused(result.body);
          return;
        }
      } finally {
        this.sending = false;
      }
    }

    refused(body) {
      const code = body.code || "error";
      if (code === "challenge_superseded") {
        this.fail("other-tab", "Continued in another tab",
          "A newer challenge was started in another tab or window, so this one has stopped.");
      } else if (code === "challenge_expired") {
        this.fail("expired", "The challenge expired", body.detail || "Challenges expire after 3 minutes. Start a new one.");
      } else {
        this.fail(code, "We could not accept the pictures", body.detail || "Something went wrong. Try again.");
      }
    }

    animate() {
      // Ten updates a second, each written only when it changes: the page's main thread must stay
      // free for capturing frames on time (the server reads long gaps as tampering).
      clearTimeout(this.animateTimer);
      if (this.stopped || this.finishing) return;
      const now = this.elapsedS();
      const cue = this.cue;
      const prompt = $("#charcha-prompt");
      const step = cue && cue.step;
      const msLeft = step ? Math.max(0, step.ms_left - (performance.now() - this.cueAt)) : 0;
      if (cue && cue.done) {
        setText(prompt, "Done — hold still");
        setData(prompt, "action", "done");
        setText($("#charcha-next"), "");
        setText($("#charcha-countdown"), "");
        setStyle($("#charcha-ring"), "--fraction", "1");
        setText($("#charcha-step-label"), "All moves done");
      } else if (step && msLeft > 0) {
        const span = Math.max(1, this.spans.get(step.index) || step.ms_left);
        setData(prompt, "action", step.action);
        setText(prompt, step.prompt);
        setText($("#charcha-next"), "");
        setText($("#charcha-countdown"), String(Math.ceil(msLeft / 1000)));
        setStyle($("#charcha-ring"), "--fraction", Math.min(1, Math.max(0, 1 - msLeft / span)).toFixed(2));
        setData($("#charcha-ring"), "active", "1");
        setText($("#charcha-step-label"), `Move ${step.index + 1} of ${step.count}`);
      } else {
        const lightPhase = !cue || cue.phase === "light";
        setData(prompt, "action", "neutral");
        setText(prompt, lightPhase ? "Hold still and look at the camera" : "Relax — look at the camera");
        setText($("#charcha-next"), lightPhase ? "The screen's light is checking your face" : "The next move comes in a moment");
        setText($("#charcha-countdown"), "");
        setStyle($("#charcha-ring"), "--fraction", "0");
        setData($("#charcha-ring"), "active", "0");
        setText($("#charcha-step-label"), lightPhase ? "Get ready" : "Next move coming");
      }
      const shown = step && msLeft > 0 ? step.index : -1;
      if (step) this.lastStep = step.index;
      const doneSteps = (cue && cue.done) ? Infinity
        : (this.lastStep === undefined ? 0 : this.lastStep + (shown === this.lastStep ? 0 : 1));
      root.querySelectorAll(".charcha-step").forEach((el, i) => {
        setData(el, "state", i < doneSteps ? "done" : (i === shown ? "active" : "todo"));
      });
      const percent = Math.min(100, Math.round((now / this.endS) * 100));
      const bar = $("#charcha-progress");
      if (bar.value !== percent) bar.value = percent;
      // A last resort if the cue never says "done" (the server is unreachable): the frames' sender
      // reports the lost connection long before this.
      if (now > this.endS + 8) { this.finish(); return; }
      this.animateTimer = setTimeout(() => this.animate(), 100);
    }

    async finish() {
      if (this.finishing) return;
      this.finishing = true;
      clearTimeout(this.cueTimer);
      clearTimeout(this.animateTimer);
      light.off();
      this.stopCapture();
      const encoded = performance.now() + 1000;
      while (this.pending.some((slot) => !slot.done) && performance.now() < encoded) {
        await new Promise((r) => setTimeout(r, 20));
      }
      this.cut();
      this.capturer.close();
      show("checking");
      $("#charcha-checking-text").textContent = "Sending the last pictures…";
      const deadline = performance.now() + this.capture.max_lag_ms;
      while ((this.queue.length || this.sending) && !this.stopped && performance.now() < deadline) {
        await new Promise((r) => setTimeout(r, 100));
      }
      if (this.stopped) return;
      if (this.queue.length) {
        this.fail("connection", "The connection was lost",
          "The last pictures could not reach us. Check your internet connection and try again.");
        return;
      }
      $("#charcha-checking-text").textContent = "Checking that it was you, live, doing each move…";
      let result = null;
      for (let attempt = 0; attempt < 4; attempt++) {
        try {
          result = await api(url("finish", this.challenge.id), {
            method: "POST", headers: {"Content-Type": "application/json"},
            body: JSON.stringify({nonce: this.challenge.nonce}),
          });
        } catch (err) {
          result = {ok: false, status: 0, body: {}};
        }
        if (result.status !== 0 && result.status < 500) break;
        banner("Connection unstable — retrying…");
        await new Promise((r) => setTimeout(r, 500 * (attempt + 1)));
      }
      banner("");
      // A retried finish whose first try did land answers "not open": the status tells the truth.
      if (!result.ok && result.body.code !== "challenge_not_open") { this.refused(result.body); return; }
      this.cleanupListeners();
      stopCamera();
      releaseLock();
      run = null;
      const status = result.ok ? result.body : null;
      const progress = $("#charcha-job");
      if (status && status.progress_html) {
        progress.innerHTML = status.progress_html;
        if (window.encoreWatchJobs) window.encoreWatchJobs(progress);
      }
      pollResult(this.challenge.id);
    }

    stopCapture() {
      this.capturing = false;
      this.capturer.stop();
      clearInterval(this.batchTimer);
    }

    cleanupListeners() {
      document.removeEventListener("visibilitychange", this.onVisibility);
      window.removeEventListener("offline", this.onOffline);
    }

    abort() {
      this.stopped = true;
      clearTimeout(this.animateTimer);
      clearTimeout(this.cueTimer);
      light.off();
      this.stopCapture();
      this.capturer.close();
      this.cleanupListeners();
    }

    cancelOnServer() {
      // Tell the server, so the frames sent so far are deleted now rather than at expiry.
      fetch(url("cancel", this.challenge.id), {method: "POST", keepalive: true, credentials: "same-origin",
        headers: {"X-CSRFToken": config.csrfToken, "Content-Type": "application/json"},
        body: JSON.stringify({nonce: this.challenge.nonce})}).catch(() => undefined);
    }

    fail(kind, title, text) {
      this.abort();
      this.cancelOnServer();
      run = null;
      showError(kind, title, text, {label: "Try again", action: () => location.reload()});
    }
  }

  async function pollResult(challengeId) {
    let delay = 400;
    for (;;) {
      let result;
      try { result = await api(url("detail", challengeId), {method: "GET"}); } catch (e) { result = {ok: false, body: {}}; }
      if (result.ok && result.body.state !== "verifying") { showResult(result.body); return; }
      if (!result.ok) banner("Connection unstable — still waiting for the result…"); else banner("");
      await new Promise((r) => setTimeout(r, delay));
      delay = Math.min(2000, delay * 1.3);
    }
  }

  function showResult(status) {
    const passed = status.state === "passed";
    const box = $("#charcha-result");
    box.dataset.outcome = passed ? "pass" : "fail";
    $("#charcha-result-title").textContent = status.title;
    $("#charcha-result-text").textContent = status.message;
    const retry = $("#charcha-result-retry");
    retry.hidden = passed || !status.retry_allowed;
    $("#charcha-result-done").hidden = !passed;
    $("#charcha-result-next").hidden = !passed;   // the way forward: consent -> adapter -> song -> video
    const locked = $("#charcha-result-locked");
    if (status.locked_until) {
      locked.hidden = false;
      locked.textContent = `You can try again after ${new Date(status.locked_until).toLocaleTimeString()}.`;
    } else {
      locked.hidden = true;
    }
    show("result");
  }

  // ---------------------------------------------------------------- wiring
  async function agree() {
    if (!$("#charcha-agree-box").checked) return;
    if (await anotherTabBusy()) {
      showError("other-tab", "CHARCHA is open in another tab",
        "Finish or close the challenge in your other tab or window first — or continue here instead.",
        {label: "Continue in this tab", action: () => {
          if (channel) channel.postMessage({type: "takeover", from: tabId});
          try { localStorage.removeItem(LOCK_KEY); } catch (e) { /* ignore */ }
          setTimeout(agree, 300);
        }});
      return;
    }
    takeLock();
    await openCamera();
  }

  async function startChallenge() {
    const button = $("#charcha-start");
    if (button.disabled) return;
    stopPrecheck();
    button.disabled = true;
    $("#charcha-camera-status").textContent = "Asking the server for your challenge…";
    let result;
    try {
      result = await api(config.urls.issue, {
        method: "POST", headers: {"Content-Type": "application/json"},
        body: JSON.stringify({notice_version: config.noticeVersion, notice_sha256: config.noticeSha256}),
      });
    } catch (err) {
      result = {ok: false, status: 0, body: {}};
    }
    if (!result.ok) {
      if (result.status === 0) {
        $("#charcha-camera-status").textContent = "We could not reach the server. Check your connection and press Start again.";
        button.disabled = false;
        startPrecheck();
        return;
      }
      const body = result.body;
      showError(body.code || "error", body.code === "locked_out" ? "Too many attempts" : "The challenge could not start",
        body.detail || "Something went wrong. Try again.",
        body.code === "locked_out" ? null : {label: "Try again", action: () => location.reload()});
      return;
    }
    const challenge = result.body;
    $("#charcha-steps").innerHTML = "";
    show("challenge");
    run = new ChallengeRun(challenge);
    run.start();
  }

  $("#charcha-agree-box").addEventListener("change", (e) => { $("#charcha-agree").disabled = !e.target.checked; });
  $("#charcha-agree").addEventListener("click", agree);
  $("#charcha-start").addEventListener("click", startChallenge);
  $("#charcha-result-retry").addEventListener("click", () => location.reload());
  window.addEventListener("pagehide", () => {
    if (run) { run.abort(); run.cancelOnServer(); run = null; }
    releaseLock();
    stopCamera();
  });
  show("notice");
})();
