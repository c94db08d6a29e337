// Import page: drag and drop onto the drop zone, and an upload progress bar.
// Without JavaScript the form still works as a plain multipart POST.
(function () {
  "use strict";

  function bind() {
    var form = document.getElementById("import-form");
    var zone = document.getElementById("dropzone");
    if (!form || !zone) return;
    var input = form.querySelector("input[type=file]");
    var label = document.getElementById("dropzone-file");

    function showName() {
      label.textContent = input.files.length ? "Selected: " + input.files[0].name : "";
    }
    input.addEventListener("change", showName);
    ["dragenter", "dragover"].forEach(function (name) {
      zone.addEventListener(name, function (ev) { ev.preventDefault(); zone.classList.add("dragover"); });
    });
    ["dragleave", "drop"].forEach(function (name) {
      zone.addEventListener(name, function (ev) { ev.preventDefault(); zone.classList.remove("dragover"); });
    });
    zone.addEventListener("drop", function (ev) {
      if (ev.dataTransfer && ev.dataTransfer.files.length) {
        input.files = ev.dataTransfer.files;
        showName();
      }
    });

    form.addEventListener("submit", function (ev) {
      if (!window.XMLHttpRequest || !window.FormData || !window.DOMParser) return;
      ev.preventDefault();
      var bar = document.getElementById("upload-progress");
      var status = document.getElementById("upload-status");
      var button = document.getElementById("import-submit");
      // Clear the previous outcome so nobody reads an old result as the new one.
      ["import-result", "import-errors"].forEach(function (id) {
        var old = document.getElementById(id);
        if (old) old.remove();
      });
      bar.hidden = false; status.hidden = false; button.disabled = true;
      status.textContent = "Uploading...";
      var xhr = new XMLHttpRequest();
      xhr.open("POST", form.action || window.location.href);
      xhr.upload.addEventListener("progress", function (e) {
        if (e.lengthComputable) bar.value = Math.round(100 * e.loaded / e.total);
      });
      xhr.upload.addEventListener("load", function () {
        bar.removeAttribute("value");  // indeterminate while the server validates and writes
        status.textContent = "Validating and importing...";
      });
      xhr.addEventListener("load", function () {
        // The server answers with the same page (result or errors): swap in its content.
        var doc = new DOMParser().parseFromString(xhr.responseText, "text/html");
        var fresh = doc.querySelector("main.container");
        if (fresh) {
          document.querySelector("main.container").innerHTML = fresh.innerHTML;
          bind();
        } else {
          status.textContent = "Unexpected answer from the server (HTTP " + xhr.status + ").";
          button.disabled = false;
        }
      });
      xhr.addEventListener("error", function () {
        status.textContent = "The upload failed: check the connection and try again.";
        button.disabled = false;
      });
      xhr.send(new FormData(form));
    });
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", bind);
  else bind();
})();
