// Cost curves on a uPlot chart: one series per job, each with its own colour, width and dash so that
// curves that coincide (gd and momentum at the seed's rate) still show: the first is drawn wide and pale,
// the later ones narrower and dashed on top of it. A log-scale toggle; a baseline, to draw every curve as
// its difference from one of them at each epoch (paired runs: members share their seeds, so the difference
// is the optimizer's alone); smoothing, TensorBoard's debiased exponential moving average with the raw
// curve drawn faintly behind; and a placeholder instead of empty axes when there is nothing to draw.

const COLORS = ["#3056d3", "#e8590c", "#12805c", "#ae3ec9", "#d6336c", "#0c8599", "#5c940d", "#862e9c",
  "#495057", "#f08c00"];
const DASHES = [[], [10, 6], [3, 3], [14, 4, 3, 4], [6, 3], [2, 5]];

/** The look of series `i`: colour, width, dash (shared by the chart and the table's swatches). */
export function style(i) {
  return { color: COLORS[i % COLORS.length], width: i % DASHES.length === 0 ? 4.5 : 2.5, dash: DASHES[i % DASHES.length] };
}

/** The CSS of a swatch for series `i` (a short line in its colour and dash). */
export function swatch(i) {
  const s = style(i);
  const kind = s.dash.length === 0 ? "solid" : s.dash[0] <= 3 ? "dotted" : "dashed";
  return `border-top: ${Math.round(s.width)}px ${kind} ${s.color}`;
}

export class CurveChart {
  /** A chart in `root` (an element); `series` are set later with `set`. */
  constructor(root, { height = 320, empty = "no cost points yet", none = "nothing selected" } = {}) {
    this.root = root;
    this.height = height;
    this.emptyText = empty;
    this.noneText = none;
    this.log = false;
    this.baseline = null; // the key of the series the others are drawn against, or null
    this.smoothing = 0; // the EMA's weight w, 0 (none) to 0.99
    this.series = []; // [{ key, label, index, points: Map(epoch → cost) }]
    this.plot = null;
    this.pending = false;
    this.root.classList.add("chart");
    this.placeholder = document.createElement("div");
    this.placeholder.className = "empty";
    this.root.append(this.placeholder);
    new ResizeObserver(() => this.plot && this.plot.setSize(this.size())).observe(root);
    this.render();
  }

  size() { return { width: Math.max(200, this.root.clientWidth), height: this.height }; }

  /** Show these series (`[{ key, label, index }]`), keeping the points of those already shown. */
  set(series) {
    const old = new Map(this.series.map((s) => [s.key, s]));
    this.series = series.map((s) => ({ ...s, points: old.get(s.key)?.points || new Map() }));
    this.rebuild();
  }

  /** Add `[epoch, cost]` points to series `key` (a later point at an epoch replaces the earlier). */
  add(key, points) {
    const series = this.series.find((s) => s.key === key);
    if (!series) return;
    for (const [epoch, cost] of points) series.points.set(epoch, cost);
    this.schedule();
  }

  setLog(log) { this.log = log; this.rebuild(); }

  /** Draw each series as its cost minus series `key`'s at the same epoch (null: the costs themselves). */
  setBaseline(key) { this.baseline = key || null; this.rebuild(); }

  /** Smooth every curve with weight `w` (0: none); see `smooth`. */
  setSmoothing(w) {
    const toggled = Boolean(w) !== Boolean(this.smoothing); // the raw curves come or go
    this.smoothing = w;
    if (toggled) this.rebuild(); else this.render();
  }

  baseSeries() { return this.baseline ? this.series.find((s) => s.key === this.baseline) : undefined; }

  logScale() { return this.log && !this.baseSeries(); } // differences go below 0

  count() { return this.series.reduce((n, s) => n + s.points.size, 0); }

  schedule() {
    if (this.pending) return;
    this.pending = true;
    requestAnimationFrame(() => { this.pending = false; this.render(); });
  }

  data() {
    const epochs = [...new Set(this.series.flatMap((s) => [...s.points.keys()]))].sort((a, b) => a - b);
    const base = this.baseSeries()?.points;
    const log = this.logScale();
    const columns = this.series.map((s) => epochs.map((e) => {
      const cost = s.points.get(e);
      if (cost === undefined || cost === null) return null;
      if (base) { const b = base.get(e); return b === undefined || b === null ? null : cost - b; }
      return log && cost <= 0 ? null : cost;
    }));
    if (!this.smoothing) return [epochs, ...columns];
    return [epochs, ...columns.flatMap((column) => [column, smooth(column, this.smoothing)])];
  }

  rebuild() {
    if (this.plot) { this.plot.destroy(); this.plot = null; }
    this.render();
  }

  render() {
    const hasPoints = this.count() > 0;
    this.root.dataset.series = String(this.series.filter((s) => s.points.size).length); // for tests and tools
    this.root.dataset.points = String(this.count());
    const log = this.logScale();
    const base = this.baseSeries();
    this.root.dataset.scale = log ? "log" : "linear";
    this.root.dataset.baseline = base ? base.key : "";
    this.root.dataset.smoothing = String(this.smoothing);
    this.placeholder.textContent = this.series.length ? this.emptyText : this.noneText;
    this.placeholder.hidden = hasPoints;
    if (!hasPoints) {
      if (this.plot) { this.plot.destroy(); this.plot = null; }
      return;
    }
    const data = this.data();
    if (this.plot) { this.plot.setData(data); return; }
    const options = {
      ...this.size(),
      scales: { x: { time: false }, y: log ? { distr: 3, range: logRange } : { auto: true } },
      axes: [
        { label: "epoch", stroke: "#667085", grid: { stroke: "#eef0f4" } },
        {
          label: base ? `cost − cost of ${base.label}` : log ? "cost (log)" : "cost",
          stroke: "#667085", grid: { stroke: "#eef0f4" }, size: 60, ...(log ? { values: logLabels } : {}),
        },
      ],
      legend: { show: false },
      cursor: { drag: { x: true, y: false } },
      series: [{ label: "epoch" }, ...this.series.flatMap((s) => {
        const look = style(s.index);
        const line = {
          label: s.label, stroke: look.color, width: look.width, dash: look.dash, spanGaps: true,
          points: { show: false },
        };
        if (!this.smoothing) return [line];
        const raw = { label: `${s.label} (raw)`, stroke: `${look.color}40`, width: 1, spanGaps: true, points: { show: false } };
        return [raw, line];
      })],
    };
    this.plot = new uPlot(options, data, this.root);
    this.root.dataset.drawn = String(options.series.length - 1);
  }
}

/** TensorBoard's smoothing of `values` (nulls kept): last = w·last + (1 − w)·y from last = 0, shown
 * debiased as last / (1 − wⁿ) after the n-th value. */
export function smooth(values, w) {
  let last = 0;
  let n = 0;
  return values.map((y) => {
    if (y === null) return null;
    last = w * last + (1 - w) * y;
    n += 1;
    return last / (1 - w ** n);
  });
}

// A log axis spans the values with a margin, not whole decades (uPlot's default would stretch 0.12…0.7 to
// 0.1…1), and labels only the ticks whose leading digit is 1, 2, 3 or 5: every tick keeps its grid line.
export function logRange(u, min, max) {
  return min > 0 && max > 0 ? [min / 1.15, max * 1.15] : [min, max];
}

export function logLabels(u, splits) {
  return splits.map((v) => {
    const lead = Math.round(v / 10 ** Math.floor(Math.log10(v) + 1e-9));
    return [1, 2, 3, 5].includes(lead) ? String(+v.toPrecision(3)) : "";
  });
}
