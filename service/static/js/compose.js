// The compose form: a job or a learning-rate sweep from every field of the spec (defaults are the
// course's), filled from a job's spec to edit and run again, the one-button course comparison, and CSV
// uploads. Errors are one line per field, and the
// field is outlined; an empty box is an error, never a 0.

import { api, ApiError } from "./api.js";

const form = document.getElementById("compose");
const errors = document.getElementById("errors");
const value = (name) => form.elements[name].value.trim();

/** Sweep values: `n` learning rates from `a` to `b`, evenly spaced on a log scale. */
export function logSpace(a, b, n) {
  if (n === 1) return [a];
  return Array.from({ length: n }, (_, i) => Number((a * (b / a) ** (i / (n - 1))).toPrecision(4)));
}

class Problems {
  constructor() { this.items = []; }
  add(path, line) { this.items.push({ path, line: `${path}: ${line}` }); }
  /** The number in box `name` (blank: `fallback`, or a problem if there is none). */
  number(name, { integer = false, fallback } = {}) {
    const text = value(name);
    const path = form.elements[name].dataset.path;
    if (text === "") {
      if (fallback !== undefined) return fallback;
      this.add(path, "enter a number");
      return undefined;
    }
    const n = Number(text);
    if (!Number.isFinite(n)) this.add(path, `"${text}" is not a number`);
    else if (integer && !Number.isInteger(n)) this.add(path, `"${text}" is not a whole number`);
    else return n;
    return undefined;
  }
}

function dataset(p) {
  if (value("source") === "uploaded") {
    if (!value("dataset_id")) p.add("dataset.id", "upload a CSV or pick one");
    return { id: value("dataset_id") };
  }
  const data = { name: value("dataset") };
  const n = p.number("n_samples", { integer: true, fallback: null });
  const noise = p.number("noise", { fallback: null });
  const seed = p.number("data_seed", { integer: true, fallback: null });
  if (n !== null) data.n_samples = n;
  if (noise !== null) data.noise = noise;
  if (seed !== null) data.seed = seed;
  return data;
}

function optimizer(p, withRate) {
  const name = value("optimizer");
  const opt = { name };
  if (withRate) opt.learning_rate = p.number("learning_rate");
  if (["momentum", "nesterov"].includes(name)) opt.beta = p.number("beta");
  if (["adam", "adamw"].includes(name)) opt.beta1 = p.number("beta1");
  if (["rmsprop", "adam", "adamw"].includes(name)) {
    opt.beta2 = p.number("beta2");
    opt.epsilon = p.number("epsilon");
    opt.epsilon_inside_sqrt = value("epsilon_inside_sqrt") === "true";
  }
  if (name === "adamw") opt.weight_decay = p.number("weight_decay");
  return opt;
}

/** The spec the form describes, and its problems. */
export function readSpec(withRate = true) {
  const p = new Problems();
  const layers = value("layers").split(/[\s,]+/).filter(Boolean).map(Number);
  if (!layers.length || layers.some((n) => !Number.isInteger(n) || n < 1)) {
    p.add("layers", "hidden layer sizes are whole numbers ≥ 1, separated by commas (e.g. 5, 2)");
  }
  const mode = value("batch_mode");
  const spec = {
    dataset: dataset(p),
    layers,
    mini_batch_size: mode === "full" ? "full" : mode === "stochastic" ? 1 : p.number("mini_batch_size", { integer: true }),
    epochs: p.number("epochs", { integer: true }),
    record_every: p.number("record_every", { integer: true }),
    seed: p.number("seed", { integer: true }),
    init_seed: p.number("init_seed", { integer: true }),
    validation_fraction: p.number("validation_fraction"),
    optimizer: optimizer(p, withRate),
    decay: { name: value("decay") },
  };
  if (spec.decay.name !== "none") {
    spec.decay.decay_rate = p.number("decay_rate");
    spec.decay.time_interval = p.number("time_interval", { integer: true });
  }
  return { spec, problems: p.items };
}

/** Fill the form with `spec` (a job's, as the API returns it) as one job, to edit and run again; false
 * (and a line under the form) for inline data, which the form cannot hold. */
export async function writeSpec(spec) {
  const set = (name, v) => { form.elements[name].value = v === null || v === undefined ? "" : String(v); };
  if (spec.dataset.X !== undefined) {
    showProblems([{ path: "dataset", line: "dataset: inline data cannot be edited in the form (use the API)" }]);
    return false;
  }
  form.elements.kind.value = "job";
  set("source", spec.dataset.id ? "uploaded" : "builtin");
  if (spec.dataset.id) await loadDatasets(spec.dataset.id);
  else for (const [name, key] of [["dataset", "name"], ["n_samples", "n_samples"], ["noise", "noise"], ["data_seed", "seed"]]) set(name, spec.dataset[key]);
  set("layers", spec.layers.join(", "));
  const batch = spec.mini_batch_size;
  set("batch_mode", batch === "full" ? "full" : batch === 1 ? "stochastic" : "mini");
  if (batch !== "full" && batch !== 1) set("mini_batch_size", batch);
  for (const name of ["epochs", "record_every", "seed", "init_seed", "validation_fraction"]) set(name, spec[name]);
  set("optimizer", spec.optimizer.name);
  for (const name of ["learning_rate", "beta", "beta1", "beta2", "epsilon", "weight_decay"]) {
    if (spec.optimizer[name] !== undefined) set(name, spec.optimizer[name]);
  }
  if (spec.optimizer.epsilon_inside_sqrt !== undefined) set("epsilon_inside_sqrt", spec.optimizer.epsilon_inside_sqrt);
  set("decay", spec.decay.name);
  set("decay_rate", spec.decay.decay_rate);
  set("time_interval", spec.decay.time_interval);
  refreshVisibility();
  showProblems([]);
  form.closest(".compose").scrollTop = 0;
  form.elements.layers.focus();
  return true;
}

