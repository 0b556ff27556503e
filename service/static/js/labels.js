// Names for curves that say what differs: the spec fields whose values are not the same across the jobs
// shown ("adam lr=0.007"), and one line of what they share.

const SHORT = {
  "optimizer.name": "", "optimizer.learning_rate": "lr", "optimizer.beta": "β", "optimizer.beta1": "β1",
  "optimizer.beta2": "β2", "optimizer.epsilon": "ε", "optimizer.epsilon_inside_sqrt": "ε inside √",
  "optimizer.weight_decay": "λ", "mini_batch_size": "batch", "init_seed": "init seed", "decay.name": "decay",
  "dataset.name": "", "dataset.id": "data",
};

const LONG = { "optimizer.learning_rate": "learning rate α", "optimizer.beta": "β", "optimizer.beta1": "β1",
  "optimizer.beta2": "β2", "optimizer.epsilon": "ε", "optimizer.weight_decay": "weight decay λ",
  "decay.decay_rate": "decay rate" };

/** The spec as dotted paths → values ({"optimizer.name": "adam", …}). */
export function flatten(value, prefix = "", out = {}) {
  if (value && typeof value === "object" && !Array.isArray(value)) {
    for (const [key, inner] of Object.entries(value)) flatten(inner, prefix ? `${prefix}.${key}` : key, out);
  } else {
    out[prefix] = Array.isArray(value) ? value.join("-") : value;
  }
  return out;
}

/** A readable name of a dotted spec path ("optimizer.learning_rate" → "learning rate α"). */
export function paramName(path) {
  return LONG[path] ?? path.split(".").pop().replaceAll("_", " ");
}

/** `path=value` as a label shows it ("lr=0.007"; the optimizer's name alone). */
export function part(path, value) {
  const name = SHORT[path] ?? path.split(".").pop();
  const text = path === "dataset.id" ? String(value).slice(0, 8) : String(value);
  return name ? `${name}=${text}` : text;
}

/** For specs `[spec, …]`: `{ labels: [one per spec], same: "what they share" }`. */
export function describe(specs) {
  const flat = specs.map((spec) => flatten(spec));
  const paths = [...new Set(flat.flatMap((f) => Object.keys(f)))];
  // a field only some specs have (β1 of Adam beside gd) follows from one they all have (the optimizer)
  const differs = paths.filter((p) => flat.every((f) => p in f) && new Set(flat.map((f) => JSON.stringify(f[p]))).size > 1);
  const own = (f) => `${f["optimizer.name"]} lr=${f["optimizer.learning_rate"]}`; // when nothing differs
  const labels = flat.map((f) => differs.map((p) => part(p, f[p])).join(" ") || own(f));
  const shared = ["optimizer.name", "optimizer.learning_rate", "dataset.name", "layers", "mini_batch_size", "epochs"]
    .filter((p) => !differs.includes(p) && flat.length && flat[0][p] !== undefined)
    .map((p) => part(p, flat[0][p]).replace(/^layers=/, "layers "));
  return { labels, same: shared.length ? `all: ${shared.join(" · ")}` : "" };
}
