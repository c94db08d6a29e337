/* Execution page: follow progress while it runs, and draw predicted against measured energy per batch. */
(function () {
  "use strict";

  function follow(dataId, reportUrl) {
    const EC = window.EnergyCharts;
    const first = EC.readJSON(dataId) || {};
    const label = first.estimated ? "Measured energy per batch (J, ESTIMATED)" : "Measured energy per batch (J)";
    const chart = EC.makeChart("scatter-chart", {
      type: "scatter",
      data: { datasets: [] },
      options: {
        parsing: false,
        scales: {
          x: { title: { display: true, text: "Predicted energy per batch (J)" } },
          y: { title: { display: true, text: label } },
        },
        plugins: { legend: { position: "right" } },
      },
    });
    const set = (id, text) => { const el = document.getElementById(id); if (el) el.textContent = text; };
    const active = (s) => s === "pending" || s === "running";

    function draw(rep) {
      if (!chart) return;
      const byDep = new Map();
      let hi = 0;
      (rep.batches || []).forEach((b) => {
        if (!byDep.has(b.deployment)) byDep.set(b.deployment, []);
        byDep.get(b.deployment).push({ x: b.predicted_energy_j, y: b.measured_energy_j });
        hi = Math.max(hi, b.predicted_energy_j, b.measured_energy_j);
      });
      chart.data.datasets = [...byDep.keys()].map((key, i) => ({
        label: key, data: byDep.get(key), backgroundColor: EC.color(i, 0.7), borderColor: EC.color(i), pointRadius: 4,
      }));
      chart.data.datasets.push({ label: "predicted = measured", type: "line", data: [{ x: 0, y: 0 }, { x: hi, y: hi }],
        borderColor: "#94a3b8", borderDash: [4, 4], pointRadius: 0, guide: true });
      chart.$emptyText = active(rep.status) ? "No batch measured yet."
        : "No data: no batch was measured" + (rep.status === "failed" ? " before the execution failed." : ".");
      chart.update();
      document.getElementById("scatter-chart").dataset.points = String((rep.batches || []).length);
    }

    function update(rep) {
      set("execution-status", rep.status);
      set("queries-text", `${rep.queries_done} / ${rep.queries_planned}`);
      set("batches-text", `${rep.batches_done} / ${rep.batches_total}`);
      set("eta-text", rep.eta_seconds === null ? "—" : `${Math.round(rep.eta_seconds)} s`);
      Object.entries(rep.per_deployment).forEach(([key, d]) => {
        const row = document.querySelector(`#parts-table tr[data-deployment="${CSS.escape(key)}"]`);
        if (!row) return;
        row.querySelector(".part-status").textContent = d.status;
        row.querySelector(".part-batches").textContent = `${d.batches_done} / ${d.batches_total}`;
        row.querySelector(".part-queries").textContent = `${d.queries_done} / ${d.queries_planned}`;
        row.querySelector(".part-eta").textContent = d.eta_seconds === null ? "—" : String(Math.round(d.eta_seconds));
      });
      draw(rep);
    }

    function tick() {
      fetch(reportUrl, { credentials: "same-origin" }).then((r) => r.json()).then((rep) => {
        update(rep);
        if (active(rep.status)) setTimeout(tick, 1500);
        else window.location.reload();  // the tables above are rendered by the server
      }).catch(() => setTimeout(tick, 3000));
    }
    draw(first);
    if (active(first.status)) setTimeout(tick, 1500);
  }

  window.Execution = { follow };
})();
