// The page's entry: the API key box, the compose form, and the view the address names, so that every job
// and experiment has its own shareable URL: #/ (overview), #/jobs/{id}, #/experiments/{id}.

import { apiKey, setApiKey } from "./api.js";
import { loadDatasets, setupCompose } from "./compose.js";
import { experimentView } from "./experiment.js";
import { jobView } from "./job.js";
import { overview } from "./overview.js";

const view = document.getElementById("view");
let unmount = () => {};

function route() {
  unmount();
  const [, kind, id] = (location.hash.match(/^#\/(jobs|experiments)\/([\w-]+)/) || []);
  view.replaceChildren();
  for (const name of Object.keys(view.dataset)) delete view.dataset[name];
  if (kind === "jobs") unmount = jobView(view, id);
  else if (kind === "experiments") unmount = experimentView(view, id);
  else unmount = overview(view);
  window.scrollTo(0, 0);
}

const key = document.getElementById("api-key");
key.value = apiKey();
key.addEventListener("change", () => { setApiKey(key.value.trim()); loadDatasets(); route(); });
setupCompose((kind, id) => { location.hash = `#/${kind}/${id}`; });
window.addEventListener("hashchange", route);
route();
