/* Profiling run page: poll the run's status and draw its trials as they arrive. */
(function () {
  "use strict";

  function follow(statusId, statusUrl, dataUrl, estimated) {
    const EC = window.EnergyCharts;
    const first = EC.readJSON(statusId) || {};
    const label = estimated ? "Energy per trial (J, ESTIMATED)" : "Energy per trial (J)";
    const chart = EC.makeChart("trials-chart", {
      type: "scatter",
      data: { datasets: [] },
      options: {
        parsing: false,
        scales: {
          x: { type: "logarithmic", title: { display: true, text: "Output tokens" } },
          y: { type: "logarithmic", title: { display: true, text: label } },
        },
        plugins: { legend: { position: "right" } },
      },
    });
    const set = (id, text) => { const el = document.getElementById(id); if (el) el.textContent = text; };

    function draw(rows, status) {
      if (!chart) return;
      const live = status === "pending" || status === "running";
      chart.$emptyText = live ? "No trials yet."
        : "No data: no trial was recorded" + (status === "failed" ? " before the run failed." : ".");
      const byInput = new Map();
      rows.filter((r) => !r.is_warmup && r.total_energy_j > 0).forEach((r) => {
        if (!byInput.has(r.input_tokens)) byInput.set(r.input_tokens, []);
        byInput.get(r.input_tokens).push({ x: r.output_tokens, y: r.total_energy_j });
      });
      chart.data.datasets = [...byInput.keys()].sort((a, b) => a - b).map((tin, i) => ({
        label: `${tin} input tokens`, data: byInput.get(tin),
        backgroundColor: EC.color(i, 0.7), borderColor: EC.color(i), pointRadius: 4,
      }));
      chart.update();
      document.getElementById("trials-chart").dataset.points = String(rows.filter((r) => !r.is_warmup).length);
    }

    function tick() {
      Promise.all([
        fetch(statusUrl, { credentials: "same-origin" }).then((r) => r.json()),
        fetch(dataUrl, { credentials: "same-origin" }).then((r) => r.json()),
      ]).then(([s, data]) => {
        const bar = document.getElementById("job-progress");
        if (bar) bar.value = s.percent;
        set("progress-text", `${s.steps_done} / ${s.steps_total}`);
        set("cells-text", `${s.cells_done} / ${s.cells_total}`);
        set("eta-text", s.eta_seconds === null ? "—" : `${Math.round(s.eta_seconds)} s`);
        set("attempts-text", String(s.attempts));
        set("run-status", s.status);
        const hint = document.getElementById("queue-hint");
        if (hint) hint.hidden = s.status !== "pending";
        draw(data.measurements, s.status);
        if (s.status === "pending" || s.status === "running") setTimeout(tick, 1000);
        else if (first.status === "pending" || first.status === "running") window.location.reload();
      }).catch(() => setTimeout(tick, 3000));
    }
    tick();
  }

  window.Profiling = { follow };
})();
