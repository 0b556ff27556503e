// A timeline over the decision-boundary frames of training. The worker keeps a 2-feature model's
// parameters at a few epochs spread over its run; GET /jobs/{id}/boundary?epoch=N draws the frame at or
// before epoch N and lists the epochs of every frame kept (`frames`). The timeline is a slider over those
// epochs, a play button that steps through them, and the epoch shown. Its rightmost position is "latest":
// the newest frame while a model trains, the trained model once it has succeeded.

const STEP_MS = 400; // the pause between two frames when playing, after the frame is drawn

export class FrameTimeline {
  /** Controls appended to `box`; `onPick(epoch)` (the chosen frame's epoch, or null for "latest") may
   * return a promise: playing waits for it before the next frame. */
  constructor(box, onPick) {
    this.onPick = onPick;
    this.epochs = [];
    this.playing = false;
    const tools = document.createElement("span");
    tools.className = "chart-tools frames";
    tools.innerHTML = `<button type="button" data-play title="play the training: the boundary at each kept epoch" disabled>▶ play</button>
      <input type="range" data-frame min="0" max="0" step="1" value="0" aria-label="epoch" disabled>
      <output data-epoch>latest</output>`;
    box.append(tools);
    this.tools = tools;
    this.button = tools.querySelector("[data-play]");
    this.slider = tools.querySelector("[data-frame]");
    this.output = tools.querySelector("[data-epoch]");
    this.slider.addEventListener("input", () => { this.stop(); this.show(); this.onPick(this.epoch()); });
    this.button.addEventListener("click", () => (this.playing ? this.stop() : this.play()));
  }

  /** The epoch picked, or null at the rightmost position ("latest"). */
  epoch() {
    const i = Number(this.slider.value);
    return i >= this.epochs.length ? null : this.epochs[i];
  }

  /** Merge the frames' epochs an answer listed; a picked epoch keeps its position, "latest" stays latest. */
  add(epochs) {
    const merged = [...new Set([...this.epochs, ...epochs])].sort((a, b) => a - b);
    if (merged.length === this.epochs.length) return;
    const picked = this.epoch();
    this.epochs = merged;
    this.slider.max = String(merged.length); // positions 0 … n−1: the frames; n: latest
    this.slider.value = String(picked === null ? merged.length : merged.indexOf(picked));
    this.slider.disabled = this.button.disabled = merged.length === 0;
    this.tools.dataset.frames = String(merged.length);
    this.show();
  }

  show() {
    const epoch = this.epoch();
    this.output.textContent = epoch === null ? "latest" : `epoch ${epoch}`;
  }

  /** Step through every frame from the first (or from the one picked), then stop at "latest". */
  async play() {
    if (!this.epochs.length) return;
    this.playing = true;
    this.button.textContent = "❚❚ pause";
    if (this.epoch() === null) this.slider.value = "0";
    while (this.playing) {
      this.show();
      await this.onPick(this.epoch());
      await new Promise((resolve) => setTimeout(resolve, STEP_MS));
      if (!this.playing) break;
      const next = Number(this.slider.value) + 1;
      if (next > this.epochs.length) break;
      this.slider.value = String(next);
    }
    this.stop();
  }

  stop() {
    this.playing = false;
    this.button.textContent = "▶ play";
  }
}

const CACHED = 160; // boundaries kept (a 150-point grid is ~180 KB as numbers): a few members × every frame

/** GET /jobs/{id}/boundary answers, the ones that cannot change kept (the trained model's, and a frame's
 * at its own epoch), the oldest dropped past CACHED. */
export class Boundaries {
  constructor(api) { this.api = api; this.kept = new Map(); }

  /** The boundary of `jobId` on a `grid`: the frame at or before `epoch`, or the trained model (null). */
  async get(jobId, grid, epoch) {
    const key = `${jobId} ${grid} ${epoch}`;
    if (this.kept.has(key)) return this.kept.get(key);
    const query = new URLSearchParams({ grid: String(grid) });
    if (epoch !== null) query.set("epoch", String(epoch));
    const boundary = await this.api(`/jobs/${jobId}/boundary?${query}`);
    if (epoch === null || boundary.epoch === epoch) {
      this.kept.set(key, boundary);
      if (this.kept.size > CACHED) this.kept.delete(this.kept.keys().next().value);
    }
    return boundary;
  }
}
