// One job (#/jobs/{id}): its curve growing live over SSE, its progress and status, a cancel button, its
// spec and result (and a button that puts the spec in the form, to edit and run again), and its decision
// boundary once it has succeeded.

import { api, esc, authHeaders } from "./api.js";
import { drawBoundary } from "./boundary.js";
import { CurveChart } from "./chart.js";
import { writeSpec } from "./compose.js";
import { flatten } from "./labels.js";
import { follow } from "./sse.js";
import { fmt } from "./table.js";

const FINISHED = ["succeeded", "failed", "canceled"];

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
      <div class="card"><h2>Decision boundary</h2><div class="boundaries single" id="j-boundary"></div></div>
    </div>`;
  const chart = new CurveChart(root.querySelector("#j-chart"), { empty: "waiting for the first cost point" });
  chart.set([{ key: jobId, label: "cost", index: 0 }]);
  let job = null;
  let boundaryDrawn = false;

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
    if (job.status === "succeeded" && !boundaryDrawn) showBoundary();
    if (FINISHED.includes(job.status) && job.status !== "succeeded") {
      root.querySelector("#j-boundary").innerHTML = `<div class="wait">no model: the job ${job.status === "canceled" ? "was canceled" : "failed"}</div>`;
    }
  }

  async function showBoundary() {
    boundaryDrawn = true;
    const box = root.querySelector("#j-boundary");
    try {
      const boundary = await api(`/jobs/${jobId}/boundary`);
      box.innerHTML = `<figure><figcaption><span>${esc(job.label || job.spec.optimizer.name)}</span>
        <span>accuracy ${fmt.acc(job.result?.accuracy)}</span></figcaption><canvas data-boundary="${esc(jobId)}"></canvas></figure>`;
      drawBoundary(box.querySelector("canvas"), boundary);
    } catch (error) {
      box.innerHTML = `<div class="wait">${esc(error.message)}</div>`;
    }
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

  root.querySelector("#j-boundary").innerHTML = `<div class="wait">drawn when the job has succeeded</div>`;
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
