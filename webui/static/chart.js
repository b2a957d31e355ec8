// Charts in pages (.chart-view, templates/_chart_view.html): fitted to the width on open, with
// zoom, pan and fit (svg-pan-zoom, served from webui/node_modules), the lane names kept in view
// while panning, and the chart's text never drawn smaller than a person can read.
// Without svg-pan-zoom the chart stays a scrolling picture with the open task in view.
(function () {
  "use strict";
  var NARROW = "(max-width: 700px)";
  var MIN_TEXT_PX = 9; // the smallest text size on screen a rep reads without effort
  var MAX_TEXT_BOOST = 1.6; // text grows at most this much over its drawn size
  // The names of elements and flows, and the title, grow; the legend and markers keep their size.
  var GROWING = "g.label text, g.flow-label text, g.title text";
  var STEP = 1.25; // one press of + or -

  function scrollToTask(box) {
    var target = box.querySelector(".state-ready") || box.querySelector(".state-error");
    if (!target) { return; }
    var boxRect = box.getBoundingClientRect();
    var rect = target.getBoundingClientRect();
    box.scrollLeft += rect.left - boxRect.left - (box.clientWidth - rect.width) / 2;
    box.scrollTop += rect.top - boxRect.top - (box.clientHeight - rect.height) / 2;
  }

  // The box's height follows the chart's shape at the box's width, within what the screen
  // gives: a wide chart fitted to the width gets a low box, not a tall empty one.
  function sizeBox(box, ratio) {
    var narrow = window.matchMedia(NARROW).matches;
    var least = narrow ? 200 : 320;
    var most = Math.max(least, window.innerHeight * (narrow ? 0.55 : 0.75));
    var height = Math.min(most, Math.max(least, box.clientWidth * ratio));
    box.style.height = Math.round(height) + "px";
  }

  // Each lane with the name graphviz wrote in its header (lane-label nodes inside it: one
  // line, or a Chinese name down the strip a character a node, joined back here).
  function lanesOf(svg) {
    var lanes = [];
    svg.querySelectorAll("g.lane").forEach(function (group) {
      lanes.push({ shape: group, box: group.getBBox(), parts: [], name: "" });
    });
    svg.querySelectorAll("g.lane-label text").forEach(function (text) {
      var b = text.getBBox();
      var x = b.x + b.width / 2;
      var y = b.y + b.height / 2;
      var best = null;
      lanes.forEach(function (lane) {
        var l = lane.box;
        if (x >= l.x && x <= l.x + l.width && y >= l.y && y <= l.y + l.height &&
            (!best || l.width * l.height < best.box.width * best.box.height)) { best = lane; }
      });
      if (best) { best.parts.push(text.textContent.trim()); }
    });
    lanes.forEach(function (lane) {
      var upright = lane.parts.every(function (part) { return part.length === 1; });
      lane.name = lane.parts.join(upright ? "" : " ").replace("⋮", "…");
    });
    return lanes.filter(function (lane) { return lane.name; });
  }

  function laneColumn(box, lanes) {
    var column = document.createElement("div");
    column.className = "lane-names";
    column.setAttribute("aria-hidden", "true");
    lanes.forEach(function (lane) {
      lane.tag = document.createElement("span");
      lane.tag.className = "lane-name";
      lane.tag.textContent = lane.name;
      column.appendChild(lane.tag);
    });
    box.appendChild(column);
  }

  // The lane names sit at the top left of the part of their lane in view.
  function placeLanes(box, lanes) {
    var outer = box.getBoundingClientRect();
    lanes.forEach(function (lane) {
      var r = lane.shape.getBoundingClientRect();
      var top = Math.max(r.top, outer.top) - outer.top;
      var bottom = Math.min(r.bottom, outer.bottom) - outer.top;
      var shown = bottom - top > 14 && r.right > outer.left && r.left < outer.right;
      lane.tag.hidden = !shown;
      if (shown) {
        lane.tag.style.top = Math.round(top + 2) + "px";
        lane.tag.style.left = Math.round(Math.max(r.left, outer.left) - outer.left + 2) + "px";
        lane.tag.style.maxHeight = Math.round(bottom - top - 4) + "px";
      }
    });
  }

  // Text drawn at 9 pt on a chart scaled to half its size is 4 px high: below MIN_TEXT_PX on
  // screen, every text grows (up to MAX_TEXT_BOOST) about its own anchor.
  function legible(texts, scale) {
    texts.forEach(function (t) {
      var boost = Math.min(MAX_TEXT_BOOST, Math.max(1, MIN_TEXT_PX / (t.size * scale)));
      if (Math.abs(boost - t.boost) < 0.01) { return; }
      t.boost = boost;
      t.node.style.fontSize = (t.size * boost).toFixed(2) + "px";
      t.node.classList.toggle("grown", boost > 1.05);
    });
  }

  function setup(view) {
    var box = view.querySelector(".chart");
    var svg = box && box.querySelector("svg.chart-svg");
    if (!svg) { return; }
    if (typeof window.svgPanZoom !== "function" || !svg.viewBox || !svg.viewBox.baseVal ||
        !svg.viewBox.baseVal.width) {
      scrollToTask(box);
      return;
    }
    var vb = svg.viewBox.baseVal;
    var ratio = vb.height / vb.width;
    view.classList.add("pan-zoom");
    sizeBox(box, ratio);
    // svg-pan-zoom writes style="overflow: hidden" unless a style says overflow already; the
    // page's CSP refuses style attributes written as text, so it is set through the CSSOM.
    svg.style.overflow = "hidden";
    var texts = [];
    svg.querySelectorAll(GROWING).forEach(function (node) {
      var size = parseFloat(node.getAttribute("font-size"));
      if (size > 0) { texts.push({ node: node, size: size, boost: 1 }); }
    });
    var lanes = lanesOf(svg);
    laneColumn(box, lanes);
    var moved = false;
    var zoomed = false; // the reader zoomed or panned: a resize keeps their view
    var pz;
    function changed() {
      var scale = pz.getSizes().realZoom;
      box.setAttribute("data-scale", scale.toFixed(4));
      legible(texts, scale);
      placeLanes(box, lanes);
    }
    pz = window.svgPanZoom(svg, {
      fit: true,
      center: true,
      minZoom: 0.5,
      maxZoom: 12,
      zoomScaleSensitivity: 0.25,
      mouseWheelZoomEnabled: false, // the wheel scrolls the page; Ctrl + wheel zooms
      dblClickZoomEnabled: true,
      controlIconsEnabled: false,
      onPan: function () { moved = true; zoomed = true; },
      onUpdatedCTM: changed,
    });
    function fit() {
      zoomed = false;
      sizeBox(box, ratio);
      pz.resize();
      pz.fit();
      pz.center();
      changed();
    }
    view._chart = pz; // for the browser tests and the console
    view.querySelectorAll("[data-chart]").forEach(function (button) {
      button.addEventListener("click", function () {
        var what = button.getAttribute("data-chart");
        if (what === "zoom-in") { zoomed = true; pz.zoomBy(STEP); }
        else if (what === "zoom-out") { zoomed = true; pz.zoomBy(1 / STEP); }
        else { fit(); }
      });
    });
    var tools = view.querySelector(".chart-tools");
    if (tools) { tools.hidden = false; }
    svg.addEventListener("wheel", function (event) {
      if (!event.ctrlKey) { return; } // also a trackpad's pinch
      event.preventDefault();
      var at = svg.getBoundingClientRect();
      var factor = event.deltaY < 0 ? 1.1 : 1 / 1.1;
      zoomed = true;
      pz.zoomAtPointBy(factor, { x: event.clientX - at.left, y: event.clientY - at.top });
    }, { passive: false });
    // Two fingers pinch to zoom (svg-pan-zoom pans with one).
    var pinch = 0;
    function spread(touches) {
      return Math.hypot(touches[0].clientX - touches[1].clientX,
        touches[0].clientY - touches[1].clientY);
    }
    svg.addEventListener("touchstart", function (event) {
      pinch = event.touches.length === 2 ? spread(event.touches) : 0;
    }, { passive: true });
    svg.addEventListener("touchmove", function (event) {
      if (event.touches.length !== 2 || !pinch) { return; }
      var now = spread(event.touches);
      var at = svg.getBoundingClientRect();
      zoomed = true;
      pz.zoomAtPointBy(now / pinch, {
        x: (event.touches[0].clientX + event.touches[1].clientX) / 2 - at.left,
        y: (event.touches[0].clientY + event.touches[1].clientY) / 2 - at.top,
      });
      pinch = now;
    }, { passive: true });
    // A drag that ends on an open task moves the chart; it does not open the task.
    svg.addEventListener("mousedown", function () { moved = false; });
    svg.addEventListener("click", function (event) {
      if (moved) { event.preventDefault(); moved = false; }
    }, true);
    var width = box.clientWidth;
    // A new width (a phone turned, a window resized) fits the chart again, unless the reader
    // has zoomed or panned: then the box follows and their view stays.
    window.addEventListener("resize", function () {
      if (box.clientWidth === width) { return; }
      width = box.clientWidth;
      if (!zoomed) { fit(); return; }
      sizeBox(box, ratio);
      pz.resize();
      changed();
    });
    changed();
  }

  document.querySelectorAll(".chart-view").forEach(setup);
})();
