/* Explorer pages: per-pair charts (measurements, fitted curves, parity, residuals,
 * energy-per-token heat map, ANOVA) and the comparison chart. Data arrives through
 * json_script; every chart offers its data as CSV/JSON (EnergyCharts.addDownloads). */
(function () {
  "use strict";
  const EC = window.EnergyCharts;

  function logAxis(title) {
    return { type: "logarithmic", title: { display: true, text: title } };
  }
  function linAxis(title) {
    return { type: "linear", title: { display: true, text: title } };
  }
  function fmt(v, d) {
    if (v === null || v === undefined) return "–";
    const a = Math.abs(v);
    const digits = d === undefined ? 3 : d;
    return (a !== 0 && (a < 1e-3 || a >= 1e5)) ? v.toExponential(digits) : v.toFixed(digits);
  }

  function tokenChart(data, target, unit) {
    const t = data.targets[target];
    const canvas = document.getElementById(`chart-${target}`);
    if (!canvas || !t) return;
    const tins = [...new Set(t.points.map((p) => p[0]))].sort((a, b) => a - b);
    const index = new Map(tins.map((v, i) => [v, i]));
    const kind = t.estimated_points ? "measured (some energy estimated)" : "measured";
    const datasets = tins.map((tin, i) => ({
      type: "scatter", label: `${kind}, tin=${tin}`,
      data: t.points.filter((p) => p[0] === tin).map((p) => ({ x: p[1], y: p[2] })),
      backgroundColor: EC.color(i, 0.55), borderColor: EC.color(i), pointRadius: 3,
    }));
    const rows = t.points.map((p) => ({ series: kind, tin: p[0], tout: p[1], value: p[2] }));
    t.curves.forEach((c) => {
      const i = index.has(c.tin) ? index.get(c.tin) : datasets.length;
      datasets.push({
        type: "line", label: `${t.plot_fit.label} fit, tin=${c.tin}`,
        data: c.points.map((p) => ({ x: p.tout, y: p.y })), borderColor: EC.color(i), borderWidth: 2,
        pointRadius: 0, fill: false, showLine: true,
      });
      c.points.forEach((p) => rows.push({ series: `fit ${t.plot_fit.form} (${t.plot_fit.source})`, tin: c.tin,
        tout: p.tout, value: p.y, lower95: p.lower, upper95: p.upper }));
    });
    const note = document.getElementById(`${target}-fit-note`);
    if (note) {
      note.textContent = t.plot_fit
        ? `Curves: ${t.plot_fit.label} (${t.plot_fit.source}, fit ${t.plot_fit.id}).` +
          (t.plot_fit.estimated ? " Estimated energy." : "") +
          (t.points_sampled ? ` Points: a sample of ${t.points.length} of ${t.n}.` : "")
        : "No selected identifiable fit: measurements only.";
    }
    EC.makeChart(canvas.id, {
      type: "scatter", data: { datasets },
      options: { scales: { x: logAxis("output tokens"), y: linAxis(unit) },
                 plugins: { legend: { display: datasets.length <= 24, position: "bottom" } } },
    });
    EC.addDownloads(canvas, `${data.llm.slug}_${data.hardware.slug}_${target}`, rows);
  }

  function cellCharts(data) {
    const t = data.targets.energy;
    const cells = (t ? t.cells : []).filter((c) => c.predicted !== undefined);
    const parity = document.getElementById("chart-parity");
    if (parity) {
      const vals = cells.flatMap((c) => [c.mean, c.predicted]);
      const lo = vals.length ? Math.min(...vals) : 0, hi = vals.length ? Math.max(...vals) : 1;
      EC.makeChart("chart-parity", {
        type: "scatter",
        data: { datasets: [
          { label: "cell mean", data: cells.map((c) => ({ x: c.predicted, y: c.mean })),
            backgroundColor: EC.color(0, 0.6) },
          { type: "line", label: "y = x", data: [{ x: lo, y: lo }, { x: hi, y: hi }],
            borderColor: "#94a3b8", borderDash: [4, 4], pointRadius: 0 },
        ] },
        options: { scales: { x: linAxis("predicted energy (J)"), y: linAxis("measured energy (J)") } },
      });
      EC.addDownloads(parity, `${data.llm.slug}_${data.hardware.slug}_parity`,
        cells.map((c) => ({ tin: c.tin, tout: c.tout, n: c.n, measured_mean_j: c.mean, predicted_j: c.predicted })));
    }
    const resid = document.getElementById("chart-residuals");
    if (resid) {
      EC.makeChart("chart-residuals", {
        type: "scatter",
        data: { datasets: [{ label: "residual", data: cells.map((c) => ({ x: c.predicted, y: c.residual })),
                             backgroundColor: EC.color(3, 0.6) }] },
        options: { scales: { x: linAxis("predicted energy (J)"), y: linAxis("residual (J)") } },
      });
      EC.addDownloads(resid, `${data.llm.slug}_${data.hardware.slug}_residuals`,
        cells.map((c) => ({ tin: c.tin, tout: c.tout, residual_j: c.residual, predicted_j: c.predicted })));
    }
  }

  /* A continuous colour scale (dark blue -> teal -> yellow) for the heat map. */
  function scale(v, lo, hi) {
    const stops = [[30, 64, 175], [13, 148, 136], [250, 204, 21]];
    let f = hi > lo ? (Math.log(v) - Math.log(lo)) / (Math.log(hi) - Math.log(lo)) : 0.5;
    f = Math.max(0, Math.min(1, f));
    const seg = f < 0.5 ? 0 : 1, g = f < 0.5 ? f * 2 : (f - 0.5) * 2;
    const c = stops[seg].map((a, k) => Math.round(a + (stops[seg + 1][k] - a) * g));
    return `rgba(${c[0]}, ${c[1]}, ${c[2]}, 0.9)`;
  }

  function heatmap(data) {
    const canvas = document.getElementById("chart-heatmap");
    const t = data.targets.energy;
    if (!canvas || !t) return;
    const cells = t.cells.filter((c) => c.mean > 0).map((c) => ({
      tin: c.tin, tout: c.tout, n: c.n, energy_j: c.mean, j_per_token: c.mean / (c.tin + c.tout) }));
    const v = cells.map((c) => c.j_per_token);
    const lo = v.length ? Math.min(...v) : 1, hi = v.length ? Math.max(...v) : 1;
    EC.makeChart("chart-heatmap", {
      type: "scatter",
      data: { datasets: [{
        label: `J per token (${fmt(lo)} … ${fmt(hi)}, log colour scale)`,
        data: cells.map((c) => ({ x: c.tin, y: c.tout, v: c.j_per_token })),
        pointStyle: "rect", pointRadius: 11, pointHoverRadius: 13,
        backgroundColor: cells.map((c) => scale(c.j_per_token, lo, hi)), borderWidth: 0,
      }] },
      options: {
        scales: { x: logAxis("input tokens"), y: logAxis("output tokens") },
        plugins: { tooltip: { callbacks: { label: (ctx) =>
          `tin=${ctx.raw.x}, tout=${ctx.raw.y}: ${fmt(ctx.raw.v)} J/token` } } },
      },
    });
    EC.addDownloads(canvas, `${data.llm.slug}_${data.hardware.slug}_energy_per_token`, cells);
    // The legend the text promises: the gradient scale() draws, with its two ends.
    const legend = document.getElementById("heatmap-scale");
    if (legend && cells.length) {
      legend.querySelector(".lo").textContent = fmt(lo);
      legend.querySelector(".hi").textContent = fmt(hi);
      legend.hidden = false;
    }
  }

  function anovaTable(id, anova) {
    const box = document.getElementById(id);
    if (!box) return;
    box.textContent = "";
    const p = document.createElement("p");
    p.className = "muted";
    if (!anova) { p.textContent = "No fit stored yet."; box.appendChild(p); return; }
    if (!anova.available) { p.textContent = `Not available: ${anova.reason}`; box.appendChild(p); return; }
    const table = document.createElement("table");
    table.innerHTML = "<thead><tr><th>Source</th><th class='num'>df</th><th class='num'>Sum of squares</th>" +
      "<th class='num'>F</th><th class='num'>p</th></tr></thead>";
    const body = document.createElement("tbody");
    anova.table.forEach((r) => {
      const tr = document.createElement("tr");
      [r.source, fmt(r.df, 0), fmt(r.sum_sq), fmt(r.F, 2), r.p === null ? "–" : r.p.toExponential(2)]
        .forEach((text, k) => { const td = document.createElement("td"); td.textContent = text;
          if (k) td.className = "num"; tr.appendChild(td); });
      body.appendChild(tr);
    });
    table.appendChild(body);
    box.appendChild(table);
    p.textContent = `${anova.formula}, type II sums of squares, n=${anova.n}.` + (anova.note ? ` ${anova.note}` : "");
    box.appendChild(p);
  }

  /* After a refit request, poll the pair's JSON until a fit newer than the request exists. */
  function pollRefit() {
    const status = document.getElementById("refit-status");
    if (!status || !status.dataset.since) return;
    const since = Number(status.dataset.since);
    if (!Number.isFinite(since)) return;
    let tries = 0;
    const tick = () => {
      tries += 1;
      fetch(status.dataset.url, { credentials: "same-origin" }).then((r) => r.json()).then((d) => {
        if (d.latest_fit_ms && d.latest_fit_ms >= since) {
          status.textContent = `Refit done at ${d.latest_fit}. Reload to see the new fits.`;
          status.dataset.state = "done";
          const a = document.createElement("a");
          a.href = window.location.pathname; a.textContent = " Reload";
          status.appendChild(a);
        } else if (tries < 150) {
          status.textContent = `Refit queued; waiting for the worker… (${tries * 2} s)`;
          status.dataset.state = "pending";
          setTimeout(tick, 2000);
        } else {
          status.textContent = "No new fit after 5 minutes: is a worker consuming the default queue?";
          status.dataset.state = "timeout";
        }
      }).catch(() => { status.textContent = "Could not read the pair's status."; });
    };
    tick();
  }

  function pairPage() {
    const data = EC.readJSON("pair-data");
    if (!data) return;
    tokenChart(data, "energy", "energy per query (J)");
    tokenChart(data, "runtime", "runtime per query (s)");
    cellCharts(data);
    heatmap(data);
    anovaTable("anova-energy", data.targets.energy && data.targets.energy.anova);
    anovaTable("anova-runtime", data.targets.runtime && data.targets.runtime.anova);
    pollRefit();
  }

  function comparePage() {
    const data = EC.readJSON("compare-data");
    const canvas = document.getElementById("chart-compare");
    if (!data || !canvas) return;
    const hws = [...new Set(data.rows.map((r) => r.hardware))];
    const datasets = hws.map((hw, i) => ({
      label: hw,
      data: data.rows.filter((r) => r.hardware === hw).map((r) => ({
        x: r.parameters_b, y: r.energy_per_token_j, llm: r.llm, source: r.source, estimated: r.estimated })),
      backgroundColor: EC.color(i, 0.75), borderColor: EC.color(i), pointRadius: 6,
      clip: false,  // a point on the axis bounds is drawn whole, not cut in half
      pointStyle: data.rows.filter((r) => r.hardware === hw).map((r) => (r.source === "published" ? "triangle" : "circle")),
    }));
    // Room around the extreme points: log axes otherwise end exactly on them.
    const pad = (axis, values) => {
      const v = values.filter((x) => x > 0);
      if (v.length) { axis.min = Math.min(...v) / 1.4; axis.max = Math.max(...v) * 1.4; }
      return axis;
    };
    const positive = data.rows.every((r) => r.energy_per_token_j > 0);
    EC.makeChart("chart-compare", {
      type: "scatter", data: { datasets },
      options: {
        layout: { padding: 12 },
        // A physically invalid (negative) prediction cannot sit on a log axis: fall back to linear.
        scales: { x: pad(logAxis("parameters (B)"), data.rows.map((r) => r.parameters_b)),
                  y: positive ? pad(logAxis(`J per token at tin=${data.tin}, tout=${data.tout}`),
                                    data.rows.map((r) => r.energy_per_token_j))
                    : Object.assign(linAxis(`J per token at tin=${data.tin}, tout=${data.tout}`), { grace: "8%" }) },
        plugins: { tooltip: { callbacks: { label: (ctx) =>
          `${ctx.raw.llm} (${ctx.dataset.label}, ${ctx.raw.source}${ctx.raw.estimated ? ", estimated" : ""}): ${fmt(ctx.raw.y)} J/token` } } },
      },
    });
    EC.addDownloads(canvas, `compare_tin${data.tin}_tout${data.tout}`, data.rows);
  }

  document.addEventListener("DOMContentLoaded", () => { pairPage(); comparePage(); });
})();
