// CHARCHA capture worker: takes frames from the camera and JPEG-encodes them off the page's main
// thread, so a busy page never delays or drops a capture (the server reads long gaps between
// capture times as frames cut out).
//
// Messages in:
//   {type: "stream", readable, t0Abs, minIntervalMs, width, height, quality}
//       read VideoFrames from a MediaStreamTrackProcessor; capture times come from the camera's own
//       frame timestamps, mapped onto the page's challenge clock (ms since t0Abs).
//   {type: "encode", id, bitmap, quality}   encode one ImageBitmap (the page's timer path).
//   {type: "stop"}
// Messages out: {type: "frame", t, blob} (stream mode), {type: "encoded", id, blob}, {type: "ended"}.
"use strict";
let canvas = null;
let ctx = null;
let reader = null;

function surface(width, height) {
  if (!canvas || canvas.width !== width || canvas.height !== height) {
    canvas = new OffscreenCanvas(width, height);
    ctx = canvas.getContext("2d");
  }
  return ctx;
}

function pageNow(t0Abs) { return performance.timeOrigin + performance.now() - t0Abs; }

async function stream(msg) {
  reader = msg.readable.getReader();
  let offset = null;   // page clock minus camera clock, in ms (the smallest delivery delay seen)
  let lastT = -Infinity;
  for (;;) {
    const {value: frame, done} = await reader.read();
    if (done) break;
    try {
      const received = pageNow(msg.t0Abs);
      const stamp = frame.timestamp / 1000;
      offset = offset === null ? received - stamp : Math.min(offset, received - stamp);
      // Never later than the frame reached us; never before the challenge began.
      const t = Math.round(Math.min(received, stamp + offset));
      if (t < 0 || t - lastT < msg.minIntervalMs) continue;
      lastT = t;
      surface(msg.width, msg.height).drawImage(frame, 0, 0, msg.width, msg.height);
      frame.close();
      const blob = await canvas.convertToBlob({type: "image/jpeg", quality: msg.quality});
      self.postMessage({type: "frame", t, blob});
    } catch (err) {
      // A frame that cannot be drawn or encoded is skipped; the cadence shows the gap.
    } finally {
      try { frame.close(); } catch (err) { /* already closed */ }
    }
  }
  self.postMessage({type: "ended"});
}

self.onmessage = async (event) => {
  const msg = event.data;
  if (msg.type === "stream") {
    stream(msg);
  } else if (msg.type === "stop") {
    if (reader) { try { await reader.cancel(); } catch (err) { /* already closed */ } }
  } else if (msg.type === "encode") {
    try {
      surface(msg.bitmap.width, msg.bitmap.height).drawImage(msg.bitmap, 0, 0);
      msg.bitmap.close();
      // convertToBlob copies the canvas first, so the next frame may be drawn while this one encodes.
      const blob = await canvas.convertToBlob({type: "image/jpeg", quality: msg.quality});
      self.postMessage({type: "encoded", id: msg.id, blob});
    } catch (err) {
      self.postMessage({type: "encoded", id: msg.id, blob: null});
    }
  }
};
