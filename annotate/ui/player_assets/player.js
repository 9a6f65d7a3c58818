// Segment player for st.components.v2 (Streamlit 1.67).
//
// Lifecycle facts taken from Streamlit's BidiComponent frontend (not from memory):
// - the HTML is mounted once per element and survives reruns; the default export is
//   called again whenever `data` changes, and the cleanup it returns is only called
//   when the element unmounts. So one player instance lives on the parent element
//   (a ShadowRoot here) and each call just hands it the new data.
// - setStateValue(name, value) stores a JSON state value and reruns the script, so
//   the time is reported on play / pause / settled seeks / segment end / the
//   "Use current time" button, never on every timeupdate.
// - Event coding (when Python passes `codes`): a code's key or button codes at the frame
//   shown, taken from requestVideoFrameCallback's mediaTime and snapped to the frame grid.
//   Each press becomes an op with a random id, kept in `pending` and sent (all pending ops,
//   state value "coding") until Python lists its id in `acked`; Python applies an id once,
//   so a resend never codes twice and a rerun never loses a press.

const SPEEDS = [0.25, 0.5, 0.75, 1, 1.5, 2];
const DEFAULT_FPS = 25;
const INSTANCE_PROP = "__annotateSegmentPlayer";
// Seeks snap to the bounds; this tolerance absorbs float noise in currentTime.
const BOUND_EPS = 0.002;
// A paused seek is reported once the user stops stepping, to avoid a rerun per key press.
const SEEK_REPORT_DELAY_MS = 350;

const CANNOT_PLAY = "This film cannot be played in this browser";
// More unacknowledged presses than this means Python stopped answering; older ones are dropped.
const MAX_PENDING = 500;

