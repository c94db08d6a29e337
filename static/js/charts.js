/* Small helpers shared by every chart page. Chart.js itself comes from npm
 * (static/vendor/chartjs), never from a CDN.
 *
 * Data reaches a page as <script type="application/json" id="..."> made by
 * Django's json_script filter; each chart can offer its data for download. */
(function () {
  "use strict";

  const PALETTE = ["#0f766e", "#b45309", "#4338ca", "#be123c", "#15803d", "#7c3aed",
                   "#0369a1", "#a16207", "#475569", "#db2777", "#65a30d", "#9333ea"];

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

  function makeChart(canvasId, config) {
    const canvas = document.getElementById(canvasId);
    if (!canvas) return null;
    config.options = Object.assign({ responsive: true, maintainAspectRatio: false, animation: false }, config.options || {});
    const chart = new Chart(canvas, config);
    canvas.dataset.rendered = "true";
    return chart;
  }

  window.EnergyCharts = { PALETTE, readJSON, color, toCSV, download, addDownloads, makeChart };
})();
