// A form with data-confirm asks before it submits. One listener instead of inline onsubmit
// handlers, which the Content-Security-Policy (no 'unsafe-inline') would refuse to run.
document.addEventListener("submit", (event) => {
  const message = event.target.dataset && event.target.dataset.confirm;
  if (message && !window.confirm(message)) event.preventDefault();
});