function sweep(p) {
  const problems = new Problems();
  const [a, b, n] = [problems.number("lr_from"), problems.number("lr_to"), problems.number("lr_n", { integer: true })];
  if (a !== undefined && a <= 0) problems.add("sweep.from", "a learning rate is > 0");
  if (b !== undefined && b <= 0) problems.add("sweep.to", "a learning rate is > 0");
  if (n !== undefined && (n < 1 || n > 256)) problems.add("sweep.n", "between 1 and 256 models");
  p.push(...problems.items);
  return problems.items.length ? [] : logSpace(a, b, n);
}

/** Show `items` ({path, line}) under the form and outline their fields. */
export function showProblems(items) {
  for (const el of form.querySelectorAll(".invalid")) el.classList.remove("invalid");
  errors.replaceChildren(...items.map(({ line }) => Object.assign(document.createElement("li"), { textContent: line })));
  for (const { path } of items) {
    const field = path && form.querySelector(`[data-path="${path}"]`);
    if (field) field.classList.add("invalid");
  }
  if (items.length) errors.scrollIntoView({ block: "nearest" });
}

function showError(error) {
  if (error instanceof ApiError) {
    showProblems(error.lines.map((line, i) => ({ line, path: error.fields[i] || line.split(":")[0] })));
  } else {
    showProblems([{ path: "", line: String(error.message || error) }]);
  }
}

function refreshVisibility() {
  const kind = form.elements.kind.value;
  const opt = value("optimizer");
  for (const el of form.querySelectorAll("[data-kind]")) el.hidden = el.dataset.kind !== kind;
  for (const el of form.querySelectorAll("[data-opt]")) el.hidden = !el.dataset.opt.split(" ").includes(opt);
  for (const el of form.querySelectorAll("[data-show]")) el.hidden = el.dataset.show !== value("source");
  for (const el of form.querySelectorAll("[data-batch]")) el.hidden = value("batch_mode") !== "mini";
  for (const el of form.querySelectorAll("[data-decay]")) el.hidden = value("decay") === "none";
  document.getElementById("submit").textContent = kind === "sweep" ? "Run the sweep" : "Train";
  const values = document.getElementById("sweep-values");
  const [a, b, n] = ["lr_from", "lr_to", "lr_n"].map((k) => Number(value(k)));
  values.textContent = a > 0 && b > 0 && Number.isInteger(n) && n >= 1 && n <= 256
    ? `α = ${logSpace(a, b, n).join(", ")}` : "";
}

/** The uploaded data sets in the select, `chosen` selected. */
export async function loadDatasets(chosen) {
  const select = form.elements.dataset_id;
  try {
    const page = await api("/datasets?limit=100");
    const current = chosen || select.value;
    select.replaceChildren(...page.items.map((d) => {
      const option = new Option(`${d.filename} (${d.n_examples} examples × ${d.n_features} features)`, d.id);
      option.selected = d.id === current;
      return option;
    }));
    if (!page.items.length) select.append(new Option("none yet: upload one", ""));
  } catch { /* no key yet: the list stays as it is */ }
}

async function upload() {
  const file = form.elements.csv.files[0];
  if (!file) return;
  const body = new FormData();
  body.append("file", file, file.name);
  try {
    const created = await api("/datasets", { method: "POST", body });
    await loadDatasets(created.id);
    showProblems([]);
  } catch (error) {
    showError(error);
  }
  form.elements.csv.value = "";
}

/** Wire the form; `opened(kind, id)` is called with what was created. */
export function setupCompose(opened) {
  form.addEventListener("input", refreshVisibility);
  form.addEventListener("change", refreshVisibility);
  form.elements.csv.addEventListener("change", upload);
  refreshVisibility();
  loadDatasets();

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const kind = form.elements.kind.value;
    const { spec, problems } = readSpec(kind === "job");
    const rates = kind === "sweep" ? sweep(problems) : [];
    if (problems.length) return showProblems(problems);
    showProblems([]);
    const button = document.getElementById("submit");
    button.disabled = true;
    try {
      if (kind === "job") {
        const job = await api("/jobs", { method: "POST", json: spec });
        opened("jobs", job.id);
      } else {
        spec.optimizer.learning_rate = rates[0];
        const body = { base: spec, grid: { "optimizer.learning_rate": rates } };
        if (value("name")) body.name = value("name");
        const experiment = await api("/experiments", { method: "POST", json: body });
        opened("experiments", experiment.id);
      }
    } catch (error) {
      showError(error);
    } finally {
      button.disabled = false;
    }
  });

  document.getElementById("run-comparison").addEventListener("click", async () => {
    try {
      const experiment = await api("/experiments", { method: "POST", json: {} });
      showProblems([]);
      opened("experiments", experiment.id);
    } catch (error) {
      showError(error);
    }
  });
}
