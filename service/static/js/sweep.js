// A sweep's figure: the final cost (or the accuracy) of each model against the one numeric hyperparameter
// the sweep varies (the learning rate, β, …), one line per setting of the other hyperparameters (one per
// optimizer in a grid of optimizer × learning rate). The x axis is logarithmic when the values span a
// decade or more. Shown when some numeric hyperparameter takes three values or more.

import { esc } from "./api.js";
import { logLabels, logRange, style, swatch } from "./chart.js";
import { part, paramName } from "./labels.js";

export const METRICS = { final_cost: "final cost", accuracy: "accuracy" };

/** The numeric hyperparameter of the table's rows to draw along x: the learning rate if it takes 3 values
 * or more, else the one that takes the most (at least 3); null when none does. */
export function sweptParameter(rows) {
  const values = new Map();
  for (const row of rows) {
    for (const [path, value] of Object.entries(row.params)) {
      if (typeof value !== "number") continue;
      if (!values.has(path)) values.set(path, new Set());
      values.get(path).add(value);
    }
  }
  const swept = [...values].filter(([, seen]) => seen.size >= 3);
  if (swept.some(([path]) => path === "optimizer.learning_rate")) return "optimizer.learning_rate";
  swept.sort((a, b) => b[1].size - a[1].size);
  return swept.length ? swept[0][0] : null;
}

/** The rows as lines: `[{ label, points: [[x, y], …] sorted by x }]`, one per setting of the other
 * hyperparameters, with the rows that have a value of `metric` (finished models). */
export function sweepLines(rows, x, metric) {
  const lines = new Map();
  for (const row of rows) {
    const label = Object.entries(row.params).filter(([path]) => path !== x).map(([p, v]) => part(p, v)).join(" ") || "all";
    if (!lines.has(label)) lines.set(label, { label, points: [] });
    const y = row[metric];
    if (typeof row.params[x] === "number" && y !== null && y !== undefined) lines.get(label).points.push([row.params[x], y]);
  }
  for (const line of lines.values()) line.points.sort((a, b) => a[0] - b[0]);
  return [...lines.values()];
}

export class SweepChart {
  /** The figure in `root` (the card), with its chart in `root .chart` and legend in `root .legend`. */
  constructor(root) {
    this.root = root;
    this.metric = "final_cost";
    this.plot = null;
    this.shape = ""; // what the plot was built for: x, metric, lines (rebuilt when it changes)
    this.box = root.querySelector(".chart");
    new ResizeObserver(() => this.plot && this.plot.setSize(this.size())).observe(this.box);
  }

  size() { return { width: Math.max(200, this.box.clientWidth), height: 280 }; }

  setMetric(metric) { this.metric = metric; this.shape = ""; }

  /** Draw the table's rows (hidden when no numeric hyperparameter takes three values). */
  update(rows) {
    const x = sweptParameter(rows);
    this.root.hidden = x === null;
    if (x === null) return;
    const lines = sweepLines(rows, x, this.metric);
    const xs = [...new Set(lines.flatMap((l) => l.points.map((p) => p[0])))].sort((a, b) => a - b);
    const data = [xs, ...lines.map((l) => { const at = new Map(l.points); return xs.map((v) => at.get(v) ?? null); })];
    const drawn = lines.reduce((n, l) => n + l.points.length, 0);
    const title = `${METRICS[this.metric]} by ${paramName(x)}`;
    this.root.querySelector("[data-title]").textContent = title[0].toUpperCase() + title.slice(1);
    this.box.dataset.points = String(drawn); // for tests and tools
    this.box.dataset.x = x;
    this.root.querySelector(".legend").innerHTML = lines.length < 2 ? "" : lines.map((l, i) =>
      `<span><span class="swatch" style="${swatch(i)}"></span>${esc(l.label)}</span>`).join("");
    const log = xs.length > 1 && xs[0] > 0 && xs[xs.length - 1] / xs[0] >= 10;
    const shape = JSON.stringify([x, this.metric, log, lines.map((l) => l.label)]);
    if (this.plot && shape === this.shape) { this.plot.setData(data); return; }
    if (this.plot) this.plot.destroy();
    this.shape = shape;
    this.plot = new uPlot({
      ...this.size(),
      scales: { x: log ? { time: false, distr: 3, range: logRange } : { time: false }, y: { auto: true } },
      axes: [
        { label: paramName(x), stroke: "#667085", grid: { stroke: "#eef0f4" }, ...(log ? { values: logLabels } : {}) },
        { label: METRICS[this.metric], stroke: "#667085", grid: { stroke: "#eef0f4" }, size: 60 },
      ],
      legend: { show: false },
      series: [{ label: paramName(x) }, ...lines.map((l, i) => {
        const look = style(i);
        return { label: l.label, stroke: look.color, width: 2, dash: look.dash, spanGaps: true,
          points: { show: true, size: 7, fill: look.color } };
      })],
    }, data, this.box);
  }
}
