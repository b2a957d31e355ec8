// Task forms: "add another" for lists and rows, the minimum number of entries a list needs
// (HTML attributes cannot say "at least 3 of these") and the form's cross-field rules.  The server checks everything
// again; without this script the forms still work.
(function () {
  "use strict";

  function filled(container) {
    var items = container.querySelectorAll(":scope > .items > *");
    var count = 0;
    if (container.classList.contains("choices")) {
      return container.querySelectorAll("input[type=checkbox]:checked").length;
    }
    items.forEach(function (item) {
      var inputs = item.querySelectorAll("input, select, textarea");
      for (var i = 0; i < inputs.length; i++) {
        var input = inputs[i];
        var isBox = input.type === "checkbox" || input.type === "radio";
        if (isBox ? input.checked : input.value.trim() !== "") { count++; break; }
      }
    });
    return count;
  }

  function firstInput(container) {
    return container.querySelector("input, select, textarea");
  }

  function addItem(button) {
    var container = button.closest("[data-min-items]");
    var list = container.querySelector(":scope > .items");
    var template = container.querySelector(":scope > template");
    var next = parseInt(list.dataset.next || "0", 10);
    var html = template.innerHTML.split("__INDEX__").join(String(next));
    list.dataset.next = String(next + 1);
    list.insertAdjacentHTML("beforeend", html);
    var added = list.lastElementChild && firstInput(list.lastElementChild);
    if (added) { added.focus(); }
  }

  function checkCounts(form) {
    var ok = true;
    form.querySelectorAll("[data-min-items]").forEach(function (container) {
      var least = parseInt(container.dataset.minItems || "0", 10);
      var input = firstInput(container);
      if (!input) { return; }
      input.setCustomValidity("");
      if (least > 0 && filled(container) < least) {
        input.setCustomValidity(container.dataset.minMessage || "");
        if (ok) { input.reportValidity(); }
        ok = false;
      }
    });
    return ok;
  }

  // Cross-field rules of the form (its schema's "x-rules", engine.core.forms): the same
  // message as the engine's, on the field, before the form is sent.
  var OPERATORS = {
    ">=": function (a, b) { return a >= b; },
    ">": function (a, b) { return a > b; },
    "<=": function (a, b) { return a <= b; },
    "<": function (a, b) { return a < b; },
    "==": function (a, b) { return a === b; },
    "!=": function (a, b) { return a !== b; },
  };

  function rulesOf(form) {
    try { return JSON.parse(form.dataset.rules || "[]"); } catch (e) { return []; }
  }

  function valueOf(input) {
    var text = input.value.trim();
    if (text === "") { return null; }
    if (input.type === "number") {
      var number = Number(text.replace(/,/g, ""));
      return isNaN(number) ? null : number;
    }
    return text;
  }

  function checkRules(form, report) {
    var ok = true;
    rulesOf(form).forEach(function (rule) {
      var input = form.elements.namedItem(rule.field);
      var other = form.elements.namedItem(rule.other);
      if (!input || !other || input.length !== undefined || other.length !== undefined) { return; }
      input.setCustomValidity("");
      var a = valueOf(input);
      var b = valueOf(other);
      var test = OPERATORS[rule.rule];
      if (a === null || b === null || !test || typeof a !== typeof b) { return; }
      if (!test(a, b)) {
        input.setCustomValidity(rule.message);
        if (ok && report) { input.reportValidity(); }
        ok = false;
      }
    });
    return ok;
  }

  document.addEventListener("click", function (event) {
    var button = event.target.closest("button[data-add]");
    if (button) { event.preventDefault(); addItem(button); }
  });

  document.addEventListener("input", function (event) {
    // The count message sits on the list's first input: any change in the list clears it.
    var container = event.target.closest && event.target.closest("[data-min-items]");
    var input = container ? firstInput(container) : null;
    if (input) { input.setCustomValidity(""); }
    // A rule's message goes as soon as what is typed keeps it.
    var form = event.target.closest && event.target.closest("form[data-schema-form]");
    if (form) { checkRules(form, false); }
  });

  document.querySelectorAll("form[data-schema-form]").forEach(function (form) {
    form.addEventListener("submit", function (event) {
      var submitter = event.submitter;
      if (submitter && submitter.hasAttribute("formnovalidate")) { return; }
      var counted = checkCounts(form);
      if (!checkRules(form, counted) || !counted) { event.preventDefault(); }
    });
  });
})();
