/* Small helpers shared by every chart page. Chart.js itself comes from npm
 * (static/vendor/chartjs), never from a CDN.
 *
 * Data reaches a page as <script type="application/json" id="..."> made by
 * Django's json_script filter; each chart can offer its data for download. */
(function () {
  "use strict";

  // Tableau 10: ten categorical colours chosen to stay apart for the common colour-vision
  // deficiencies (the old palette had three near-identical purples side by side).
  const PALETTE = ["#4e79a7", "#f28e2b", "#e15759", "#76b7b2", "#59a14f",
                   "#edc948", "#b07aa1", "#ff9da7", "#9c755f", "#bab0ac"];

  function readJSON(id) {
    const el = document.getElementById(id);
    return el ? JSON.parse(el.textContent) : null;
  }

  function color(i, alpha) {
    const hex = PALETTE[i % PALETTE.length];
    if (alpha === undefined) return hex;
    const n = parseInt(hex.slice(1), 16);
    return `rgba(${(n >> 16) & 255}, ${(n >> 8) & 255}, ${n & 255}, ${alpha})`;
  }

  /* A colour per key that does not depend on the order a chart meets the keys in: every chart
   * of one page built from the same keys (a plan's deployments) gives each key the same colour. */
  function keyedColors(keys) {
    const index = new Map([...new Set(keys)].sort().map((k, i) => [k, i]));
    return (key, alpha) => color(index.has(key) ? index.get(key) : index.size, alpha);
  }

  function toCSV(rows) {
    if (!rows.length) return "";
    const cols = Object.keys(rows[0]);
    const esc = (v) => {
      if (v === null || v === undefined) return "";
      const s = String(v);
      return /[",\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
    };
    return [cols.join(","), ...rows.map((r) => cols.map((c) => esc(r[c])).join(","))].join("\n") + "\n";
  }

  function download(filename, text, mime) {
    const blob = new Blob([text], { type: mime });
    const a = document.createElement("a");
    a.href = URL.createObjectURL(blob);
    a.download = filename;
    document.body.appendChild(a);
    a.click();
    setTimeout(() => { URL.revokeObjectURL(a.href); a.remove(); }, 0);
  }

  /* Adds "CSV" and "JSON" download links after a canvas for the given flat rows. */
  function addDownloads(canvas, basename, rows) {
    const box = document.createElement("div");
    box.className = "downloads";
    box.innerHTML = `Download data: <a href="#" data-fmt="csv">CSV</a><a href="#" data-fmt="json">JSON</a>`;
    box.addEventListener("click", (ev) => {
      const fmt = ev.target.getAttribute("data-fmt");
      if (!fmt) return;
      ev.preventDefault();
      if (fmt === "csv") download(`${basename}.csv`, toCSV(rows), "text/csv");
      else download(`${basename}.json`, JSON.stringify(rows, null, 2), "application/json");
    });
    const holder = canvas.closest(".chart-box") || canvas;
    holder.insertAdjacentElement("afterend", box);
    return box;
  }

  /* Without a data point a chart would show bare default axes (1 to 10): hide it and say so.
   * Datasets marked `guide: true` (a y = x line) are not data. Checked after every update, so a
   * chart that fills while a run progresses shows itself. */
  function hasData(chart) {
    return chart.data.datasets.some((d) => !d.guide && (d.data || []).some((v) => v !== null && v !== undefined));
  }

  function showEmpty(chart) {
    const canvas = chart.canvas;
    const box = canvas.closest(".chart-box") || canvas.parentElement;
    let note = box.querySelector(".chart-empty");
    const empty = !hasData(chart);
    canvas.style.visibility = empty ? "hidden" : "";
    canvas.dataset.empty = String(empty);
    if (empty && !note) {
      note = document.createElement("p");
      note.className = "chart-empty muted";
      box.appendChild(note);
    }
    if (note) {
      note.hidden = !empty;
      note.textContent = chart.$emptyText || "No data to show.";
    }
  }

  const emptyNote = { id: "emptyNote", afterUpdate: showEmpty };

  /* The "no data" wording of a chart, e.g. "No trials yet." while a run is running. */
  function setEmptyText(chart, text) {
    if (!chart) return;
    chart.$emptyText = text;
    showEmpty(chart);
  }

  function makeChart(canvasId, config, emptyText) {
    const canvas = document.getElementById(canvasId);
    if (!canvas) return null;
    config.options = Object.assign({ responsive: true, maintainAspectRatio: false, animation: false }, config.options || {});
    config.plugins = (config.plugins || []).concat([emptyNote]);
    const chart = new Chart(canvas, config);
    chart.$emptyText = emptyText;
    showEmpty(chart);
    canvas.dataset.rendered = "true";
    return chart;
  }

  window.EnergyCharts = { PALETTE, readJSON, color, keyedColors, toCSV, download, addDownloads, makeChart,
                          setEmptyText };
})();
