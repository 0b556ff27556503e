// The overview (#/): the experiments and the jobs, refreshed in place every few seconds, and an overlay of
// the jobs the user ticks (nothing is ticked until the user ticks it), live while they train.

import { api, esc, authHeaders } from "./api.js";
import { CurveChart, swatch } from "./chart.js";
import { describe } from "./labels.js";
import { follow } from "./sse.js";
import { fmt, syncRows } from "./table.js";

const REFRESH_MS = 3000;
const FINISHED = ["succeeded", "failed", "canceled"];
const badge = (status) => `<span class="badge ${esc(status)}">${esc(status)}</span>`;
const bar = (p) => `<span class="progress"><span style="width:${Math.round((100 * p.epoch) / Math.max(1, p.epochs))}%"></span></span> ${p.epoch} / ${p.epochs}`;
const shortLabel = (job) => job.label || `${job.spec.optimizer.name} lr=${job.spec.optimizer.learning_rate}`;

export function overview(root) {
  root.innerHTML = `
    <div class="card"><h2>Compare jobs <span class="spacer"></span>
      <span class="chart-tools"><label><input type="checkbox" id="ov-log"> log scale</label></span></h2>
      <div id="ov-chart"></div><div class="legend" id="ov-legend"></div></div>
    <div class="card"><h2>Experiments</h2><table id="ov-experiments"><thead><tr>
      <th>experiment</th><th>status</th><th>members</th><th>created</th><th></th></tr></thead><tbody></tbody></table>
      <p class="hint" id="ov-no-experiments" hidden>None yet: run the course's comparison or a sweep.</p></div>
    <div class="card"><h2>Jobs <span class="hint">tick jobs to overlay their curves</span></h2>
      <table id="ov-jobs"><thead><tr><th></th><th>job</th><th>what</th><th>status</th><th>progress</th>
      <th class="num">accuracy</th><th></th></tr></thead><tbody></tbody></table>
      <p class="hint" id="ov-no-jobs" hidden>None yet.</p></div>`;
  const chart = new CurveChart(root.querySelector("#ov-chart"), {
    height: 300, empty: "no cost points yet", none: "tick jobs below to overlay their cost curves" });
  const ticked = new Map(); // job id → { job, stream }
  let timer = null;
  let alive = true;

  function redrawOverlay() {
    const jobs = [...ticked.values()].map((t) => t.job);
    const { labels, same } = describe(jobs.map((j) => j.spec));
    chart.set(jobs.map((job, i) => ({ key: job.id, label: labels[i], index: i })));
    root.querySelector("#ov-legend").innerHTML = jobs.map((job, i) =>
      `<span><span class="swatch" style="${swatch(i)}"></span>${esc(labels[i])} <code>${esc(job.id.slice(0, 8))}</code></span>`).join("")
      + (jobs.length > 1 && same ? `<span class="same">${esc(same)}</span>` : "");
  }

  function tick(job, on) {
    if (on && !ticked.has(job.id)) {
      const stream = follow(`/jobs/${job.id}/events`, authHeaders(), (name, data) => {
        if (name === "point") chart.add(job.id, [[data.epoch, data.cost]]);
        if (name === "gap") api(`/jobs/${job.id}/costs?max_points=2000`).then((page) =>
          chart.add(job.id, page.points.map((p) => [p.epoch, p.cost]))).catch(() => {}); // the curve keeps its hole
      });
      ticked.set(job.id, { job, stream });
    } else if (!on && ticked.has(job.id)) {
      ticked.get(job.id).stream.close();
      ticked.delete(job.id);
    }
    redrawOverlay();
  }

  async function cancel(path, button) {
    button.disabled = true;
    try { await api(path, { method: "DELETE" }); } catch (error) { button.title = error.message; }
    refresh();
  }

  async function refresh() {
    clearTimeout(timer);
    try {
      const [experiments, jobs] = await Promise.all([api("/experiments?limit=20"), api("/jobs?limit=30")]);
      if (!alive) return;
      root.querySelector("#ov-no-experiments").hidden = experiments.items.length > 0;
      root.querySelector("#ov-no-jobs").hidden = jobs.items.length > 0;
      syncRows(root.querySelector("#ov-experiments tbody"), experiments.items, {
        key: (e) => e.id,
        cells: (e) => [
          { html: `<a href="#/experiments/${esc(e.id)}">${esc(e.name || "experiment")}</a> <code>${esc(e.id.slice(0, 8))}</code>` },
          { html: badge(e.status) },
          { html: esc(Object.entries(e.counts).map(([k, v]) => `${v} ${k}`).join(", ")) },
          { html: esc(new Date(e.created_at).toLocaleString()) },
          { html: FINISHED.includes(e.status) ? "" : `<button class="danger" data-cancel>Cancel</button>` },
        ],
        make: (tr, e) => tr.addEventListener("click", (event) => {
          if (event.target.matches("[data-cancel]")) cancel(`/experiments/${e.id}`, event.target);
        }),
      });
      syncRows(root.querySelector("#ov-jobs tbody"), jobs.items, {
        key: (j) => j.id,
        cells: (j) => [
          {},
          { html: `<a href="#/jobs/${esc(j.id)}"><code>${esc(j.id.slice(0, 8))}</code></a>` },
          { html: esc(shortLabel(j)) + (j.experiment_id ? ` <a class="hint" href="#/experiments/${esc(j.experiment_id)}">experiment</a>` : "") },
          { html: badge(j.status) + (j.error ? ` <span class="hint">${esc(j.error)}</span>` : "") },
          { html: bar(j.progress) },
          { html: fmt.acc(j.result?.accuracy), className: "num" },
          { html: FINISHED.includes(j.status) ? "" : `<button class="danger" data-cancel>Cancel</button>` },
        ],
        make: (tr, j) => {
          const box = Object.assign(document.createElement("input"), { type: "checkbox", title: "overlay" });
          box.addEventListener("change", () => tick(j, box.checked));
          tr.cells[0].append(box);
          tr.addEventListener("click", (event) => {
            if (event.target.matches("[data-cancel]")) cancel(`/jobs/${j.id}`, event.target);
          });
        },
      });
      root.querySelector("#ov-error")?.remove();
      root.dataset.refreshes = String(Number(root.dataset.refreshes || 0) + 1); // for tests
    } catch (error) {
      if (!root.querySelector("#ov-error")) root.insertAdjacentHTML("afterbegin", `<p class="notice" id="ov-error"></p>`);
      root.querySelector("#ov-error").textContent = error.message;
    }
    if (alive) timer = setTimeout(refresh, REFRESH_MS);
  }

  root.querySelector("#ov-log").addEventListener("change", (event) => chart.setLog(event.target.checked));
  refresh();
  return () => {
    alive = false;
    clearTimeout(timer);
    for (const t of ticked.values()) t.stream.close();
  };
}
