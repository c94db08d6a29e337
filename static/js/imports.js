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
        set("validated-text", String(s.rows_validated));
        set("written-text", String(s.rows_written));
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
