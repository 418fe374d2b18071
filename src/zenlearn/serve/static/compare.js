// Compare 2-8 runs: overlaid curves (live for running ones), the config keys that differ, test metrics.
import { api, Curves, esc, feed, fmt, openStream } from "./common.js";

const names = (new URLSearchParams(location.search).get("runs") || "").split(",").filter(Boolean);
const curves = new Curves(document.getElementById("curves"));
const $ = (id) => document.getElementById(id);

async function init() {
  const d = await api(`/api/compare?runs=${names.map(encodeURIComponent).join(",")}`);
  $("differs").innerHTML = `<tr><th>key</th>${d.runs.map((r) => `<th>${esc(r.path)}</th>`).join("")}</tr>` +
    (Object.entries(d.differs).map(([k, vs]) => `<tr><td>${esc(k)}</td>${vs.map((v) => `<td>${esc(JSON.stringify(v))}</td>`).join("")}</tr>`).join("") ||
     `<tr><td colspan="${d.runs.length + 1}" class="muted">the configs are identical</td></tr>`);
  const metrics = [...new Set(d.runs.flatMap((r) => Object.keys(r.test || {})))];
  $("tests").innerHTML = `<tr><th>run</th>${metrics.map((m) => `<th>test ${esc(m)}</th>`).join("")}</tr>` +
    d.runs.map((r) => `<tr><td>${esc(r.path)}</td>${metrics.map((m) => `<td class="num">${fmt((r.test || {})[m])}</td>`).join("")}</tr>`).join("");
  $("groups").innerHTML = d.groups.map((g) => `<h3>Over ${g.runs.length} seeds (${g.runs.map(esc).join(", ")})</h3><table>` +
    Object.entries(g.test).map(([m, s]) => `<tr><td>test ${esc(m)}</td><td class="num">${fmt(s.mean)} ± ${fmt(s.std)}</td></tr>`).join("") + "</table>").join("");
  const live = d.runs.filter((r) => r.events).map((r) => r.path);
  for (const r of d.runs) if (!r.events) r.metrics.forEach((row) => curves.add(r.path, row.epoch, row));
  if (live.length) openStream({ runs: live, onRun: (ev) => { if (ev.kind !== "progress") feed(curves, ev.run, ev); } });
}
init().catch((err) => { $("banner").textContent = err.message; $("banner").hidden = false; });
