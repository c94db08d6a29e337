/* Scheduling pages: workload upload (drag and drop), workload histograms, plan progress and
 * result charts. Data comes from json_script blocks; charts go through window.EnergyCharts. */
(function () {
  "use strict";

  function dropzone(zoneId, inputId) {
    const zone = document.getElementById(zoneId);
    const input = document.getElementById(inputId);
    if (!zone || !input) return;
    const label = document.getElementById(zoneId + "-file");
    const maxMb = parseFloat(zone.dataset.maxMb || "0");
    // The server refuses oversize files too; saying so before a long upload is kinder.
    const show = () => {
      const f = input.files.length ? input.files[0] : null;
      if (label) label.textContent = f ? `${f.name} (${(f.size / 1048576).toFixed(1)} MB)` : "";
      const tooBig = f && maxMb && f.size > maxMb * 1048576;
      zone.classList.toggle("error", Boolean(tooBig));
      if (tooBig && label) label.textContent += ` is above the upload limit of ${maxMb} MB; compress it with gzip.`;
    };
    ["dragenter", "dragover"].forEach((ev) => zone.addEventListener(ev, (e) => {
      e.preventDefault(); zone.classList.add("dragover");
    }));
    ["dragleave", "drop"].forEach((ev) => zone.addEventListener(ev, (e) => {
      e.preventDefault(); zone.classList.remove("dragover");
    }));
    zone.addEventListener("drop", (e) => {
      if (e.dataTransfer && e.dataTransfer.files.length) {
        input.files = e.dataTransfer.files;
        show();
      }
    });
    input.addEventListener("change", show);
  }

  function binLabels(edges) {
    const labels = [];
    for (let i = 0; i + 1 < edges.length; i++) labels.push(`${Math.ceil(edges[i])}–${Math.floor(edges[i + 1])}`);
    return labels;
  }

  function histChart(canvasId, basename, edges, datasets, title, colorOf) {
    const EC = window.EnergyCharts;
    const canvas = document.getElementById(canvasId);
    if (!canvas || !edges) return;
    EC.makeChart(canvasId, {
      type: "bar",
      data: { labels: binLabels(edges), datasets: datasets.map((d, i) => ({
        label: d.label, data: d.counts, backgroundColor: colorOf ? colorOf(d.label, 0.75) : EC.color(i, 0.75),
        stack: "s" })) },
      options: { plugins: { legend: { display: datasets.length > 1 } },
        scales: { x: { stacked: true, title: { display: true, text: title + " (log-spaced bins)" } },
                  y: { stacked: true, title: { display: true, text: "queries" } } } },
    });
    const rows = [];
    datasets.forEach((d) => d.counts.forEach((c, i) => rows.push(
      { series: d.label, bin_low: edges[i], bin_high: edges[i + 1], count: c })));
    EC.addDownloads(canvas, basename, rows);
  }

  function workloadCharts(dataId, basename) {
    const h = window.EnergyCharts.readJSON(dataId);
    if (!h || !h.tin) return;
    histChart("hist-tin", basename + "-tin-histogram", h.tin.edges, [{ label: "queries", counts: h.tin.counts }], "input tokens");
    histChart("hist-tout", basename + "-tout-histogram", h.tout.edges, [{ label: "queries", counts: h.tout.counts }], "output tokens");
  }

  function pollStatus(statusId, url) {
    const st = window.EnergyCharts.readJSON(statusId);
    if (!st || (st.status !== "pending" && st.status !== "running")) return;
    const bar = document.getElementById("job-progress");
    const text = document.getElementById("progress-text");
    const badge = document.getElementById("job-status");
    const tick = () => {
      fetch(url, { headers: { Accept: "application/json" }, credentials: "same-origin" })
        .then((r) => r.json())
        .then((s) => {
          if (bar) bar.value = s.percent;
          if (text) text.textContent = `${s.steps_done} / ${s.steps_total}`;
          if (badge) badge.textContent = s.status;
          const hint = document.getElementById("queue-hint");
          if (hint) hint.hidden = s.status !== "pending";
          if (s.status === "pending" || s.status === "running") setTimeout(tick, 1000);
          else window.location.reload();
        })
        .catch(() => setTimeout(tick, 3000));
    };
    setTimeout(tick, 1000);
  }

  function planCharts(dataId, basename) {
    const EC = window.EnergyCharts;
    const res = EC.readJSON(dataId);
    if (!res || !res.plans) return;
    const plans = res.plans;
    const zetas = plans.map((p) => p.zeta);
    const baselines = Object.entries(res.baselines || {});
    // One colour per deployment (so per LLM on one system) in every chart of the plan.
    const depColor = EC.keyedColors(res.deployments);

    // Figure 5.4 of the paper: each metric against zeta, baselines as flat lines.
    const metric = (canvasId, key, label) => {
      const canvas = document.getElementById(canvasId);
      if (!canvas) return;
      const datasets = [{ label: "optimal plan", data: plans.map((p) => ({ x: p.zeta, y: p[key] })),
        borderColor: EC.color(0), backgroundColor: EC.color(0), showLine: true, borderWidth: 3 }];
      baselines.forEach(([name, b], i) => datasets.push({
        label: name, data: [{ x: 0, y: b[key] }, { x: 1, y: b[key] }], showLine: true, pointRadius: 0,
        borderDash: [6, 4], borderColor: EC.color(i + 1), backgroundColor: EC.color(i + 1), borderWidth: 1.5 }));
      EC.makeChart(canvasId, { type: "scatter", data: { datasets },
        options: { scales: { x: { min: 0, max: 1, title: { display: true, text: "ζ (weight of energy)" } },
                             y: { title: { display: true, text: label } } } } });
      const rows = plans.map((p) => ({ series: "optimal plan", zeta: p.zeta, [key]: p[key] }));
      baselines.forEach(([name, b]) => rows.push({ series: name, zeta: "", [key]: b[key] }));
      EC.addDownloads(canvas, `${basename}-${key}-vs-zeta`, rows);
    };
    metric("chart-energy", "total_energy_j", "total energy (J)" + (res.energy_estimated.length ? " — includes estimated" : ""));
    metric("chart-runtime", "mean_runtime_s", "mean runtime per query (s)");
    metric("chart-accuracy", "accuracy", "token-weighted accuracy (%)");

    const pareto = document.getElementById("chart-pareto");
    if (pareto) {
      const datasets = [{ label: "optimal plans (ζ sweep)",
        data: plans.map((p) => ({ x: p.total_energy_j, y: p.accuracy, zeta: p.zeta })),
        showLine: true, borderColor: EC.color(0), backgroundColor: EC.color(0) }];
      baselines.forEach(([name, b], i) => datasets.push({ label: name, data: [{ x: b.total_energy_j, y: b.accuracy }],
        pointRadius: 6, pointStyle: "rectRot", borderColor: EC.color(i + 1), backgroundColor: EC.color(i + 1, 0.8) }));
      EC.makeChart("chart-pareto", { type: "scatter", data: { datasets },
        options: { scales: { x: { title: { display: true, text: "total energy (J)" } },
                             y: { title: { display: true, text: "token-weighted accuracy (%)" } } } } });
      const rows = plans.map((p) => ({ series: "plan", zeta: p.zeta, total_energy_j: p.total_energy_j, accuracy: p.accuracy }));
      baselines.forEach(([name, b]) => rows.push({ series: name, zeta: "", total_energy_j: b.total_energy_j, accuracy: b.accuracy }));
      EC.addDownloads(pareto, `${basename}-pareto`, rows);
    }

    const counts = document.getElementById("chart-counts");
    if (counts) {
      const datasets = res.deployments.map((key) => ({ label: key, data: plans.map((p) => p.counts[key] || 0),
        backgroundColor: depColor(key, 0.8), stack: "q" }));
      EC.makeChart("chart-counts", { type: "bar", data: { labels: zetas.map((z) => `ζ=${z}`), datasets },
        options: { scales: { x: { stacked: true }, y: { stacked: true, title: { display: true, text: "queries" } } } } });
      const rows = [];
      plans.forEach((p) => res.deployments.forEach((key) => rows.push({ zeta: p.zeta, deployment: key, queries: p.counts[key] || 0 })));
      EC.addDownloads(counts, `${basename}-queries-per-deployment`, rows);
    }

    const h = res.histograms;
    if (h) {
      const split = (col) => res.deployments.map((key) => ({ label: key, counts: h.by_deployment[key][col] }));
      histChart("chart-hist-tin", `${basename}-tin-by-deployment`, h.tin_edges, split("tin"), "input tokens", depColor);
      histChart("chart-hist-tout", `${basename}-tout-by-deployment`, h.tout_edges, split("tout"), "output tokens",
                depColor);
    }
  }

  window.Scheduling = { dropzone, workloadCharts, pollStatus, planCharts };
})();
