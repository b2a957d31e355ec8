// Deal charts are wider than the page: scroll the first open task into the middle of view.
(function () {
  "use strict";
  document.querySelectorAll(".chart").forEach(function (box) {
    var target = box.querySelector(".state-ready") || box.querySelector(".state-error");
    if (!target) { return; }
    var boxRect = box.getBoundingClientRect();
    var rect = target.getBoundingClientRect();
    box.scrollLeft += rect.left - boxRect.left - (box.clientWidth - rect.width) / 2;
    box.scrollTop += rect.top - boxRect.top - (box.clientHeight - rect.height) / 2;
  });
})();
