// A rater's note for st.components.v2 (Streamlit 1.67): saved while typing, never lost silently.
//
// - Typing marks the note "not yet stored" (the words avoid "saved", which the score caption uses); after a pause (data.debounce_ms) or when the box loses
//   the focus the text is sent as state value "draft" = {text, seq}; Python saves it and answers with
//   `acked` (the highest seq it has handled) and `error` (why that save was refused, or "").
// - While anything typed is not acknowledged, leaving or reloading the page asks first
//   (beforeunload), so a reload never drops text without the rater being told.
// - Python's text replaces the box's only while nothing typed is pending, so a rerun never
//   overwrites what the rater is typing.

const INSTANCE_PROP = "__annotateNoteBox";

class NoteBox {
  constructor(root) {
    this.root = root;
    this.label = root.querySelector(".nb-label");
    this.box = root.querySelector(".nb-text");
    this.status = root.querySelector(".nb-status");
    this.seq = 0; // last seq sent
    this.acked = 0; // last seq Python handled
    this.dirty = false; // typed since the last send
    this.timer = null;
    this.error = "";
    this.setStateValue = null;
    this.debounceMs = 1500;
    this.id = "nb-" + Math.random().toString(36).slice(2);
    this.box.id = this.id;
    this.label.htmlFor = this.id;
    this.onInput = () => {
      this.dirty = true;
      this.error = "";
      clearTimeout(this.timer);
      this.timer = setTimeout(() => this.send(), this.debounceMs);
      this.render();
    };
    this.onBlur = () => { if (this.dirty) this.send(); };
    this.onUnload = (event) => {
      if (!this.pending()) return undefined;
      event.preventDefault();
      event.returnValue = ""; // the browser asks "Leave site? Changes you made may not be saved."
      return "";
    };
    this.box.addEventListener("input", this.onInput);
    this.box.addEventListener("blur", this.onBlur);
    window.addEventListener("beforeunload", this.onUnload);
  }

  pending() { return this.dirty || this.acked < this.seq || Boolean(this.error); }

  send() {
    clearTimeout(this.timer);
    if (!this.setStateValue) return;
    this.seq += 1;
    this.dirty = false;
    this.setStateValue("draft", { text: this.box.value, seq: this.seq });
    this.render();
  }

  update(data, setStateValue) {
    this.setStateValue = setStateValue;
    this.label.textContent = typeof data.label === "string" ? data.label : "Note";
    this.debounceMs = Number.isFinite(data.debounce_ms) ? data.debounce_ms : 1500;
    this.box.disabled = Boolean(data.disabled);
    if (Number.isFinite(data.height)) this.box.style.minHeight = data.height + "px";
    const acked = Number.isFinite(data.acked) ? data.acked : 0;
    // A fresh instance (a reload) starts at 0 while Python may remember a higher seq: follow it.
    if (acked > this.seq && !this.dirty) this.seq = acked;
    this.acked = Math.max(this.acked, Math.min(acked, this.seq));
    this.error = this.acked === this.seq && typeof data.error === "string" ? data.error : this.error;
    if (!this.pending() && !this.error && typeof data.text === "string" && data.text !== this.box.value) {
      this.box.value = data.text;
    }
    this.render();
  }

  render() {
    let state = "saved";
    let text = this.box.value ? "✓ Note stored" : "";
    if (this.error) { state = "error"; text = "Not stored: " + this.error; }
    else if (this.dirty) { state = "unsaved"; text = "Changes not yet stored (they are when you pause typing)"; }
    else if (this.acked < this.seq) { state = "saving"; text = "Storing…"; }
    this.status.dataset.state = state;
    this.status.textContent = text;
    this.root.dataset.state = state;
  }

  destroy() {
    clearTimeout(this.timer);
    if (this.dirty) this.send(); // the element goes (another item): what was typed is sent first
    this.box.removeEventListener("input", this.onInput);
    this.box.removeEventListener("blur", this.onBlur);
    window.removeEventListener("beforeunload", this.onUnload);
  }
}

export default function noteBox(component) {
  const { data, parentElement, setStateValue } = component;
  const root = parentElement.querySelector(".nb-root");
  if (!root) return undefined;
  let box = parentElement[INSTANCE_PROP];
  if (!box || box.root !== root) {
    if (box) box.destroy();
    box = new NoteBox(root);
    parentElement[INSTANCE_PROP] = box;
  }
  box.update(data || {}, setStateValue);
  return () => {
    box.destroy();
    if (parentElement[INSTANCE_PROP] === box) delete parentElement[INSTANCE_PROP];
  };
}
