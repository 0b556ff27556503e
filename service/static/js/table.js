// Tables updated in place: rows are keyed, a row's cells are rewritten only when their text changes, and
// rows are moved (never rebuilt), so a click, a focused checkbox or a selection survives every refresh.

/**
 * Keep `tbody`'s rows equal to `items` in that order. `key(item)` names a row; `cells(item)` gives its
 * cells as `{ html, className }`; `make(tr, item)` runs once when a row is created (event handlers).
 */
export function syncRows(tbody, items, { key, cells, make = () => {} }) {
  const existing = new Map([...tbody.rows].map((tr) => [tr.dataset.key, tr]));
  const wanted = new Set(items.map(key));
  for (const [k, tr] of existing) if (!wanted.has(k)) tr.remove();
  items.forEach((item, index) => {
    const k = key(item);
    let tr = existing.get(k);
    const content = cells(item);
    if (!tr) {
      tr = document.createElement("tr");
      tr.dataset.key = k;
      content.forEach(() => tr.insertCell());
      make(tr, item);
    }
    content.forEach((cell, i) => {
      const td = tr.cells[i];
      if (cell.html !== undefined && td.dataset.html !== cell.html) {
        td.innerHTML = cell.html;
        td.dataset.html = cell.html;
      }
      if ((cell.className || "") !== td.className) td.className = cell.className || "";
    });
    if (tbody.rows[index] !== tr) tbody.insertBefore(tr, tbody.rows[index] || null);
  });
}

/** Make the `th[data-sort]` of `table` sort by their column on click; `onSort(column, descending)`. */
export function sortable(table, state, onSort) {
  const paint = () => {
    for (const th of table.querySelectorAll("th[data-sort]")) {
      th.classList.add("sortable");
      th.setAttribute("aria-sort", th.dataset.sort === state.column ? (state.descending ? "descending" : "ascending") : "none");
    }
  };
  table.tHead.addEventListener("click", (event) => {
    const th = event.target.closest("th[data-sort]");
    if (!th) return;
    state.descending = state.column === th.dataset.sort ? !state.descending : th.dataset.sort === "accuracy";
    state.column = th.dataset.sort;
    paint();
    onSort();
  });
  paint();
}

/** `rows` sorted by `state` (nulls last); as they are while no column is chosen. */
export function sortRows(rows, state) {
  if (!state.column) return [...rows];
  const sign = state.descending ? -1 : 1;
  return [...rows].sort((a, b) => {
    const [x, y] = [a[state.column], b[state.column]];
    if (x === y) return 0;
    if (x === null || x === undefined) return 1;
    if (y === null || y === undefined) return -1;
    return (x < y ? -1 : 1) * sign;
  });
}

export const fmt = {
  acc: (v) => (v === null || v === undefined ? "–" : v.toFixed(4)),
  cost: (v) => (v === null || v === undefined ? "–" : v < 1e-3 ? v.toExponential(3) : v.toFixed(4)),
  num: (v, digits = 2) => (v === null || v === undefined ? "–" : Number(v).toFixed(digits)),
  int: (v) => (v === null || v === undefined ? "–" : String(v)),
};
