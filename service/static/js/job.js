// One job (#/jobs/{id}): its curve growing live over SSE, its progress and status, a cancel button, its
// spec and result (and a button that puts the spec in the form, to edit and run again), and its decision
// boundary: live while it trains, the trained model's once it has succeeded, and at any kept epoch.

import { api, esc, authHeaders } from "./api.js";
import { drawBoundary } from "./boundary.js";
import { CurveChart } from "./chart.js";
import { writeSpec } from "./compose.js";
import { Boundaries, FrameTimeline } from "./frames.js";
import { flatten } from "./labels.js";
import { follow } from "./sse.js";
import { fmt } from "./table.js";

const FINISHED = ["succeeded", "failed", "canceled"];
const MODEL_GRID = 300; // grid points per axis of the trained model's boundary
const FRAME_GRID = 200; // … of a frame's (a timeline of 20 frames is fetched as it plays)
const LIVE_MS = 1500; // a training job's boundary is asked for again at most this often

export function jobView(root, jobId) {
  root.innerHTML = `
    <div class="title"><h1>Job <code>${esc(jobId.slice(0, 8))}</code></h1><span id="j-status"></span>
      <span id="j-progress"></span><span class="spacer"></span><span id="j-exp"></span>
      <button class="danger" id="j-cancel" hidden>Cancel</button></div>
    <p class="notice" id="j-error"></p>
    <div class="two">
      <div><div class="card"><h2>Cost <span class="spacer"></span><span class="chart-tools">
        <label><input type="checkbox" id="j-log"> log scale</label></span></h2><div id="j-chart"></div></div>
        <div class="card"><h2>Spec and result <span class="spacer"></span>
          <button id="j-edit" type="button" title="put this spec in the form to change it and train again">Edit
          as a new job</button></h2><dl class="spec" id="j-spec"></dl></div></div>
      <div class="card"><h2>Decision boundary <span class="spacer"></span><span id="j-frames"></span></h2>
        <div class="boundaries single" id="j-boundary"></div></div>
    </div>`;
  const chart = new CurveChart(root.querySelector("#j-chart"), { empty: "waiting for the first cost point" });
  chart.set([{ key: jobId, label: "cost", index: 0 }]);
  let job = null;
  const boundaries = new Boundaries(api);
  const timeline = new FrameTimeline(root.querySelector("#j-frames"), () => showBoundary());
  let shown = null; // what the boundary shows or is fetching: "final", "epoch N", "none", or when it was asked (live)

  function paint() {
    if (!job) return;
    root.querySelector("#j-status").innerHTML = `<span class="badge ${esc(job.status)}">${esc(job.status)}</span>`;
    const p = job.progress;
    root.querySelector("#j-progress").innerHTML = `<span class="progress"><span style="width:${Math.round((100 * p.epoch) / Math.max(1, p.epochs))}%"></span></span> epoch ${p.epoch} / ${p.epochs}`;
    root.querySelector("#j-cancel").hidden = FINISHED.includes(job.status);
    if (job.experiment_id) root.querySelector("#j-exp").innerHTML = `<a href="#/experiments/${esc(job.experiment_id)}">its experiment</a>`;
    root.querySelector("#j-error").textContent = job.error || "";
    const noDecay = job.spec.decay.name === "none";
    const rows = Object.entries(flatten(job.spec))
      .filter(([k, v]) => v !== null && v !== undefined && !(noDecay && k.startsWith("decay.") && k !== "decay.name"));
    if (job.result) {
      rows.unshift(["accuracy", fmt.acc(job.result.accuracy)], ["final cost", fmt.cost(job.result.final_cost)],
        ["seconds", fmt.num(job.result.seconds)]);
    }
    root.querySelector("#j-spec").innerHTML = rows.map(([k, v]) => `<dt>${esc(k)}</dt><dd>${esc(v)}</dd>`).join("");
    if (FINISHED.includes(job.status) && job.status !== "succeeded" && !job.progress.epoch) {
      root.querySelector("#j-boundary").innerHTML = `<div class="wait">no model: the job ${job.status === "canceled" ? "was canceled" : "failed"}</div>`;
    }
    showBoundary();
  }

  /** What the boundary should show: [epoch (null: the trained model), grid, key], or null to wait. The
   * timeline's epoch; at "latest", the trained model, or the newest frame while it trains (asked again
   * every LIVE_MS) or once it ended without a model. */
  function wanted() {
    if (!job || shown === "none") return null;
    const picked = timeline.epoch();
    if (picked !== null) return [picked, FRAME_GRID, `epoch ${picked}`];
    if (job.status === "succeeded") return [null, MODEL_GRID, "final"];
    if (job.status === "queued" || !job.progress.epoch) return null;
    if (job.status !== "running") return [job.progress.epoch, FRAME_GRID, "ended"];
    return typeof shown === "number" && Date.now() - shown < LIVE_MS ? null : [job.progress.epoch, FRAME_GRID, Date.now()];
  }

  function showBoundary() {
    const want = wanted();
    if (!want || want[2] === shown) return undefined;
    const [epoch, grid, key] = want;
    shown = key;
    const box = root.querySelector("#j-boundary");
    return boundaries.get(jobId, grid, epoch).then((boundary) => {
      if (shown !== key) return;
      timeline.add(boundary.frames);
      if (!box.querySelector("canvas")) {
        box.innerHTML = `<figure><figcaption><span>${esc(job.label || job.spec.optimizer.name)}</span><span></span></figcaption>
          <canvas data-boundary="${esc(jobId)}"></canvas></figure>`;
      }
      const canvas = box.querySelector("canvas");
      canvas.dataset.epoch = String(boundary.epoch);
      drawBoundary(canvas, boundary);
      box.querySelector("figcaption > span:last-child").textContent = epoch === null
        ? `accuracy ${fmt.acc(job.result?.accuracy)} · epoch ${boundary.epoch}`
        : `epoch ${boundary.epoch}${job.status === "running" && timeline.epoch() === null ? " · live" : ""}`;
    }).catch((error) => {
      if (shown !== key) return;
      if (error.status === 422) shown = "none"; // a model of other than 2 features: never asked again
      if (!box.querySelector("canvas")) box.innerHTML = `<div class="wait">${esc(error.message)}</div>`;
    });
  }

  function showError(error) { root.querySelector("#j-error").textContent = error.message; }

  async function load() {
    try {
      job = await api(`/jobs/${jobId}`);
      paint();
    } catch (error) {
      root.querySelector("#j-error").textContent = error.message;
    }
  }

  root.querySelector("#j-boundary").innerHTML = `<div class="wait">drawn as the job trains</div>`;
  root.querySelector("#j-log").addEventListener("change", (event) => chart.setLog(event.target.checked));
  root.querySelector("#j-edit").addEventListener("click", () => job && writeSpec(job.spec));
  root.querySelector("#j-cancel").addEventListener("click", async (event) => {
    event.target.disabled = true;
    try { job = await api(`/jobs/${jobId}`, { method: "DELETE" }); paint(); } catch (error) {
      root.querySelector("#j-error").textContent = error.message;
    }
    event.target.disabled = false;
  });
  const stream = follow(`/jobs/${jobId}/events`, authHeaders(), (name, data) => {
    if (name === "point") chart.add(jobId, [[data.epoch, data.cost]]);
    else if (name === "progress" && job) { job.progress = data; paint(); }
    else if (name === "status") load();
    else if (name === "gap") api(`/jobs/${jobId}/costs?max_points=2000`).then((page) =>
      chart.add(jobId, page.points.map((p) => [p.epoch, p.cost]))).catch(showError);
  }, { onError: (error) => { root.querySelector("#j-error").textContent = error.message.includes("404") ? `no job ${jobId}` : error.message; } });
  load();
  return () => stream.close();
}
