/* Background import page: poll the job's status; reload once it ends to show the outcome. */
(function () {
  "use strict";

  function follow(statusId, statusUrl) {
    const el = document.getElementById(statusId);
    const first = el ? JSON.parse(el.textContent) : {};
    const set = (id, text) => { const node = document.getElementById(id); if (node) node.textContent = text; };
    const active = (s) => s === "pending" || s === "running";
    if (!active(first.status)) return;

    function tick() {
      fetch(statusUrl, { credentials: "same-origin" }).then((r) => r.json()).then((s) => {
        const bar = document.getElementById("job-progress");
        if (bar) bar.value = s.percent;
        // Each importer shows its own counters; a page shows those it has.
        if (s.rows_validated !== undefined) set("validated-text", String(s.rows_validated));
        if (s.rows_written !== undefined) set("written-text", String(s.rows_written));
        if (s.rows_read !== undefined) set("rows-read-text", String(s.rows_read));
        if (s.step !== undefined) set("step-text", s.step);
        set("attempts-text", String(s.attempts));
        set("job-status", s.status);
        if (active(s.status)) setTimeout(tick, 1000);
        else window.location.reload();
      }).catch(() => setTimeout(tick, 3000));
    }
    tick();
  }

  window.Imports = { follow };
})();
