// One experiment (#/experiments/{id}): the course's §5 figure and more. Every member's curve overlaid and
// growing live over one SSE stream (or each as its difference from one member's), the sortable comparison
// table (accuracy, final cost, roughness, epochs to converge, seconds), a sweep's final cost against its
// swept hyperparameter, the members' decision boundaries side by side (live while they train, and at any
// kept epoch of their training with one timeline for all), cancel buttons.

import { api, esc, authHeaders } from "./api.js";
import { drawBoundary } from "./boundary.js";
import { CurveChart, swatch } from "./chart.js";
import { Boundaries, FrameTimeline } from "./frames.js";
import { describe } from "./labels.js";
import { follow } from "./sse.js";
import { METRICS, SweepChart } from "./sweep.js";
import { fmt, sortable, sortRows, syncRows } from "./table.js";

const FINISHED = ["succeeded", "failed", "canceled"];
const THUMBNAIL_GRID = 150; // grid points per axis of a member's boundary (the job's own page draws 300)
const LIVE_MS = 2000; // a training member's boundary is asked for again at most this often
const NONE = "none"; // what a figure shows when its model has no decision boundary (not 2 features)
const badge = (status) => `<span class="badge ${esc(status)}">${esc(status)}</span>`;

export function experimentView(root, experimentId) {
  root.innerHTML = `
    <div class="title"><h1 id="x-name">Experiment <code>${esc(experimentId.slice(0, 8))}</code></h1>
      <span id="x-status"></span><span id="x-counts" class="hint"></span><span class="spacer"></span>
      <button id="x-link" type="button" title="copy this experiment's address">Copy link</button>
      <button class="danger" id="x-cancel" hidden>Cancel all</button></div>
    <p class="notice" id="x-error"></p>
    <div class="card"><h2>Cost per epoch <span class="spacer"></span><span class="chart-tools">
      <label title="each curve minus the chosen member's cost at the same epoch (the members share their seeds)">
        difference from <select id="x-baseline"><option value="">none</option></select></label>
      <label title="exponential moving average, raw curve behind">smoothing
        <input type="range" id="x-smooth" min="0" max="0.99" step="0.01" value="0"><output id="x-smooth-value">0</output></label>
      <label><input type="checkbox" id="x-log"> log scale</label></span></h2>
      <div id="x-chart"></div><div class="legend" id="x-legend"></div></div>
    <div class="card"><h2>Comparison</h2><table id="x-table"><thead><tr>
      <th data-sort="label">model</th><th>status</th><th class="num" data-sort="accuracy">accuracy</th>
      <th class="num" data-sort="final_cost">final cost</th><th class="num" data-sort="roughness">roughness</th>
      <th>cost shape</th><th class="num" data-sort="epochs_to_converge">epochs to converge</th>
      <th class="num" data-sort="seconds">seconds</th><th></th></tr></thead><tbody></tbody></table>
      <p class="hint">roughness: the curve's total variation over its net decrease (1.0 only goes down); epochs to
      converge: the first recorded epoch within 1 % of the final cost.</p></div>
    <div class="card" id="x-sweep" hidden><h2><span data-title></span><span class="spacer"></span>
      <span class="chart-tools"><label>show <select id="x-sweep-metric">${Object.entries(METRICS).map(([value, name]) =>
        `<option value="${value}">${name}</option>`).join("")}</select></label></span></h2>
      <div class="chart sweep-chart"></div><div class="legend"></div></div>
    <div class="card"><h2>Decision boundaries <span class="spacer"></span><span id="x-frames"></span></h2>
      <div class="boundaries" id="x-boundaries"></div></div>`;
  const chart = new CurveChart(root.querySelector("#x-chart"), { height: 360, empty: "waiting for the first cost points" });
  const sweep = new SweepChart(root.querySelector("#x-sweep"));
  const order = { column: null, descending: false }; // the members' order until a column is clicked
  const boundaries = new Boundaries(api);
  const shown = new Map(); // job id → what its figure shows or is fetching ("final", "epoch N"), or asked at (live)
  const timeline = new FrameTimeline(root.querySelector("#x-frames"), () => paintBoundaries());
  const near = new Set(); // members whose boundary is on screen or nearly: drawn only then (a sweep has many)
  const watcher = new IntersectionObserver((entries) => {
    for (const entry of entries) {
      if (!entry.isIntersecting) continue;
      near.add(entry.target.dataset.member);
      watcher.unobserve(entry.target);
    }
    if (experiment) paintBoundaries();
  }, { rootMargin: "300px" });
  let experiment = null;
  let index = new Map(); // job id → member index (its colour and dash)
  let loading = null;
  let again = false;

  function paintHead() {
    const e = experiment;
    if (e.name) root.querySelector("#x-name").innerHTML = `${esc(e.name)} <code>${esc(experimentId.slice(0, 8))}</code>`;
    root.querySelector("#x-status").innerHTML = badge(e.status);
    root.querySelector("#x-counts").textContent = Object.entries(e.counts).map(([k, v]) => `${v} ${k}`).join(" · ");
    root.querySelector("#x-cancel").hidden = FINISHED.includes(e.status);
  }

  function paintChart() {
    const members = experiment.members;
    index = new Map(members.map((m, i) => [m.job_id, i]));
    const { same } = describe(members.map((m) => m.spec));
    chart.set(members.map((m, i) => ({ key: m.job_id, label: m.label, index: i })));
    root.querySelector("#x-baseline").innerHTML = `<option value="">none</option>` + members.map((m) =>
      `<option value="${esc(m.job_id)}">${esc(m.label)}</option>`).join("");
    root.querySelector("#x-legend").innerHTML = members.map((m, i) =>
      `<span data-legend="${esc(m.job_id)}"><span class="swatch" style="${swatch(i)}"></span>${esc(m.label)}</span>`).join("")
      + (same ? `<span class="same">${esc(same)}</span>` : "");
  }

  function paintTable() {
    const position = new Map(experiment.members.map((m, i) => [m.job_id, i]));
    const inOrder = [...experiment.table].sort((a, b) => position.get(a.job_id) - position.get(b.job_id));
    const rows = sortRows(inOrder, order);
    const best = Math.max(...rows.map((r) => r.accuracy ?? -1));
    const members = new Map(experiment.members.map((m) => [m.job_id, m]));
    syncRows(root.querySelector("#x-table tbody"), rows, {
      key: (r) => r.job_id,
      cells: (r) => {
        const m = members.get(r.job_id);
        const p = m?.progress;
        const status = r.status === "running" && p
          ? `${badge(r.status)} <span class="progress"><span style="width:${Math.round((100 * p.epoch) / Math.max(1, p.epochs))}%"></span></span>`
          : badge(r.status) + (m?.error ? ` <span class="hint">${esc(m.error)}</span>` : "");
        return [
          { html: `<span class="swatch" style="${swatch(index.get(r.job_id) ?? 0)}"></span><a href="#/jobs/${esc(r.job_id)}">${esc(r.label)}</a>` },
          { html: status },
          { html: fmt.acc(r.accuracy), className: "num accuracy" },
          { html: fmt.cost(r.final_cost), className: "num" },
          { html: fmt.num(r.roughness, 3), className: "num" },
          { html: esc(r.shape ?? "–") },
          { html: fmt.int(r.epochs_to_converge), className: "num" },
          { html: fmt.num(r.seconds), className: "num" },
          { html: FINISHED.includes(r.status) ? "" : `<button class="danger" data-cancel>Cancel</button>` },
        ];
      },
      make: (tr, r) => tr.addEventListener("click", async (event) => {
        if (!event.target.matches("[data-cancel]")) return;
        event.target.disabled = true;
        try { await api(`/jobs/${r.job_id}`, { method: "DELETE" }); } catch (error) { showError(error); }
        load();
      }),
    });
    for (const tr of root.querySelectorAll("#x-table tbody tr")) {
      const row = rows.find((r) => r.job_id === tr.dataset.key);
      tr.classList.toggle("best", rows.length > 1 && row?.accuracy === best && best >= 0);
    }
  }

  /** What member `m`'s figure should show: [the epoch to ask for (null: its trained model), a key for it]
   * or null to wait. The timeline's epoch for every member; at "latest", a succeeded member's model and the
   * newest frame of one that trains (asked again every LIVE_MS) or ended without a model. */
  function wanted(m) {
    if (shown.get(m.job_id) === NONE) return null;
    const picked = timeline.epoch();
    if (picked !== null) return [picked, `epoch ${picked}`];
    if (m.status === "succeeded") return [null, "final"];
    if (m.status === "queued" || !m.progress?.epoch) return null;
    if (m.status !== "running") return [m.progress.epoch, `ended ${m.progress.epoch}`];
    const at = shown.get(m.job_id);
    return typeof at === "number" && Date.now() - at < LIVE_MS ? null : [m.progress.epoch, Date.now()];
  }

  function paintBoundaries() {
    const box = root.querySelector("#x-boundaries");
    const draws = [];
    for (const [i, m] of experiment.members.entries()) {
      let figure = box.querySelector(`[data-member="${m.job_id}"]`);
      if (!figure) {
        figure = document.createElement("figure");
        figure.dataset.member = m.job_id;
        figure.innerHTML = `<figcaption><span><span class="swatch" style="${swatch(i)}"></span>${esc(m.label)}</span><span></span></figcaption><div class="wait"></div>`;
        box.append(figure);
        watcher.observe(figure);
      }
      const want = near.has(m.job_id) ? wanted(m) : null;
      if (!want) {
        const wait = figure.querySelector(".wait");
        if (wait && !shown.has(m.job_id)) wait.textContent = m.status === "queued" ? "drawn when this model trains" : `no model: ${m.status}`;
        continue;
      }
      const [epoch, key] = want;
      if (shown.get(m.job_id) === key) continue;
      shown.set(m.job_id, key);
      draws.push(boundaries.get(m.job_id, THUMBNAIL_GRID, epoch).then((boundary) => {
        if (shown.get(m.job_id) !== key) return; // another epoch was asked for meanwhile
        timeline.add(boundary.frames);
        let canvas = figure.querySelector("canvas");
        if (!canvas) {
          canvas = document.createElement("canvas");
          canvas.dataset.boundary = m.job_id;
          figure.querySelector(".wait")?.replaceWith(canvas);
        }
        canvas.dataset.epoch = String(boundary.epoch);
        drawBoundary(canvas, boundary);
        figure.querySelector("figcaption > span:last-child").textContent = epoch === null
          ? `accuracy ${fmt.acc(m.result?.accuracy)}` : `epoch ${boundary.epoch}`;
      }).catch((error) => {
        if (shown.get(m.job_id) !== key) return;
        if (error.status === 422) shown.set(m.job_id, NONE); // a model of other than 2 features: never asked again
        const wait = figure.querySelector(".wait");
        if (wait) wait.textContent = error.message;
        else figure.querySelector("figcaption > span:last-child").textContent = error.message;
      }));
    }
    return Promise.all(draws);
  }

  function showError(error) { root.querySelector("#x-error").textContent = error.message; }

  /** GET the experiment again (one request at a time; a request asked meanwhile runs after it). */
  async function load() {
    if (loading) { again = true; return; }
    loading = (async () => {
      try {
        const first = !experiment;
        experiment = await api(`/experiments/${experimentId}`);
        paintHead();
        if (first) paintChart();
        paintTable();
        sweep.update(experiment.table);
        paintBoundaries();
        root.querySelector("#x-error").textContent = "";
      } catch (error) {
        showError(error);
      }
    })();
    await loading;
    loading = null;
    if (again) { again = false; load(); }
  }

  let soon = null; // at most one GET per 250 ms however many events come
  const loadSoon = () => { soon = soon || setTimeout(() => { soon = null; load(); }, 250); };

  sortable(root.querySelector("#x-table"), order, () => experiment && paintTable());
  root.querySelector("#x-link").addEventListener("click", async (event) => {
    try {
      await navigator.clipboard.writeText(location.href);
      event.target.textContent = "Copied";
    } catch {
      event.target.textContent = location.href; // no clipboard (plain http): show it to copy by hand
    }
  });
  root.querySelector("#x-sweep-metric").addEventListener("change", (event) => {
    sweep.setMetric(event.target.value);
    if (experiment) sweep.update(experiment.table);
  });
  root.querySelector("#x-log").addEventListener("change", (event) => chart.setLog(event.target.checked));
  root.querySelector("#x-smooth").addEventListener("input", (event) => {
    root.querySelector("#x-smooth-value").textContent = event.target.value;
    chart.setSmoothing(Number(event.target.value));
  });
  root.querySelector("#x-baseline").addEventListener("change", (event) => {
    chart.setBaseline(event.target.value);
    root.querySelector("#x-log").disabled = Boolean(event.target.value); // differences go below 0
  });
  root.querySelector("#x-cancel").addEventListener("click", async (event) => {
    event.target.disabled = true;
    try { await api(`/experiments/${experimentId}`, { method: "DELETE" }); } catch (error) { showError(error); }
    event.target.disabled = false;
    load();
  });
  const pending = []; // points that came before the members were known
  const stream = follow(`/experiments/${experimentId}/events`, authHeaders(), (name, data) => {
    if (name === "point") {
      if (experiment) chart.add(data.job_id, [[data.epoch, data.cost]]);
      else pending.push(data);
    } else if (name === "progress" && experiment) {
      const m = experiment.members.find((x) => x.job_id === data.job_id);
      if (m) { m.progress = { epoch: data.epoch, epochs: data.epochs }; }
      loadSoon();
    } else if (name === "status") {
      loadSoon();
    } else if (name === "gap") {
      api(`/jobs/${data.job_id}/costs?max_points=2000`).then((page) =>
        chart.add(data.job_id, page.points.map((p) => [p.epoch, p.cost]))).catch(showError);
    }
  }, { onError: (error) => showError(error.message.includes("404") ? new Error(`no experiment ${experimentId}`) : error) });
  load().then(() => {
    for (const data of pending.splice(0)) chart.add(data.job_id, [[data.epoch, data.cost]]);
  });
  return () => { stream.close(); clearTimeout(soon); watcher.disconnect(); };
}
