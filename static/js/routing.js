/* Routing policy page: shares of each deployment per input-length bucket (stacked bars). */
(function () {
  "use strict";
  const EC = window.EnergyCharts;

  function sharesChart(dataId, basename) {
    const data = EC.readJSON(dataId);
    if (!data) return;
    const labels = data.buckets.map((b) => b.bucket);
    const datasets = data.keys.map((key, i) => ({
      label: key, data: data.buckets.map((b) => b[key]), backgroundColor: EC.color(i, 0.8), stack: "s" }));
    EC.makeChart("chart-shares", { type: "bar", data: { labels, datasets },
      options: { scales: { x: { stacked: true, title: { display: true, text: "input tokens (log-spaced buckets)" } },
                           y: { stacked: true, max: 1, title: { display: true, text: "share of the bucket's queries" } } } } });
    EC.addDownloads(document.getElementById("chart-shares"), basename + "-shares", data.buckets);
  }

  window.Routing = { sharesChart };
})();