function randomId() {
  // crypto.randomUUID needs a secure context; getRandomValues works on plain http too.
  const bytes = new Uint8Array(12);
  crypto.getRandomValues(bytes);
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

function formatTime(seconds) {
  let value = Number.isFinite(seconds) ? seconds : 0;
  const sign = value < 0 ? "-" : "";
  let hundredths = Math.round(Math.abs(value) * 100);
  const minutes = Math.floor(hundredths / 6000);
  hundredths -= minutes * 6000;
  const secs = Math.floor(hundredths / 100);
  hundredths -= secs * 100;
  const pad = (n) => String(n).padStart(2, "0");
  return `${sign}${pad(minutes)}:${pad(secs)}.${pad(hundredths)}`;
}

function clamp(value, low, high) {
  return Math.min(Math.max(value, low), high);
}

function finiteOr(value, fallback) {
  const number = Number(value);
  return Number.isFinite(number) ? number : fallback;
}

class SegmentPlayer {
  constructor(root) {
    this.root = root;
    this.video = root.querySelector(".sp-video");
    this.labelEl = root.querySelector(".sp-label");
    this.messageEl = root.querySelector(".sp-message");
    this.progressEl = root.querySelector(".sp-progress");
    this.fillEl = root.querySelector(".sp-progress-fill");
    this.thumbEl = root.querySelector(".sp-progress-thumb");
    this.segTimeEl = root.querySelector(".sp-time-segment");
    this.filmTimeEl = root.querySelector(".sp-time-film");
    this.boundsEl = root.querySelector(".sp-time-bounds");
    this.playBtn = root.querySelector(".sp-play");
    this.reportBtn = root.querySelector(".sp-report");
    this.speedEl = root.querySelector(".sp-speed");
    this.buttons = Array.from(root.querySelectorAll("button[data-action]"));
    this.codingEl = root.querySelector(".sp-coding");
    this.codesEl = root.querySelector(".sp-codes");
    this.codingStatusEl = root.querySelector(".sp-coding-status");

    this.src = null;
    this.start = 0;
    this.end = 0;
    this.fps = DEFAULT_FPS;
    this.ready = false;
    this.failed = false;
    this.quietSeekTarget = null;
    this.lastSent = null;
    this.setStateValue = null;
    this.frameRequest = 0;
    this.seekReportTimer = 0;
    this.sentFlashTimer = 0;
    this.dragging = false;

    // Event coding state.
    this.codes = [];
    this.codesSignature = "";
    this.codeButtons = new Map();
    this.serverOpen = new Set();
    this.pending = [];
    this.shownMediaTime = null;
    this.frameCallback = 0;
    this.codingFlashTimer = 0;

    // Slow motion keeps the voices' pitch (the default in Chromium, set so it stays so).
    this.video.preservesPitch = true;
    this.abort = new AbortController();
    this.bindEvents(this.abort.signal);
    this.watchFrames();
    this.setControlsEnabled(false);
  }

  // ---- data from Python -------------------------------------------------

  update(data, setStateValue) {
    this.setStateValue = setStateValue;
    const start = Math.max(0, finiteOr(data.start_s, 0));
    const end = Math.max(start, finiteOr(data.end_s, start));
    const fps = finiteOr(data.fps, DEFAULT_FPS);
    const boundsChanged = start !== this.start || end !== this.end;
    this.start = start;
    this.end = end;
    this.fps = fps > 0 ? fps : DEFAULT_FPS;

    const label = typeof data.label === "string" ? data.label : "";
    this.labelEl.textContent = label;
    this.labelEl.hidden = label === "";
    this.root.setAttribute("aria-label", label ? `Segment player: ${label}` : "Segment player");

    const src = typeof data.src === "string" ? data.src : "";
    if (src !== this.src) {
      // Only a changed URL touches video.src: re-assigning it reloads the film.
      this.src = src;
      this.ready = false;
      this.failed = false;
      this.hideMessage();
      this.setControlsEnabled(false);
      this.root.dataset.state = "loading";
      this.shownMediaTime = null;
      this.video.src = src;
    } else if (boundsChanged && this.ready) {
      this.video.pause();
      this.quietSeekTo(this.start);
    }
    // A seek request from Python (e.g. a click on the activity curve) is applied once per id.
    if (data.seek_id != null && data.seek_id !== this.seekId) {
      this.seekId = data.seek_id;
      this.pendingSeek = finiteOr(data.seek_s, this.start);
      if (this.ready) this.applyPendingSeek();
    }
    this.updateCoding(data);
    this.render();
  }

  // ---- event coding --------------------------------------------------------

  updateCoding(data) {
    const codes = Array.isArray(data.codes) ? data.codes : [];
    const signature = JSON.stringify(codes);
    if (signature !== this.codesSignature) {
      this.codesSignature = signature;
      this.codes = codes;
      this.buildCodeButtons();
    }
    this.codingDisabled = Boolean(data.coding_disabled);
    this.serverOpen = new Set(Array.isArray(data.open) ? data.open : []);
    const acked = new Set(Array.isArray(data.acked) ? data.acked : []);
    this.pending = this.pending.filter((op) => !acked.has(op.id));
    this.renderCoding();
  }

  buildCodeButtons() {
    this.codesEl.replaceChildren();
    this.codeButtons.clear();
    for (const code of this.codes) {
      const button = document.createElement("button");
      button.type = "button";
      button.className = "sp-code";
      button.dataset.kind = code.kind;
      button.dataset.code = code.code;
      button.title = code.kind === "state" ? `${code.label}: start / stop (${code.key})` : `${code.label} (${code.key})`;
      if (code.kind === "state") button.setAttribute("aria-pressed", "false");
      const kbd = document.createElement("kbd");
      kbd.textContent = code.key;
      button.append(kbd, document.createTextNode(code.label));
      button.addEventListener("click", () => this.codeEvent(code), { signal: this.abort.signal });
      this.codesEl.append(button);
      this.codeButtons.set(code.code, button);
    }
    this.codingEl.hidden = this.codes.length === 0;
  }

  codeForKey(key) {
    if (!this.codes.length || typeof key !== "string" || key.length !== 1) return null;
    return (
      this.codes.find((c) => c.key === key) ||
      this.codes.find((c) => c.key.toLowerCase() === key.toLowerCase()) ||
      null
    );
  }

  // The running states as the rater sees them: Python's, then the presses it has not applied yet.
  openCodes() {
    const open = new Set(this.serverOpen);
    for (const op of this.pending) {
      if (op.action === "stop") open.delete(op.code);
      if (op.action === "start") {
        const code = this.codes.find((c) => c.code === op.code);
        if (code && code.exclusive) {
          for (const other of this.codes) if (other.group === code.group) open.delete(other.code);
        }
        open.add(op.code);
      }
    }
    return open;
  }

  // Media time of the frame on screen, on the frame grid (frame k starts at k / fps).
  frameTime() {
    const video = this.video;
    const frame = 1 / this.fps;
    let t = video.currentTime;
    if (this.shownMediaTime != null && (!video.paused || Math.abs(this.shownMediaTime - t) < frame)) {
      t = this.shownMediaTime;
    }
    const k = Math.floor(t * this.fps + 1e-3);
    return Math.round(clamp(k / this.fps, this.start, this.segmentEnd()) * 1e6) / 1e6;
  }

  watchFrames() {
    if (typeof this.video.requestVideoFrameCallback !== "function") return;
    const onFrame = (_now, metadata) => {
      this.shownMediaTime = metadata.mediaTime;
      this.frameCallback = this.video.requestVideoFrameCallback(onFrame);
    };
    this.frameCallback = this.video.requestVideoFrameCallback(onFrame);
  }

  codeEvent(code) {
    if (!this.ready || !this.setStateValue || this.codingDisabled) return;
    const t = this.frameTime();
    let action = "point";
    if (code.kind === "state") action = this.openCodes().has(code.code) ? "stop" : "start";
    this.pending.push({ id: randomId(), action, code: code.code, t });
    if (this.pending.length > MAX_PENDING) this.pending.splice(0, this.pending.length - MAX_PENDING);
    this.sendCoding();
    const verb = { start: "started", stop: "stopped", point: "marked" }[action];
    this.codingStatusEl.textContent = `${code.label} ${verb} at ${formatTime(t)}`;
    const button = this.codeButtons.get(code.code);
    if (button) {
      button.classList.add("sp-flash");
      window.clearTimeout(this.codingFlashTimer);
      this.codingFlashTimer = window.setTimeout(() => button.classList.remove("sp-flash"), 400);
    }
    this.renderCoding();
  }

  sendCoding() {
    if (this.setStateValue) this.setStateValue("coding", { ops: this.pending.slice() });
  }

  renderCoding() {
    if (!this.codes.length) return;
    const open = this.openCodes();
    for (const [name, button] of this.codeButtons) {
      if (button.dataset.kind === "state") button.setAttribute("aria-pressed", open.has(name) ? "true" : "false");
      button.disabled = !this.ready || this.codingDisabled;
    }
    this.root.dataset.pending = String(this.pending.length);
  }

  applyPendingSeek() {
    if (this.pendingSeek == null) return;
    const target = this.pendingSeek;
    this.pendingSeek = null;
    this.video.pause();
    this.seekTo(target);
    this.scheduleSeekReport();
  }

  // ---- event wiring ------------------------------------------------------

  bindEvents(signal) {
    const on = (target, type, handler, options = {}) =>
      target.addEventListener(type, handler, { ...options, signal });
    const video = this.video;

    on(video, "loadedmetadata", () => this.onMetadata());
    on(video, "error", () => this.onError());
    on(video, "play", () => {
      if (video.currentTime >= this.segmentEnd() - BOUND_EPS) {
        this.quietSeekTo(this.start);
      }
      this.startLoop();
      this.render();
      this.report();
    });
    on(video, "pause", () => {
      this.stopLoop();
      this.render();
      this.report();
    });
    on(video, "ended", () => {
      // The film ended before the segment end (segment runs past the film).
      this.stopLoop();
      this.render();
      this.report();
    });
    on(video, "seeking", () => {
      const t = video.currentTime;
      if (t < this.start - BOUND_EPS) video.currentTime = this.start;
      else if (t > this.segmentEnd() + BOUND_EPS) video.currentTime = this.segmentEnd();
      this.render();
    });
    on(video, "seeked", () => {
      this.render();
      // Seeks the player makes itself (to the start on load, back to the end) are
      // not news for Python; a user seek that landed elsewhere still is.
      const quiet =
        this.quietSeekTarget !== null && Math.abs(video.currentTime - this.quietSeekTarget) < 0.001;
      this.quietSeekTarget = null;
      if (!quiet && video.paused) this.scheduleSeekReport();
    });
    on(video, "timeupdate", () => {
      this.enforceEnd();
      this.render();
    });
    on(video, "ratechange", () => this.syncSpeed());
    on(video, "click", () => this.togglePlay());

    for (const button of this.buttons) {
      on(button, "click", () => this.runAction(button.dataset.action));
    }
    on(this.speedEl, "change", () => this.setSpeed(Number(this.speedEl.value)));

    on(this.progressEl, "pointerdown", (event) => {
      if (!this.ready) return;
      this.dragging = true;
      this.progressEl.setPointerCapture(event.pointerId);
      this.seekToPointer(event);
      event.preventDefault();
    });
    on(this.progressEl, "pointermove", (event) => {
      if (this.dragging) this.seekToPointer(event);
    });
    const endDrag = (event) => {
      if (!this.dragging) return;
      this.dragging = false;
      if (this.progressEl.hasPointerCapture(event.pointerId)) {
        this.progressEl.releasePointerCapture(event.pointerId);
      }
    };
    on(this.progressEl, "pointerup", endDrag);
    on(this.progressEl, "pointercancel", endDrag);

    // Clicking anywhere in the player gives it keyboard focus for the shortcuts,
    // except on controls that take focus themselves.
    on(this.root, "pointerdown", (event) => {
      const tag = event.target.tagName;
      if (tag !== "BUTTON" && tag !== "SELECT" && tag !== "OPTION") {
        this.root.focus({ preventScroll: true });
      }
    });
    on(this.root, "keydown", (event) => this.onKey(event));
    // A focused button would otherwise also "click" on the space key-up.
    on(this.root, "keyup", (event) => {
      if (event.key === " " && event.target.tagName === "BUTTON") event.preventDefault();
    });
  }

  onKey(event) {
    if (event.altKey || event.ctrlKey || event.metaKey) return;
    if (event.target.tagName === "SELECT") return;
    let handled = true;
    switch (event.key) {
      case " ":
      case "Spacebar":
        this.togglePlay();
        break;
      case "ArrowLeft":
        this.jump(event.shiftKey ? -5 : -1);
        break;
      case "ArrowRight":
        this.jump(event.shiftKey ? 5 : 1);
        break;
      case ",":
      case "<":
        this.stepFrame(-1);
        break;
      case ".":
      case ">":
        this.stepFrame(1);
        break;
      case "r":
      case "R":
        this.replay();
        break;
      case "[":
        this.changeSpeed(-1);
        break;
      case "]":
        this.changeSpeed(1);
        break;
      case "Home":
        this.seekTo(this.start);
        break;
      case "End":
        this.seekTo(this.segmentEnd());
        break;
      default: {
        const code = this.codeForKey(event.key);
        if (code && !event.repeat) this.codeEvent(code);
        handled = code !== null;
      }
    }
    if (handled) {
      event.preventDefault();
      event.stopPropagation();
    }
  }

  runAction(action) {
    switch (action) {
      case "toggle": this.togglePlay(); break;
      case "replay": this.replay(); break;
      case "back5": this.jump(-5); break;
      case "back1": this.jump(-1); break;
      case "forward1": this.jump(1); break;
      case "forward5": this.jump(5); break;
      case "frameBack": this.stepFrame(-1); break;
      case "frameForward": this.stepFrame(1); break;
      case "report": this.reportNow(); break;
      default: break;
    }
  }

  // ---- media state -------------------------------------------------------

  onMetadata() {
    const video = this.video;
    if (!video.videoWidth || !video.videoHeight) {
      this.fail(
        `${CANNOT_PLAY}: its picture could not be decoded. ` +
          "Please tell the study administrator so the film can be converted."
      );
      video.removeAttribute("src");
      video.load();
      return;
    }
    this.ready = true;
    this.failed = false;
    this.root.dataset.state = "ready";
    this.setControlsEnabled(true);
    this.syncSpeed();
    this.quietSeekTo(this.start);
    this.applyPendingSeek();
    this.render();
  }

  onError() {
    if (this.failed || !this.src) return;
    const code = this.video.error ? this.video.error.code : 0;
    const reason = {
      1: "loading was aborted",
      2: "a network error stopped the download",
      3: "the picture could not be decoded",
      4: "the file could not be opened or its format is not supported",
    }[code] || "an unknown error occurred";
    this.fail(
      `${CANNOT_PLAY}: ${reason}. Reload the page (the link may have expired); ` +
        "if this keeps happening, tell the study administrator."
    );
  }

  fail(message) {
    this.failed = true;
    this.ready = false;
    this.stopLoop();
    this.root.dataset.state = "error";
    this.messageEl.textContent = message;
    this.messageEl.hidden = false;
    this.setControlsEnabled(false);
  }

  hideMessage() {
    this.messageEl.hidden = true;
    this.messageEl.textContent = "";
  }

  setControlsEnabled(enabled) {
    for (const button of this.buttons) button.disabled = !enabled;
    this.speedEl.disabled = !enabled;
    this.renderCoding();
    this.progressEl.setAttribute("aria-disabled", enabled ? "false" : "true");
  }

  segmentEnd() {
    const duration = this.video.duration;
    return Number.isFinite(duration) && duration > 0 ? Math.min(this.end, duration) : this.end;
  }

  // ---- commands ------------------------------------------------------------

  togglePlay() {
    if (!this.ready) return;
    if (this.video.paused) {
      const played = this.video.play();
      if (played && typeof played.catch === "function") {
        played.catch(() => {
          // Autoplay policy or an aborted load: leave the player paused.
          this.render();
        });
      }
    } else {
      this.video.pause();
    }
  }

  replay() {
    if (!this.ready) return;
    this.quietSeekTo(this.start);
    this.togglePlayIfPaused();
  }

  togglePlayIfPaused() {
    if (this.video.paused) this.togglePlay();
  }

  jump(seconds) {
    if (!this.ready) return;
    this.seekTo(this.video.currentTime + seconds);
  }

  stepFrame(direction) {
    if (!this.ready) return;
    this.video.pause();
    const frame = Math.round(this.video.currentTime * this.fps);
    // A tiny offset past the frame boundary makes the browser show that frame,
    // not the one before it.
    this.seekTo((frame + direction) / this.fps + 0.0005);
  }

  changeSpeed(step) {
    if (!this.ready) return;
    const current = this.video.playbackRate;
    let index = SPEEDS.findIndex((speed) => Math.abs(speed - current) < 1e-6);
    if (index < 0) index = SPEEDS.indexOf(1);
    this.setSpeed(SPEEDS[clamp(index + step, 0, SPEEDS.length - 1)]);
  }

  setSpeed(speed) {
    if (!SPEEDS.includes(speed)) return;
    // defaultPlaybackRate survives a reload of the source; playbackRate does not.
    this.video.defaultPlaybackRate = speed;
    this.video.playbackRate = speed;
    this.syncSpeed();
  }

  syncSpeed() {
    this.speedEl.value = String(this.video.playbackRate);
  }

  seekTo(seconds) {
    if (!this.ready) return;
    this.quietSeekTarget = null;
    this.video.currentTime = clamp(seconds, this.start, this.segmentEnd());
    this.render();
  }

  quietSeekTo(seconds) {
    const target = clamp(seconds, this.start, this.segmentEnd());
    this.quietSeekTarget = target;
    this.video.currentTime = target;
  }

  seekToPointer(event) {
    const rect = this.progressEl.getBoundingClientRect();
    if (rect.width <= 0) return;
    const fraction = clamp((event.clientX - rect.left) / rect.width, 0, 1);
    this.seekTo(this.start + fraction * (this.segmentEnd() - this.start));
  }

  enforceEnd() {
    const video = this.video;
    if (!video.paused && video.currentTime >= this.segmentEnd() - BOUND_EPS) {
      video.pause();
      // Snap back so the segment never shows past its end.
      this.quietSeekTo(this.segmentEnd());
    }
  }

  startLoop() {
    if (this.frameRequest) return;
    const tick = () => {
      this.frameRequest = 0;
      if (this.video.paused) return;
      this.enforceEnd();
      this.render();
      if (!this.video.paused) this.frameRequest = requestAnimationFrame(tick);
    };
    this.frameRequest = requestAnimationFrame(tick);
  }

  stopLoop() {
    if (this.frameRequest) cancelAnimationFrame(this.frameRequest);
    this.frameRequest = 0;
  }

  // ---- reporting to Python -----------------------------------------------

  currentState() {
    const t = clamp(this.video.currentTime, this.start, this.segmentEnd());
    return {
      current_time: Math.round(t * 1000) / 1000,
      playing: !this.video.paused,
      ended_segment: this.video.paused && t >= this.segmentEnd() - BOUND_EPS,
      start_s: this.start,
      end_s: this.end,
    };
  }

  report() {
    if (!this.ready || !this.setStateValue) return;
    window.clearTimeout(this.seekReportTimer);
    const state = this.currentState();
    const signature = JSON.stringify(state);
    if (signature === this.lastSent) return;
    this.lastSent = signature;
    this.setStateValue("playback", state);
  }

  reportNow() {
    this.report();
    this.reportBtn.classList.add("sp-sent");
    this.reportBtn.textContent = "Time sent \u2713";
    window.clearTimeout(this.sentFlashTimer);
    this.sentFlashTimer = window.setTimeout(() => {
      this.reportBtn.classList.remove("sp-sent");
      this.reportBtn.textContent = "Use current time";
    }, 1200);
  }

  scheduleSeekReport() {
    window.clearTimeout(this.seekReportTimer);
    this.seekReportTimer = window.setTimeout(() => {
      if (this.video.paused) this.report();
    }, SEEK_REPORT_DELAY_MS);
  }

  // ---- drawing -----------------------------------------------------------

  render() {
    const end = this.segmentEnd();
    const length = Math.max(end - this.start, 0);
    const t = this.ready ? clamp(this.video.currentTime, this.start, end) : this.start;
    const relative = t - this.start;
    const percent = length > 0 ? (relative / length) * 100 : 0;

    this.fillEl.style.width = `${percent}%`;
    this.thumbEl.style.left = `${percent}%`;
    this.progressEl.setAttribute("aria-valuemax", length.toFixed(2));
    this.progressEl.setAttribute("aria-valuenow", relative.toFixed(2));
    this.progressEl.setAttribute(
      "aria-valuetext",
      `${formatTime(relative)} of ${formatTime(length)}`
    );

    this.segTimeEl.textContent = `${formatTime(relative)} / ${formatTime(length)}`;
    this.filmTimeEl.textContent = `Film ${formatTime(t)}`;
    this.boundsEl.textContent = `Segment ${formatTime(this.start)}\u2013${formatTime(this.end)}`;

    const playing = !this.video.paused;
    this.playBtn.textContent = playing ? "\u275A\u275A Pause" : "\u25B6 Play";
    this.playBtn.setAttribute("aria-label", playing ? "Pause" : "Play");
    this.root.dataset.playing = playing ? "true" : "false";
  }

  destroy() {
    this.abort.abort();
    this.stopLoop();
    window.clearTimeout(this.seekReportTimer);
    window.clearTimeout(this.sentFlashTimer);
    window.clearTimeout(this.codingFlashTimer);
    if (this.frameCallback && typeof this.video.cancelVideoFrameCallback === "function") {
      this.video.cancelVideoFrameCallback(this.frameCallback);
    }
    this.video.pause();
    this.video.removeAttribute("src");
    this.video.load();
  }
}

export default function segmentPlayer(component) {
  const { data, parentElement, setStateValue } = component;
  const root = parentElement.querySelector(".sp-root");
  if (!root) return undefined;
  let player = parentElement[INSTANCE_PROP];
  if (!player || player.root !== root) {
    // First call, or Streamlit replaced the HTML: start a fresh instance.
    if (player) player.destroy();
    player = new SegmentPlayer(root);
    parentElement[INSTANCE_PROP] = player;
  }
  player.update(data || {}, setStateValue);
  return () => {
    player.destroy();
    if (parentElement[INSTANCE_PROP] === player) delete parentElement[INSTANCE_PROP];
  };
}
