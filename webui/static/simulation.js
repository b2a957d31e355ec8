// The what-if simulation page: a run takes a few seconds, so the form shows a spinner while
// the next page is computed (the server draws it when the run is done).
(function () {
  "use strict";
  document.querySelectorAll("form[data-busy]").forEach(function (form) {
    form.addEventListener("submit", function () {
      var busy = document.getElementById(form.getAttribute("data-busy"));
      if (busy) { busy.hidden = false; }
      form.querySelectorAll("button[type=submit]").forEach(function (b) { b.disabled = true; });
    });
  });
}());
