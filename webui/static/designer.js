// The process designer (webui/designer.py): the bpmn-js modeler, a side panel for what the
// engine reads (names, conditions, scripts, timers, stage, form, SLA, escalation, lanes as
// roles, the DMN table a task calls), a form-schema editor with the server's preview, a grid
// for DMN tables, and check / save as draft / publish with the problems shown on the
// elements.  Plain browser JavaScript, no framework; bpmn-js is the global `BpmnJS`.
// The definition is a dict of files (name -> text) that travels whole on every save, the
// translations file beside the BPMN (<bpmn>.zh-Hans.json, engine.core.translations) with it:
// the side panel edits each element's Chinese name, the form editor each field's Chinese
// title, help and choice labels.
(function () {
  "use strict";

  var SPIFF_PROPERTIES = "spiffworkflow:Properties";
  var SPIFF_PROPERTY = "spiffworkflow:Property";
  var INSTRUCTIONS = "spiffworkflow:InstructionsForEndUser";
  var CALLED_DECISION = "spiffworkflow:CalledDecisionId";
  var FORM_PROPERTY = "formJsonSchemaFilename";
  var START_ROLES = "startRoles";  // on the process: who may start it (engine.core.starters)
  var TIMER_KINDS = ["timeDuration", "timeDate", "timeCycle"];
  var ID_PATTERN = /^[A-Za-z_][\w.-]*$/;
  var FILE_PATTERN = /^[\w.-]+$/;
  var MARKERS = { error: "sf-error", warning: "sf-warning" };
  var OVERLAY = "sf-problem";
  var OTHER = "__other__"; // the "other…" choice of a select, never a property's value
  var ZH_TAG = "zh-Hans";
  // A translations file (engine.core.translations.FILE_PATTERN with its known tags): not a form.
  var TRANSLATIONS_FILE = /\.(en|zh|zh-hans|zh-cn|zh-sg)\.json$/i;

  var data = JSON.parse(document.getElementById("designer-data").textContent);
  var T = data.texts;
  var csrfMeta = document.querySelector('meta[name="csrf-token"]');
  var csrf = csrfMeta ? csrfMeta.content : "";

  var state = {
    files: Object.assign({}, data.files),
    bpmnName: null,
    opened: data.opened,
    baseVersion: data.base_version,
    problems: [],
    marked: [],
    formFile: null,
    dmnFile: null,
    dmnDoc: null,
    fromPanel: false,
    dirty: false,  // changed since it was opened or last saved
  };
  var modeler = null;

  // --- small helpers ------------------------------------------------------------------------

  function t(key, values) {
    var text = T[key] || key;
    Object.keys(values || {}).forEach(function (name) {
      text = text.split("%(" + name + ")s").join(String(values[name]));
    });
    return text;
  }

  // "one error" or "3 errors": each counted text has a `_one` variant.
  function counted(key, count) {
    return count === 1 && T[key + "_one"] ? T[key + "_one"] : t(key, { count: count });
  }

  function el(tag, attrs, children) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (name) {
      var value = attrs[name];
      if (value === null || value === undefined || value === false) { return; }
      if (name === "text") { node.textContent = value; }
      else if (name.slice(0, 2) === "on") { node.addEventListener(name.slice(2), value); }
      else if (name in node && typeof value !== "string") { node[name] = value; }
      else { node.setAttribute(name, value === true ? "" : value); }
    });
    (children || []).forEach(function (child) {
      if (child !== null && child !== undefined) {
        node.appendChild(typeof child === "string" ? document.createTextNode(child) : child);
      }
    });
    return node;
  }

  function service(name) { return modeler.get(name); }

  function is(element, type) {
    var bo = element && (element.businessObject || element);
    return !!(bo && bo.$instanceOf && bo.$instanceOf(type));
  }

  function setStatus(text, kind) {
    var box = document.getElementById("designer-status");
    box.textContent = text || "";
    box.className = "designer-status" + (kind ? " " + kind : "");
  }

  function fileNames(suffix) {
    return Object.keys(state.files).filter(function (name) {
      return name.slice(-suffix.length).toLowerCase() === suffix;
    }).sort();
  }

  function formNames() {
    return fileNames(".json").filter(function (name) { return !TRANSLATIONS_FILE.test(name); });
  }

  function debounce(fn, ms) {
    var timer = null;
    return function () {
      var args = arguments;
      clearTimeout(timer);
      timer = setTimeout(function () { fn.apply(null, args); }, ms);
    };
  }

  function fromPanel(fn) {
    // Changes made by the panel do not re-render it (the field being typed in keeps focus).
    state.fromPanel = true;
    try { fn(); } finally { state.fromPanel = false; }
  }

  // --- the BPMN model: extension elements as the engine reads them ------------------------

  function extensionValues(bo) {
    return bo.extensionElements ? bo.extensionElements.get("values") : [];
  }

  function extension(bo, type) {
    return extensionValues(bo).filter(function (value) { return value.$instanceOf(type); })[0];
  }

  function ensureExtensions(element, target) {
    var bo = target || element.businessObject;
    if (!bo.extensionElements) {
      var created = service("moddle").create("bpmn:ExtensionElements", { values: [] });
      created.$parent = bo;
      if (bo === element.businessObject) {
        service("modeling").updateProperties(element, { extensionElements: created });
      } else {
        service("modeling").updateModdleProperties(element, bo, { extensionElements: created });
      }
    }
    return bo.extensionElements;
  }

  function property(bo, name) {
    var props = extension(bo, SPIFF_PROPERTIES);
    var found = props && props.get("values").filter(function (p) { return p.name === name; })[0];
    return found ? found.value || "" : "";
  }

  // `target`: the business object holding the property when it is not the element's own
  // (a process drawn as a pool: its participant is the element, the process holds it).
  function setProperty(element, name, value, target) {
    var modeling = service("modeling");
    var moddle = service("moddle");
    var bo = target || element.businessObject;
    value = (value || "").trim();
    var props = extension(bo, SPIFF_PROPERTIES);
    var existing = props && props.get("values").filter(function (p) { return p.name === name; })[0];
    if (existing) {
      if (value) {
        modeling.updateModdleProperties(element, existing, { value: value });
      } else {
        modeling.updateModdleProperties(element, props, {
          values: props.get("values").filter(function (p) { return p !== existing; }),
        });
      }
      return;
    }
    if (!value) { return; }
    var ext = ensureExtensions(element, bo);
    if (!props) {
      props = moddle.create(SPIFF_PROPERTIES, { values: [] });
      props.$parent = ext;
      modeling.updateModdleProperties(element, ext, { values: ext.get("values").concat([props]) });
    }
    var added = moddle.create(SPIFF_PROPERTY, { name: name, value: value });
    added.$parent = props;
    modeling.updateModdleProperties(element, props, { values: props.get("values").concat([added]) });
  }

  function bodyText(bo, type) {
    var found = extension(bo, type);
    return found ? found.text || "" : "";
  }

  function setBodyText(element, type, value) {
    var modeling = service("modeling");
    var bo = element.businessObject;
    var existing = extension(bo, type);
    if (existing) {
      if (value.trim()) {
        modeling.updateModdleProperties(element, existing, { text: value });
      } else {
        var ext = bo.extensionElements;
        modeling.updateModdleProperties(element, ext, {
          values: ext.get("values").filter(function (v) { return v !== existing; }),
        });
      }
      return;
    }
    if (!value.trim()) { return; }
    var extensions = ensureExtensions(element);
    var added = service("moddle").create(type, { text: value });
    added.$parent = extensions;
    modeling.updateModdleProperties(element, extensions, {
      values: extensions.get("values").concat([added]),
    });
  }

  function expression(text) {
    return service("moddle").create("bpmn:FormalExpression", { body: text });
  }

  function timerDefinition(bo) {
    return (bo.eventDefinitions || []).filter(function (d) {
      return d.$instanceOf("bpmn:TimerEventDefinition");
    })[0];
  }

  // The process being edited: the first participant's, or the root process.
  function processInfo() {
    var root = service("canvas").getRootElement();
    var bo = root.businessObject;
    if (is(bo, "bpmn:Collaboration")) {
      var shapes = service("elementRegistry").filter(function (e) {
        return is(e, "bpmn:Participant") && e.businessObject.processRef;
      });
      var executable = shapes.filter(function (s) { return s.businessObject.processRef.isExecutable; });
      var shape = executable[0] || shapes[0];
      if (shape) { return { element: shape, process: shape.businessObject.processRef }; }
    }
    // The drill-down of a sub-process (a file with several diagrams): its process.
    var owner = bo;
    while (owner && owner.$parent && !is(owner, "bpmn:Process")) { owner = owner.$parent; }
    return { element: root, process: is(owner, "bpmn:Process") ? owner : bo };
  }

  function lanesBeside(element) {
    // Leaf lanes of the pool the element sits in.
    var pool = element.parent;
    while (pool && !is(pool, "bpmn:Participant") && !is(pool, "bpmn:Process")) {
      pool = pool.parent;
    }
    return service("elementRegistry").filter(function (e) {
      if (!is(e, "bpmn:Lane")) { return false; }
      var child = e.businessObject.childLaneSet;
      if (child && child.lanes && child.lanes.length) { return false; }
      var p = e.parent;
      while (p && p.parent && !is(p, "bpmn:Participant")) { p = p.parent; }
      return !pool || p === pool || !is(pool, "bpmn:Participant");
    });
  }

  function laneOf(element) {
    var bo = element.businessObject;
    return lanesBeside(element).filter(function (lane) {
      return (lane.businessObject.flowNodeRef || []).indexOf(bo) >= 0;
    })[0];
  }

  function moveToLane(element, lane) {
    var dy = (lane.y + lane.height / 2) - (element.y + element.height / 2);
    var dx = 0;
    if (element.x < lane.x) { dx = lane.x + 30 - element.x; }
    if (element.x + element.width > lane.x + lane.width) {
      dx = lane.x + lane.width - 30 - element.width - element.x;
    }
    service("modeling").moveElements([element], { x: dx, y: dy });
  }

  // The stages a task may be in: the sales process's (engine.core.stages), the ones the
  // process's translations file declares, and those its elements use already.
  function stagesInUse() {
    var found = {};
    (data.stages || []).forEach(function (s) { found[s] = true; });
    var zh = readZh();
    if (zh && zh.stages && typeof zh.stages === "object") {
      Object.keys(zh.stages).forEach(function (s) { found[s] = true; });
    }
    service("elementRegistry").forEach(function (e) {
      if (e.businessObject && e.businessObject.extensionElements) {
        var stage = property(e.businessObject, "stage");
        if (stage) { found[stage] = true; }
      }
    });
    return Object.keys(found);
  }

  // The roles an SLA may escalate to: the lanes of the process, then the team's roles
  // (engine.core.roles) and the roles users hold; one per role, compared as the engine does.
  function escalationRoles() {
    var names = [];
    service("elementRegistry").forEach(function (e) {
      if (is(e, "bpmn:Lane") && e.businessObject.name) { names.push(e.businessObject.name.trim()); }
    });
    names = names.concat(data.known_roles || [], data.roles || []);
    var seen = {};
    return names.filter(function (n) {
      var key = roleKey(n);
      if (!key || seen[key]) { return false; }
      seen[key] = true;
      return true;
    });
  }

  // engine.core.roles.role_key: "Sales Rep" == "sales_rep".
  function roleKey(name) {
    return String(name || "").replace(/[_-]/g, " ").toLowerCase().split(/\s+/).filter(Boolean).join(" ");
  }

  function decisionIds() {
    var ids = [];
    fileNames(".dmn").forEach(function (name) {
      var doc = new DOMParser().parseFromString(state.files[name], "application/xml");
      Array.prototype.forEach.call(doc.getElementsByTagNameNS("*", "decision"), function (d) {
        if (d.getAttribute("id")) { ids.push(d.getAttribute("id")); }
      });
    });
    return ids;
  }

  // --- the Chinese texts: <bpmn>.zh-Hans.json beside the BPMN ------------------------------

  function zhFileName(bpmnName) {
    return (bpmnName || state.bpmnName || "process.bpmn").replace(/\.bpmn$/i, "") + "." + ZH_TAG + ".json";
  }

  // The translations file as an object; null when it is not a JSON object (the Check says
  // why, and the panel leaves the designer's file as it is).
  function readZh() {
    var text = state.files[zhFileName()];
    if (text === undefined) { return { locale: ZH_TAG }; }
    try {
      var parsed = JSON.parse(text);
      return parsed && typeof parsed === "object" && !Array.isArray(parsed) ? parsed : null;
    } catch (error) {
      return null;
    }
  }

  function prune(node) {
    Object.keys(node).forEach(function (key) {
      var value = node[key];
      if (value && typeof value === "object") { prune(value); }
      if (value === "" || (value && typeof value === "object" && !Object.keys(value).length)) {
        delete node[key];
      }
    });
    return node;
  }

  function writeZh(change) {
    var doc = readZh();
    if (!doc) { return; }
    change(doc);
    prune(doc);
    var name = zhFileName();
    if (state.files[name] === undefined && Object.keys(doc).length <= 1) { return; }  // only "locale"
    state.files[name] = JSON.stringify(doc, null, 2) + "\n";
    state.dirty = true;
  }

  function zhElementText(id, key) {
    var doc = readZh();
    var entry = doc && doc.elements && doc.elements[id];
    return (entry && typeof entry[key] === "string") ? entry[key] : "";
  }

  function setZhElementText(ids, key, value) {
    writeZh(function (doc) {
      doc.elements = doc.elements || {};
      ids.forEach(function (id) {
        var entry = doc.elements[id] = doc.elements[id] || {};
        entry[key] = (value || "").trim();
      });
    });
  }

  // An element's id changed: its Chinese texts follow it.
  function renameZhElement(oldId, newId) {
    writeZh(function (doc) {
      if (doc.elements && doc.elements[oldId] && !doc.elements[newId]) {
        doc.elements[newId] = doc.elements[oldId];
        delete doc.elements[oldId];
      }
    });
  }

  function zhField(key, label, ids, textKey, rows) {
    var onChange = function (value) { setZhElementText(ids, textKey, value); };
    var control = rows ? textArea(zhElementText(ids[0], textKey), onChange, rows)
      : textInput(zhElementText(ids[0], textKey), onChange);
    control.lang = ZH_TAG;
    if (readZh() === null) { control.disabled = true; }
    return field(key, label, control, readZh() === null ? t("zh_invalid", { file: zhFileName() }) : null);
  }

  // --- the side panel ----------------------------------------------------------------------

  var listCount = 0;

  function datalist(values) {
    listCount += 1;
    var id = "sf-list-" + listCount;
    return el("datalist", { id: id }, values.map(function (v) { return el("option", { value: v }); }));
  }

  function field(key, label, control, help) {
    control.id = "p-" + key;
    control.dataset.field = key;
    return el("div", { class: "field field-" + key }, [
      el("label", { for: control.id, text: label }),
      control,
      help ? el("p", { class: "help", text: help }) : null,
    ]);
  }

  function textInput(value, onChange, options) {
    options = options || {};
    var input = el("input", { type: "text", value: value || "", spellcheck: "false" });
    if (options.list) { input.setAttribute("list", options.list.id); }
    if (options.placeholder) { input.placeholder = options.placeholder; }
    input.addEventListener("change", function () { onChange(input.value, input); });
    return input;
  }

  function textArea(value, onChange, rows, code) {
    var area = el("textarea", { rows: String(rows || 3), spellcheck: "false" });
    area.value = value || "";
    if (code) { area.className = "code"; }
    area.addEventListener("change", function () { onChange(area.value); });
    return area;
  }

  function selectBox(options, value, onChange) {
    var box = el("select", {}, options.map(function (o) {
      return el("option", { value: o[0], text: o[1], selected: o[0] === value });
    }));
    box.addEventListener("change", function () { onChange(box.value); });
    return box;
  }

  function idField(element) {
    return field("id", T.id, textInput(element.businessObject.id, function (value, input) {
      value = value.trim();
      if (value === element.businessObject.id) { return; }
      if (!ID_PATTERN.test(value)) { input.setCustomValidity(T.id_invalid); input.reportValidity(); return; }
      if (service("elementRegistry").get(value)) {
        input.setCustomValidity(T.id_taken); input.reportValidity(); return;
      }
      input.setCustomValidity("");
      var before = element.businessObject.id;
      service("modeling").updateProperties(element, { id: value });
      renameZhElement(before, value);
      renderPanel();
    }));
  }

  function nameField(element, label, list) {
    return field("name", label || T.name, textInput(element.businessObject.name, function (value) {
      fromPanel(function () { service("modeling").updateLabel(element, value.trim() || null); });
    }, { list: list }));
  }

  function processFields(panel) {
    var info = processInfo();
    var proc = info.process;
    if (!proc) { return; }  // nothing imported yet
    panel.appendChild(el("h2", { text: T.process }));
    panel.appendChild(field("process_id", T.process_id, textInput(proc.id, function (value, input) {
      value = value.trim();
      if (value === proc.id) { return; }
      if (!ID_PATTERN.test(value)) { input.setCustomValidity(T.id_invalid); input.reportValidity(); return; }
      input.setCustomValidity("");
      var before = proc.id;
      service("modeling").updateModdleProperties(info.element, proc, { id: value });
      renameZhElement(before, value);
      document.getElementById("designer-title").textContent = value;
    })));
    panel.appendChild(field("process_name", T.process_name, textInput(proc.name, function (value) {
      fromPanel(function () {
        var name = value.trim() || undefined;
        service("modeling").updateModdleProperties(info.element, proc, { name: name });
        if (is(info.element, "bpmn:Participant")) { service("modeling").updateLabel(info.element, name || null); }
      });
    })));
    // The process's name, and its pool's when it is drawn as one.
    var named = is(info.element, "bpmn:Participant") ? [proc.id, info.element.id] : [proc.id];
    panel.appendChild(zhField("process_name_zh", T.name_zh, named, "name"));
    var box = el("input", { type: "checkbox", checked: !!proc.isExecutable });
    box.addEventListener("change", function () {
      fromPanel(function () {
        service("modeling").updateModdleProperties(info.element, proc, { isExecutable: box.checked });
      });
    });
    box.id = "p-executable";
    panel.appendChild(el("div", { class: "field check" }, [box, el("label", { for: "p-executable", text: T.executable })]));
    var roles = datalist(data.roles || []);
    panel.appendChild(roles);
    panel.appendChild(field("start_roles", T.start_roles, textInput(property(proc, START_ROLES), function (value) {
      fromPanel(function () { setProperty(info.element, START_ROLES, value, proc); });
    }, { list: roles, placeholder: "Sales Rep, Sales Manager" }), T.start_roles_help));
    panel.appendChild(el("p", { class: "help", text: T.nothing_selected }));
  }

  function sequenceFlowFields(panel, element) {
    var bo = element.businessObject;
    var source = element.source;
    var branching = source && (is(source, "bpmn:ExclusiveGateway") || is(source, "bpmn:InclusiveGateway"));
    if (branching || bo.conditionExpression) {
      var current = bo.conditionExpression ? bo.conditionExpression.body || "" : "";
      panel.appendChild(field("condition", T.condition, textArea(current, function (value) {
        fromPanel(function () {
          service("modeling").updateProperties(element, {
            conditionExpression: value.trim() ? expression(value.trim()) : undefined,
          });
        });
      }, 2, true), T.condition_help));
    }
    if (branching) {
      var box = el("input", { type: "checkbox", checked: source.businessObject.default === bo });
      box.id = "p-default";
      box.dataset.field = "default";
      box.addEventListener("change", function () {
        service("modeling").updateProperties(source, { default: box.checked ? bo : null });
      });
      panel.appendChild(el("div", { class: "field check" }, [box, el("label", { for: "p-default", text: T.default_flow })]));
    }
  }

  function gatewayFields(panel, element) {
    var bo = element.businessObject;
    var outgoing = element.outgoing || [];
    if (outgoing.length < 2) { return; }
    var options = [["", T.none]].concat(outgoing.map(function (c) {
      return [c.id, c.businessObject.name ? c.businessObject.name + " (" + c.id + ")" : c.id];
    }));
    panel.appendChild(field("default", T.default, selectBox(options, bo.default ? bo.default.id : "", function (value) {
      var flow = outgoing.filter(function (c) { return c.id === value; })[0];
      service("modeling").updateProperties(element, { default: flow ? flow.businessObject : null });
    })));
  }

  function laneField(panel, element) {
    var lanes = lanesBeside(element);
    if (!lanes.length) { return; }
    var current = laneOf(element);
    var options = (current ? [] : [["", T.no_lane]]).concat(lanes.map(function (lane) {
      return [lane.id, lane.businessObject.name || lane.id];
    }));
    panel.appendChild(field("lane", T.lane, selectBox(options, current ? current.id : "", function (value) {
      var lane = lanes.filter(function (l) { return l.id === value; })[0];
      if (lane) { moveToLane(element, lane); }
      renderPanel();
    })));
  }

  function formField(panel, element) {
    var bo = element.businessObject;
    var current = property(bo, FORM_PROPERTY);
    var list = datalist(formNames());
    panel.appendChild(list);
    var input = textInput(current, function (value) {
      fromPanel(function () { setProperty(element, FORM_PROPERTY, value); });
      renderPanel();
    }, { list: list, placeholder: "my_step.schema.json" });
    var row = field("form", T.form, input);
    var buttons = el("div", { class: "field-buttons" });
    if (current && state.files[current] !== undefined) {
      buttons.appendChild(el("button", { type: "button", class: "small", id: "p-edit-form", text: T.edit_form,
        onclick: function () { openForm(current); } }));
    } else {
      if (current) { buttons.appendChild(el("p", { class: "help warn", text: T.form_file_missing })); }
      buttons.appendChild(el("button", { type: "button", class: "small", id: "p-new-form",
        text: current ? T.create_it : T.new_form,
        onclick: function () {
          var name = current || suggestedName(bo, ".schema.json");
          createForm(name, bo.name || name);
          fromPanel(function () { setProperty(element, FORM_PROPERTY, name); });
          renderPanel();
          openForm(name);
        } }));
    }
    row.appendChild(buttons);
    panel.appendChild(row);
  }

  function suggestedName(bo, suffix) {
    var base = (bo.id || "form").replace(/^(task|start|event)_/, "");
    var name = base + suffix;
    var n = 1;
    while (state.files[name] !== undefined) { n += 1; name = base + "_" + n + suffix; }
    return name;
  }

  function propertyField(panel, element, name, label, list, help) {
    if (list) { panel.appendChild(list); }
    panel.appendChild(field(name, label, textInput(property(element.businessObject, name), function (value) {
      fromPanel(function () { setProperty(element, name, value); });
    }, { list: list }), help));
  }

  // A property chosen from a list (select), with "other…" for a value of one's own (a new
  // stage): the text box shows when it is chosen, or when the value is not in the list.
  function choiceField(panel, element, name, label, choices, help) {
    var current = property(element.businessObject, name);
    var listed = choices.indexOf(current) >= 0;
    var other = el("input", { type: "text", value: listed ? "" : current, spellcheck: "false" });
    other.id = "p-" + name + "-other";
    other.dataset.field = name + "-other";
    other.setAttribute("aria-label", label + " (" + T.other + ")");
    other.hidden = listed || !current;
    var options = [["", T.none]].concat(choices.map(function (c) { return [c, c]; }), [[OTHER, T.other]]);
    var box = selectBox(options, current && !listed ? OTHER : current, function (value) {
      if (value === OTHER) {
        other.hidden = false;
        other.focus();
        return;
      }
      other.hidden = true;
      other.value = "";
      fromPanel(function () { setProperty(element, name, value); });
    });
    other.addEventListener("change", function () {
      fromPanel(function () { setProperty(element, name, other.value); });
    });
    var row = field(name, label, box, help);
    row.appendChild(other);
    panel.appendChild(row);
  }

  function decisionField(panel, element) {
    var bo = element.businessObject;
    var current = bodyText(bo, CALLED_DECISION);
    var list = datalist(decisionIds());
    panel.appendChild(list);
    var row = field("decision", T.decision, textInput(current, function (value) {
      fromPanel(function () { setBodyText(element, CALLED_DECISION, value.trim()); });
      renderPanel();
    }, { list: list }));
    var file = dmnFileOf(current);
    var buttons = el("div", { class: "field-buttons" });
    if (file) {
      buttons.appendChild(el("button", { type: "button", class: "small", text: T.edit_table,
        onclick: function () { openDmn(file); } }));
    } else {
      buttons.appendChild(el("button", { type: "button", class: "small", id: "p-new-table", text: T.new_table,
        onclick: function () {
          var decision = current || (bo.id || "decision").replace(/^task_/, "");
          var name = decision + ".dmn";
          if (state.files[name] === undefined) { createDmn(name, decision, bo.name || decision); }
          fromPanel(function () { setBodyText(element, CALLED_DECISION, decision); });
          renderPanel();
          openDmn(name);
        } }));
    }
    row.appendChild(buttons);
    panel.appendChild(row);
  }

  function timerFields(panel, element, definition) {
    var kind = TIMER_KINDS.filter(function (k) { return definition[k]; })[0] || "timeDuration";
    var current = definition[kind] ? definition[kind].body || "" : "";
    var apply = function (newKind, value) {
      var props = { timeDuration: undefined, timeDate: undefined, timeCycle: undefined };
      if (value.trim()) { props[newKind] = expression(value.trim()); }
      service("modeling").updateModdleProperties(element, definition, props);
    };
    var text = textInput(current, function (value) {
      fromPanel(function () { apply(kindBox.value, value); });
    }, { placeholder: '"P3D"' });
    var kindBox = selectBox(TIMER_KINDS.map(function (k) { return [k, T[k]]; }), kind, function (value) {
      fromPanel(function () { apply(value, text.value); });
    });
    panel.appendChild(field("timer_kind", T.timer_kind, kindBox));
    panel.appendChild(field("timer", T.timer, text, T.timer_help));
  }

  function renderPanel() {
    var panel = document.getElementById("panel");
    if (!modeler) { return; }
    var focused = document.activeElement && panel.contains(document.activeElement)
      ? document.activeElement.dataset.field : null;
    panel.textContent = "";
    var selected = service("selection").get();
    var element = selected.length === 1 ? selected[0] : null;
    if (element && element.type === "label") { element = element.labelTarget; }
    if (!element || is(element, "bpmn:Participant") || is(element, "bpmn:Process") || is(element, "bpmn:Collaboration")) {
      processFields(panel);
    } else {
      elementFields(panel, element);
    }
    if (focused) {
      var again = panel.querySelector('[data-field="' + focused + '"]');
      if (again) { again.focus(); }
    }
  }

  function elementFields(panel, element) {
    var bo = element.businessObject;
    panel.appendChild(el("h2", { text: bo.name || bo.id }));
    panel.appendChild(el("p", { class: "meta", text: T.type + ": " + bo.$type.replace("bpmn:", "") }));
    panel.appendChild(idField(element));
    if (is(element, "bpmn:Lane")) {
      var roles = datalist(data.roles || []);
      panel.appendChild(roles);
      panel.appendChild(nameField(element, T.role, roles));
      panel.appendChild(zhField("name_zh", T.name_zh, [bo.id], "name"));
      return;
    }
    panel.appendChild(nameField(element));
    panel.appendChild(zhField("name_zh", T.name_zh, [bo.id], "name"));
    if (is(element, "bpmn:SequenceFlow")) {
      sequenceFlowFields(panel, element);
      return;
    }
    if (!is(element, "bpmn:FlowNode")) { return; }
    laneField(panel, element);
    if (is(element, "bpmn:ExclusiveGateway") || is(element, "bpmn:InclusiveGateway")) {
      gatewayFields(panel, element);
      return;
    }
    if (is(element, "bpmn:Gateway")) { return; }
    choiceField(panel, element, "stage", T.stage, stagesInUse());
    var userTask = is(element, "bpmn:UserTask");
    var timer = timerDefinition(bo);
    var plainStart = is(element, "bpmn:StartEvent") && !(bo.eventDefinitions || []).length;
    if (userTask || is(element, "bpmn:ManualTask") || plainStart) { formField(panel, element); }
    if (userTask) {
      propertyField(panel, element, "sla", T.sla, null);
      choiceField(panel, element, "escalateTo", T.escalate_to, escalationRoles());
    }
    if (userTask || is(element, "bpmn:ManualTask")) {
      panel.appendChild(field("instructions", T.instructions, textArea(bodyText(bo, INSTRUCTIONS), function (value) {
        fromPanel(function () { setBodyText(element, INSTRUCTIONS, value); });
      }, 4)));
      panel.appendChild(zhField("instructions_zh", T.instructions_zh, [bo.id], "instructions", 4));
    }
    if (is(element, "bpmn:ScriptTask")) {
      panel.appendChild(field("script", T.script, textArea(bo.script, function (value) {
        fromPanel(function () {
          service("modeling").updateProperties(element, { script: value, scriptFormat: "python" });
        });
      }, 8, true)));
    }
    if (is(element, "bpmn:BusinessRuleTask")) { decisionField(panel, element); }
    if (is(element, "bpmn:ServiceTask")) { connectorFields(panel, element); }
    if (timer) { timerFields(panel, element, timer); }
  }

  // --- a service task's HTTP connector (engine.core.connectors) ----------------------------

  var CONNECTOR = "salesflow:Connector";
  var CONNECTOR_LISTS = {
    headers: ["salesflow:Header", "name", "value", ": "],
    fields: ["salesflow:Field", "name", "expression", " = "],
    results: ["salesflow:Result", "name", "path", " = "],
  };

  function connectorOf(element, create) {
    var bo = element.businessObject;
    var found = extension(bo, CONNECTOR);
    if (found || !create) { return found; }
    var ext = ensureExtensions(element);
    found = service("moddle").create(CONNECTOR, { method: "POST", url: "" });
    found.$parent = ext;
    service("modeling").updateModdleProperties(element, ext, { values: ext.get("values").concat([found]) });
    return found;
  }

  function connectorLines(connector, list) {
    var kind = CONNECTOR_LISTS[list];
    return (connector ? connector.get(list) : []).map(function (item) {
      return (item[kind[1]] || "") + kind[3] + (item[kind[2]] || "");
    }).join("\n");
  }

  // One "name: value" (headers) or "name = expression" line per entry.
  function setConnectorLines(element, list, text) {
    var kind = CONNECTOR_LISTS[list];
    var connector = connectorOf(element, true);
    var items = text.split("\n").map(function (line) {
      var at = line.indexOf(kind[3].trim());
      if (at < 1) { return null; }
      var attrs = {};
      attrs[kind[1]] = line.slice(0, at).trim();
      attrs[kind[2]] = line.slice(at + 1).trim();
      var item = service("moddle").create(kind[0], attrs);
      item.$parent = connector;
      return attrs[kind[1]] ? item : null;
    }).filter(Boolean);
    var props = {};
    props[list] = items;
    service("modeling").updateModdleProperties(element, connector, props);
  }

  function setConnectorAttr(element, name, value) {
    var props = {};
    props[name] = value.trim() || undefined;
    service("modeling").updateModdleProperties(element, connectorOf(element, true), props);
  }

  function connectorFields(panel, element) {
    var operator = extensionValues(element.businessObject).filter(function (v) {
      return /^spiffworkflow:serviceTaskOperator$/i.test(v.$type);
    })[0];
    var connector = connectorOf(element, false);
    var box = el("fieldset", { class: "connector" }, [el("legend", { text: T.connector })]);
    panel.appendChild(box);
    if (operator && !connector) {
      box.appendChild(el("p", { class: "help", text: t("connector_operator", { name: operator.id || "?" }) }));
      return;
    }
    var methods = ["GET", "POST", "PUT", "PATCH", "DELETE"].map(function (m) { return [m, m]; });
    box.appendChild(field("connector-method", T.connector_method, selectBox(methods, connector ? connector.method || "GET" : "POST", function (value) {
      fromPanel(function () { setConnectorAttr(element, "method", value); });
    })));
    var hosts = datalist((data.connector_hosts || []).map(function (h) { return "https://" + h + "/"; }));
    box.appendChild(hosts);
    box.appendChild(field("connector-url", T.connector_url, textInput(connector ? connector.url : "", function (value) {
      fromPanel(function () { setConnectorAttr(element, "url", value); });
    }, { list: hosts, placeholder: "https://crm.example.com/api/leads/{{lead_id}}" }), t("connector_url_help", {
      hosts: (data.connector_hosts || []).join(", ") || T.connector_no_hosts,
    })));
    var secrets = (data.connector_secrets || []).map(function (n) { return "{{secret:" + n + "}}"; });
    [["headers", T.connector_headers, "Authorization: Bearer {{secret:crm_token}}",
      t("connector_headers_help", { secrets: secrets.join(", ") || T.connector_no_secrets })],
     ["fields", T.connector_fields, "company = company", T.connector_fields_help],
     ["results", T.connector_results, "crm_id = body.id", T.connector_results_help]].forEach(function (row) {
      var list = row[0];
      var area = textArea(connectorLines(connector, list), function (value) {
        fromPanel(function () { setConnectorLines(element, list, value); });
      }, 3, true);
      area.placeholder = row[2];
      box.appendChild(field("connector-" + list, row[1], area, row[3]));
    });
    [["timeout", T.connector_timeout, "10"], ["retries", T.connector_retries, "2"],
     ["retryDelay", T.connector_retry_delay, "PT30S"]].forEach(function (row) {
      box.appendChild(field("connector-" + row[0], row[1], textInput(connector ? connector[row[0]] : "", function (value) {
        fromPanel(function () { setConnectorAttr(element, row[0], value); });
      }, { placeholder: row[2] })));
    });
  }

  // --- problems on the diagram -------------------------------------------------------------

  function shapeFor(id) {
    if (!id || !modeler) { return null; }
    var registry = service("elementRegistry");
    var found = registry.get(id);
    if (found) { return found; }
    var info = processInfo();
    return info.process && info.process.id === id ? info.element : null;
  }

  function clearProblems() {
    if (modeler) {
      var canvas = service("canvas");
      state.marked.forEach(function (id) {
        if (service("elementRegistry").get(id)) {
          canvas.removeMarker(id, MARKERS.error);
          canvas.removeMarker(id, MARKERS.warning);
        }
      });
      service("overlays").remove({ type: OVERLAY });
    }
    state.marked = [];
    state.problems = [];
    document.getElementById("problems").textContent = "";
    document.getElementById("problems-box").hidden = true;
  }

  function showProblems(problems) {
    clearProblems();
    state.problems = problems || [];
    if (!state.problems.length) { return; }
    var list = document.getElementById("problems");
    var byElement = {};
    state.problems.forEach(function (p) {
      var severity = p.severity === "warning" ? "warning" : "error";
      var where = [];
      if (p.file) { where.push(p.file); }
      if (p.line) { where.push(t("line", { line: p.line })); }
      var item = el("li", { class: "problem " + severity, "data-element": p.element_id || "" }, [
        el("span", { class: "severity", text: T[severity] }),
        // The message names the element ("Prepare quote (task_prepare_quote): ..."): it is
        // the link to the element.
        p.element_id ? el("button", { type: "button", class: "link element-link message", text: p.message,
          onclick: function () { focusProblem(p); } }) : el("span", { class: "message", text: p.message }),
        where.length ? el("span", { class: "where", text: "(" + where.join(", ") + ")" }) : null,
      ]);
      if (!p.element_id && p.file) {
        item.appendChild(el("button", { type: "button", class: "link", text: p.file, onclick: function () { focusProblem(p); } }));
      }
      list.appendChild(item);
      var shape = shapeFor(p.element_id);
      if (shape) {
        var entry = byElement[shape.id] || (byElement[shape.id] = { shape: shape, messages: [], severity: "warning" });
        entry.messages.push(p.message);
        if (severity === "error") { entry.severity = "error"; }
      }
    });
    var canvas = service("canvas");
    var overlays = service("overlays");
    Object.keys(byElement).forEach(function (id) {
      var entry = byElement[id];
      canvas.addMarker(id, MARKERS[entry.severity]);
      state.marked.push(id);
      var badge = el("div", { class: "sf-badge " + entry.severity, title: entry.messages.join("\n"),
        text: String(entry.messages.length) });
      var position = entry.shape.waypoints ? { top: 0, left: 0 } : { top: -10, right: 10 };
      overlays.add(id, OVERLAY, { position: position, html: badge });
    });
    document.getElementById("problems-box").hidden = false;
  }

  function focusProblem(p) {
    var shape = shapeFor(p.element_id);
    if (shape) {
      service("selection").select(shape);
      service("canvas").scrollToElement(shape);
      return;
    }
    var form = p.file && TRANSLATIONS_FILE.test(p.file) ? /^forms\.(.+?\.json)[.:]/.exec(p.message || "") : null;
    if (form && state.files[form[1]] !== undefined) { openForm(form[1]); return; }
    if (p.file && /\.json$/i.test(p.file) && !TRANSLATIONS_FILE.test(p.file) && state.files[p.file] !== undefined) { openForm(p.file); }
    if (p.file && /\.dmn$/i.test(p.file) && state.files[p.file] !== undefined) { openDmn(p.file); }
  }

  // --- saving ----------------------------------------------------------------------------

  function post(url, body) {
    return fetch(url, {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", "Accept": "application/json", "X-CSRFToken": csrf },
      body: JSON.stringify(body),
    }).then(function (response) {
      return response.json().catch(function () { return null; }).then(function (json) {
        return { status: response.status, json: json };
      });
    });
  }

  function currentFiles() {
    return modeler.saveXML({ format: true }).then(function (result) {
      state.files[state.bpmnName] = result.xml;
      return Object.assign({}, state.files);
    });
  }

  function refused(answer) {
    if (answer.json && answer.json.problems) {
      showProblems(answer.json.problems);
      setStatus(T.not_published, "error");
    } else {
      setStatus(t("request_failed", { status: answer.status }), "error");
    }
    return answer;
  }

  function check() {
    setStatus(T.checking, "busy");
    return currentFiles().then(function (files) {
      return post(data.urls.check, { files: files, opened: state.opened });
    }).then(function (answer) {
      if (answer.status !== 200 || !answer.json) { return refused(answer); }
      showProblems(answer.json.problems);
      var errors = answer.json.problems.filter(function (p) { return p.severity !== "warning"; });
      if (!answer.json.problems.length) { setStatus(T.no_problems, "ok"); }
      else if (errors.length) { setStatus(counted("check_errors", errors.length), "error"); }
      else { setStatus(counted("check_warnings", answer.json.problems.length), "ok"); }
      return answer;
    });
  }

  function adopt(processId, url) {
    state.opened = processId;
    document.getElementById("designer-title").textContent = processId;
    if (url && window.location.pathname !== url) { window.history.replaceState(null, "", url); }
  }

  function publish() {
    setStatus(T.publishing, "busy");
    return currentFiles().then(function (files) {
      return post(data.urls.publish, { files: files, opened: state.opened, base_version: state.baseVersion });
    }).then(function (answer) {
      if (answer.status !== 200 || !answer.json) { return refused(answer); }
      var result = answer.json;
      showProblems(result.problems);
      state.baseVersion = result.version;
      adopt(result.process_id, result.url);
      document.getElementById("designer-version").textContent = t("version", { version: result.version });
      var draftNotice = document.querySelector(".designer-draft");
      if (draftNotice) { draftNotice.remove(); }
      setStatus(t(result.changed ? "published" : "unchanged", { version: result.version }), "ok");
      state.dirty = false;
      return answer;
    });
  }

  function saveDraft() {
    setStatus(T.saving, "busy");
    return currentFiles().then(function (files) {
      return post(data.urls.draft, { files: files, opened: state.opened, base_version: state.baseVersion });
    }).then(function (answer) {
      if (answer.status !== 200 || !answer.json) { return refused(answer); }
      var result = answer.json;
      showProblems(result.problems);
      adopt(result.process_id, result.url);
      var count = (result.problems || []).length;
      setStatus(count ? counted("draft_problems", count) : T.draft_saved, "ok");
      state.dirty = false;
      return answer;
    });
  }

  function download() {
    currentFiles().then(function () {
      var blob = new Blob([state.files[state.bpmnName]], { type: "application/xml" });
      var link = el("a", { href: URL.createObjectURL(blob), download: state.bpmnName });
      document.body.appendChild(link);
      link.click();
      link.remove();
    });
  }

  // --- import ------------------------------------------------------------------------------

  function safeName(name, suffix) {
    var base = name.replace(/\.[^.]*$/, "").replace(/[^\w.-]+/g, "_") || "process";
    return base + suffix;
  }

  // A file without a diagram (no BPMN DI) is laid out by the server first.
  function importBpmn(xml) {
    clearProblems();
    return modeler.importXML(xml).catch(function (error) {
      if (!/no diagram to display/i.test(String(error && error.message))) { throw error; }
      return post(data.urls.layout, { xml: xml }).then(function (answer) {
        if (answer.status !== 200 || !answer.json) {
          throw new Error(answer.json && answer.json.error ? answer.json.error : error.message);
        }
        state.laidOut = true;
        return modeler.importXML(answer.json.xml);
      });
    }).then(function (result) {
      return showDiagrams(xml).then(function () { return result; });
    }).then(function (result) {
      service("canvas").zoom("fit-viewport", "auto");
      var info = processInfo();
      if (info.process && info.process.id) {
        document.getElementById("designer-title").textContent = info.process.id;
      }
      renderPanel();
      return result.warnings || [];
    });
  }

  // A file with several diagrams (a main model and drill-downs, or one per pool) opens on
  // its main one, as the server picks it for charts (engine.core.graph.diagram_list), and
  // the picker lists them all.
  function showDiagrams(xml) {
    var choice = document.getElementById("diagram-choice");
    var picker = document.getElementById("diagram-picker");
    var definitions = modeler.getDefinitions();
    var count = definitions && definitions.diagrams ? definitions.diagrams.length : 0;
    choice.hidden = true;
    picker.textContent = "";
    if (count < 2) { return Promise.resolve(); }
    return post(data.urls.layout, { xml: xml }).then(function (answer) {
      var found = answer.status === 200 && answer.json ? answer.json.diagrams || [] : [];
      if (found.length < 2) { return; }
      var main = null;
      var drawn = {};
      definitions.diagrams.forEach(function (d) { drawn[d.id] = d; });
      found.forEach(function (diagram) {
        // Named by the diagram's name, else by what it draws (a pool, a sub-process).
        var own = drawn[diagram.id];
        var shows = own && own.plane && own.plane.bpmnElement ? own.plane.bpmnElement.name : "";
        var label = (diagram.name || shows || diagram.id) + " · " + t("diagram_shapes", { count: diagram.shapes });
        if (diagram.main) { main = diagram.id; label += " · " + t("diagram_main"); }
        picker.appendChild(el("option", { value: diagram.id, text: label }));
      });
      choice.hidden = false;
      if (main) {
        picker.value = main;
        return modeler.open(main);
      }
    });
  }

  function importFiles(files) {
    var chain = Promise.resolve();
    var bpmnImported = null;
    Array.prototype.forEach.call(files, function (file) {
      chain = chain.then(function () { return file.text(); }).then(function (text) {
        var lower = file.name.toLowerCase();
        if (/\.(bpmn|xml)$/.test(lower)) {
          var name = safeName(file.name, ".bpmn");
          var previous = state.bpmnName;
          state.laidOut = false;
          return importBpmn(text).then(function (warnings) {
            if (previous !== name) {
              delete state.files[previous];
              // The Chinese texts stay beside the BPMN under its new name.
              var oldZh = zhFileName(previous);
              var newZh = zhFileName(name);
              if (state.files[oldZh] !== undefined && state.files[newZh] === undefined) {
                state.files[newZh] = state.files[oldZh];
                delete state.files[oldZh];
              }
            }
            state.bpmnName = name;
            state.files[name] = text;
            bpmnImported = name;
            setStatus(warnings.length ? t("import_warnings", { name: file.name, count: warnings.length })
              : t(state.laidOut ? "imported_laid_out" : "imported", { name: file.name }), "ok");
          }, function (error) {
            // The previous diagram stays; say why this one cannot be shown.
            importBpmn(state.files[previous]);
            setStatus(t("import_failed", { why: error.message || error }), "error");
          });
        }
        if (/\.dmn$/.test(lower)) { state.files[safeName(file.name, ".dmn")] = text; }
        else if (/\.json$/.test(lower)) { state.files[safeName(file.name, ".json").replace(/_schema\.json$/, ".schema.json")] = text; }
        refreshEditors();
        setStatus(t("imported", { name: file.name }), "ok");
      });
    });
    return chain.then(function () {
      state.dirty = true;
      refreshEditors();
      if (!bpmnImported) { return; }
      // The import's note stays in front of what the check found.
      var note = document.getElementById("designer-status").textContent;
      return check().then(function (answer) {
        var box = document.getElementById("designer-status");
        box.textContent = note + " " + box.textContent;
        return answer;
      });
    });
  }

  // --- form schemas --------------------------------------------------------------------------

  function createForm(name, title) {
    if (state.files[name] !== undefined) { return; }
    state.files[name] = JSON.stringify({
      "$schema": "https://json-schema.org/draft/2020-12/schema",
      "title": title,
      "type": "object",
      "properties": {},
      "required": [],
    }, null, 2) + "\n";
    state.dirty = true;
    refreshEditors();
  }

  function openForm(name) {
    state.formFile = name;
    refreshForms();
    document.getElementById("form-editor").scrollIntoView({ block: "start" });
    document.getElementById("form-text").focus();
  }

  function refreshForms() {
    var names = formNames();
    if (state.formFile && names.indexOf(state.formFile) < 0) { state.formFile = null; }
    if (!state.formFile) { state.formFile = names[0] || null; }
    var box = document.getElementById("form-file");
    box.textContent = "";
    names.forEach(function (name) {
      box.appendChild(el("option", { value: name, text: name, selected: name === state.formFile }));
    });
    var text = document.getElementById("form-text");
    text.disabled = !state.formFile;
    document.getElementById("form-editor-grid").hidden = !state.formFile;
    text.value = state.formFile ? state.files[state.formFile] : "";
    if (!state.formFile) {
      document.getElementById("form-status").textContent = T.no_form;
      document.getElementById("form-preview").textContent = "";
      renderFormZh();
      return;
    }
    preview();
    renderFormZh();
  }

  // --- the Chinese texts of a form: title, help and choice labels per field --------------

  // (path, schema) of every field, as engine.core.translations.form_fields names them:
  // properties joined by ".", the items of a list as "[]".
  function formPaths(schema, prefix, out) {
    out = out || [];
    var props = schema && typeof schema === "object" ? schema.properties : null;
    if (!props || typeof props !== "object") { return out; }
    Object.keys(props).forEach(function (key) {
      var sub = props[key];
      if (!sub || typeof sub !== "object" || Array.isArray(sub)) { return; }
      var path = (prefix || "") + key;
      out.push([path, sub]);
      formPaths(sub, path + ".", out);
      if (sub.items && typeof sub.items === "object" && !Array.isArray(sub.items)) {
        out.push([path + "[]", sub.items]);
        formPaths(sub.items, path + "[].", out);
      }
    });
    return out;
  }

  function choicesOf(sub) {
    if (Array.isArray(sub.enum)) { return sub.enum.map(String); }
    return (Array.isArray(sub.oneOf) ? sub.oneOf : []).filter(function (o) {
      return o && typeof o === "object" && "const" in o;
    }).map(function (o) { return String(o.const); });
  }

  function choiceTitle(sub, value) {
    var option = (Array.isArray(sub.oneOf) ? sub.oneOf : []).filter(function (o) {
      return o && typeof o === "object" && String(o.const) === value;
    })[0];
    return option && option.title ? option.title : value;
  }

  // One row of the table: what it is, the designer's text, the Chinese text.
  function zhRow(what, english, value, key, onChange) {
    var input = el("input", { type: "text", value: value || "", lang: ZH_TAG,
      "data-zh": key, "aria-label": T.chinese + ": " + what });
    input.addEventListener("change", function () { onChange(input.value.trim()); });
    return el("tr", {}, [
      el("th", { scope: "row" }, [el("code", { text: what })]),
      el("td", { class: "english", text: english || "" }),
      el("td", {}, [input]),
    ]);
  }

  function renderFormZh() {
    var box = document.getElementById("form-zh");
    if (!box) { return; }
    box.textContent = "";
    var name = state.formFile;
    var schema = null;
    try { schema = name ? JSON.parse(state.files[name]) : null; } catch (error) { schema = null; }
    if (!schema || typeof schema !== "object" || Array.isArray(schema)) { return; }
    box.appendChild(el("h3", { text: T.form_zh }));
    var doc = readZh();
    if (!doc) {
      box.appendChild(el("p", { class: "help error", text: t("zh_invalid", { file: zhFileName() }) }));
      return;
    }
    box.appendChild(el("p", { class: "help", text: t("form_zh_help", { file: zhFileName() }) }));
    var texts = (doc.forms && doc.forms[name]) || {};
    var given = texts.fields || {};
    var change = function (apply) {
      return function (value) {
        writeZh(function (d) {
          d.forms = d.forms || {};
          apply(d.forms[name] = d.forms[name] || {}, value);
        });
      };
    };
    var rows = [
      zhRow(T.form_title, schema.title, texts.title, "title", change(function (f, v) { f.title = v; })),
    ];
    if (schema.description || texts.description) {
      rows.push(zhRow(T.form_help, schema.description, texts.description, "description",
        change(function (f, v) { f.description = v; })));
    }
    formPaths(schema).forEach(function (pair) {
      var path = pair[0];
      var sub = pair[1];
      var entry = given[path] || {};
      var inField = function (apply) {
        return change(function (f, v) {
          f.fields = f.fields || {};
          apply(f.fields[path] = f.fields[path] || {}, v);
        });
      };
      rows.push(zhRow(path, sub.title || "", entry.title, path + "|title",
        inField(function (e, v) { e.title = v; })));
      if (sub.description || entry.description) {
        rows.push(zhRow(path + " · " + T.help, sub.description, entry.description, path + "|description",
          inField(function (e, v) { e.description = v; })));
      }
      choicesOf(sub).forEach(function (value) {
        var labels = entry.choices || {};
        rows.push(zhRow(path + " = " + value, choiceTitle(sub, value), labels[value], path + "|choice|" + value,
          inField(function (e, v) { e.choices = e.choices || {}; e.choices[value] = v; })));
      });
    });
    box.appendChild(el("div", { class: "dmn-scroll" }, [el("table", { class: "zh-table" }, [
      el("thead", {}, [el("tr", {}, [
        el("th", { text: T.field }), el("th", { text: T.designer_text }), el("th", { text: T.chinese }),
      ])]),
      el("tbody", {}, rows),
    ])]));
  }

  var renderFormZhSoon = debounce(renderFormZh, 500);

  function preview() {
    var name = state.formFile;
    var status = document.getElementById("form-status");
    var target = document.getElementById("form-preview");
    if (!name) { return; }
    var text = state.files[name];
    try {
      JSON.parse(text);
    } catch (error) {
      status.textContent = t("invalid_json", { why: error.message });
      status.className = "help error";
      return;
    }
    post(data.urls.preview, { name: name, schema: text }).then(function (answer) {
      if (name !== state.formFile) { return; }
      if (answer.status === 200 && answer.json) {
        // Rendered by the server's form renderer (Jinja, escaped): the same HTML as a task page.
        target.innerHTML = answer.json.html;
        status.textContent = "";
        status.className = "help";
      } else {
        status.textContent = answer.json && answer.json.error ? answer.json.error
          : t("request_failed", { status: answer.status });
        status.className = "help error";
      }
    });
  }

  var previewSoon = debounce(preview, 350);

  function newFileName(input, suffix) {
    var name = input.value.trim();
    if (!name) { return null; }
    if (name.slice(-suffix.length).toLowerCase() !== suffix) { name += suffix; }
    if (!FILE_PATTERN.test(name)) {
      input.setCustomValidity(t("file_name_invalid", { suffix: suffix })); input.reportValidity(); return null;
    }
    if (state.files[name] !== undefined) {
      input.setCustomValidity(T.file_exists); input.reportValidity(); return null;
    }
    input.setCustomValidity("");
    input.value = "";
    return name;
  }

  // --- DMN tables ----------------------------------------------------------------------------

  function dmnFileOf(decisionId) {
    if (!decisionId) { return null; }
    return fileNames(".dmn").filter(function (name) {
      var doc = new DOMParser().parseFromString(state.files[name], "application/xml");
      return Array.prototype.some.call(doc.getElementsByTagNameNS("*", "decision"), function (d) {
        return d.getAttribute("id") === decisionId;
      });
    })[0] || null;
  }

  function createDmn(name, decision, title) {
    var ns = "https://www.omg.org/spec/DMN/20191111/MODEL/";
    var xml = '<?xml version="1.0" encoding="UTF-8"?>\n' +
      '<definitions xmlns="' + ns + '" id="definitions_' + decision + '" name="" namespace="http://salesflow.example/dmn">\n' +
      '  <decision id="' + decision + '" name="">\n' +
      '    <decisionTable id="' + decision + '_table" hitPolicy="UNIQUE">\n' +
      '      <input id="' + decision + '_input_1" label="Input">\n' +
      '        <inputExpression id="' + decision + '_input_1_expression" typeRef="string"><text>value</text></inputExpression>\n' +
      '      </input>\n' +
      '      <output id="' + decision + '_output_1" label="Result" name="result" typeRef="string" />\n' +
      '      <rule id="' + decision + '_rule_1">\n' +
      '        <inputEntry id="' + decision + '_rule_1_in_1"><text></text></inputEntry>\n' +
      '        <outputEntry id="' + decision + '_rule_1_out_1"><text>"default"</text></outputEntry>\n' +
      '      </rule>\n' +
      '    </decisionTable>\n' +
      '  </decision>\n' +
      '</definitions>\n';
    var doc = new DOMParser().parseFromString(xml, "application/xml");
    doc.documentElement.setAttribute("name", title);
    doc.getElementsByTagNameNS(ns, "decision")[0].setAttribute("name", title);
    state.files[name] = serialize(doc);
    state.dirty = true;
    refreshEditors();
  }

  function serialize(doc) {
    var text = new XMLSerializer().serializeToString(doc);
    if (text.slice(0, 5) !== "<?xml") { text = '<?xml version="1.0" encoding="UTF-8"?>\n' + text; }
    text = text.replace(/^(<\?xml[^>]*\?>)(?!\n)/, "$1\n");
    return text.replace(/\s*$/, "\n");
  }

  function children(node, localName) {
    return Array.prototype.filter.call(node.children, function (c) { return c.localName === localName; });
  }

  function columnName(column) {
    return column.getAttribute("label") || column.getAttribute("name") || column.getAttribute("id") || "";
  }

  function entryText(entry) {
    var text = entry ? children(entry, "text")[0] : null;
    return text ? text.textContent : "";
  }

  function setEntryText(entry, value) {
    var text = children(entry, "text")[0];
    if (!text) {
      text = entry.ownerDocument.createElementNS(entry.namespaceURI, entry.prefix ? entry.prefix + ":text" : "text");
      entry.appendChild(text);
    }
    text.textContent = value;
  }

  function uniqueId(doc, base) {
    var id = base;
    var n = 1;
    while (doc.querySelector('[id="' + id + '"]')) { n += 1; id = base + "_" + n; }
    return id;
  }

  function openDmn(name) {
    state.dmnFile = name;
    refreshDmn();
    document.getElementById("dmn-editor").scrollIntoView({ block: "start" });
  }

  function saveDmn() {
    state.files[state.dmnFile] = serialize(state.dmnDoc);
    state.dirty = true;
  }

  function refreshDmn() {
    var names = fileNames(".dmn");
    if (state.dmnFile && names.indexOf(state.dmnFile) < 0) { state.dmnFile = null; }
    if (!state.dmnFile) { state.dmnFile = names[0] || null; }
    var box = document.getElementById("dmn-file");
    box.textContent = "";
    names.forEach(function (name) {
      box.appendChild(el("option", { value: name, text: name, selected: name === state.dmnFile }));
    });
    var grid = document.getElementById("dmn-grid");
    grid.textContent = "";
    if (!state.dmnFile) { grid.appendChild(el("p", { class: "empty", text: T.no_tables })); return; }
    var doc = new DOMParser().parseFromString(state.files[state.dmnFile], "application/xml");
    var table = doc.getElementsByTagNameNS("*", "decisionTable")[0];
    if (doc.getElementsByTagName("parsererror").length || !table) {
      grid.appendChild(el("p", { class: "error", text: T.table_invalid }));
      return;
    }
    state.dmnDoc = doc;
    var inputs = children(table, "input");
    var outputs = children(table, "output");
    var decision = table.parentNode;
    grid.appendChild(el("p", { class: "meta" }, [
      el("strong", { text: decision.getAttribute("name") || decision.getAttribute("id") }),
      " · " + decision.getAttribute("id") + " · " + (table.getAttribute("hitPolicy") || "UNIQUE"),
    ]));
    var head = el("tr", {}, [el("th", { text: "#" })]);
    inputs.forEach(function (input) {
      var expr = children(input, "inputExpression")[0];
      var exprInput = el("input", { type: "text", class: "code", value: entryText(expr), "aria-label": T.input + ": " + columnName(input) });
      exprInput.addEventListener("change", function () {
        if (expr) { setEntryText(expr, exprInput.value); saveDmn(); }
      });
      head.appendChild(el("th", { class: "dmn-input" }, [
        el("span", { class: "label", text: T.input + ": " + (input.getAttribute("label") || "") }), exprInput,
      ]));
    });
    outputs.forEach(function (output) {
      var nameInput = el("input", { type: "text", class: "code", value: output.getAttribute("name") || "", "aria-label": T.output + ": " + columnName(output) });
      nameInput.addEventListener("change", function () { output.setAttribute("name", nameInput.value.trim()); saveDmn(); });
      head.appendChild(el("th", { class: "dmn-output" }, [
        el("span", { class: "label", text: T.output + ": " + (output.getAttribute("label") || "") }), nameInput,
      ]));
    });
    head.appendChild(el("th", { text: T.description }));
    head.appendChild(el("th", {}));
    var columns = inputs.concat(outputs);
    var body = el("tbody");
    children(table, "rule").forEach(function (rule, index) {
      var row = el("tr", { "data-rule": rule.getAttribute("id") || "" }, [el("td", { class: "num", text: String(index + 1) })]);
      var cells = children(rule, "inputEntry").concat(children(rule, "outputEntry"));
      cells.forEach(function (entry, i) {
        var rule = t("rule", { number: index + 1 });
        var cell = el("input", { type: "text", class: "code", value: entryText(entry),
          "aria-label": rule + ": " + (columns[i] ? columnName(columns[i]) : String(i + 1)) });
        cell.addEventListener("change", function () { setEntryText(entry, cell.value); saveDmn(); });
        row.appendChild(el("td", { class: i < inputs.length ? "in" : "out" }, [cell]));
      });
      var description = children(rule, "description")[0];
      var note = el("input", { type: "text", value: description ? description.textContent : "",
        "aria-label": t("rule", { number: index + 1 }) + ": " + T.description });
      note.addEventListener("change", function () {
        if (!description) {
          description = doc.createElementNS(rule.namespaceURI, rule.prefix ? rule.prefix + ":description" : "description");
          rule.insertBefore(description, rule.firstChild);
        }
        description.textContent = note.value;
        saveDmn();
      });
      row.appendChild(el("td", { class: "note" }, [note]));
      row.appendChild(el("td", {}, [el("button", { type: "button", class: "small remove-row", text: T.remove_row,
        "aria-label": T.remove_row + " " + (index + 1),
        onclick: function () {
          var before = rule.previousSibling;
          if (before && before.nodeType === 3 && !before.textContent.trim()) { before.remove(); }
          rule.remove();
          saveDmn();
          refreshDmn();
        } })]));
      body.appendChild(row);
    });
    grid.appendChild(el("div", { class: "dmn-scroll" }, [el("table", { class: "dmn-table" }, [el("thead", {}, [head]), body])]));
    grid.appendChild(el("button", { type: "button", id: "dmn-add-row", text: T.add_row, onclick: function () {
      addRule(doc, table, inputs.length, outputs.length);
      saveDmn();
      refreshDmn();
    } }));
  }

  function addRule(doc, table, inputCount, outputCount) {
    var ns = table.namespaceURI;
    var prefix = table.prefix ? table.prefix + ":" : "";
    var decisionId = table.parentNode.getAttribute("id") || "decision";
    var ruleId = uniqueId(doc, decisionId + "_rule_" + (children(table, "rule").length + 1));
    var rule = doc.createElementNS(ns, prefix + "rule");
    rule.setAttribute("id", ruleId);
    var add = function (kind, i) {
      var entry = doc.createElementNS(ns, prefix + kind);
      entry.setAttribute("id", uniqueId(doc, ruleId + "_" + (kind === "inputEntry" ? "in_" : "out_") + (i + 1)));
      entry.appendChild(doc.createElementNS(ns, prefix + "text"));
      rule.appendChild(doc.createTextNode("\n        "));
      rule.appendChild(entry);
    };
    for (var i = 0; i < inputCount; i++) { add("inputEntry", i); }
    for (var j = 0; j < outputCount; j++) { add("outputEntry", j); }
    rule.appendChild(doc.createTextNode("\n      "));
    var rules = children(table, "rule");
    var last = rules[rules.length - 1];
    var anchor = last ? last.nextSibling : null;
    table.insertBefore(doc.createTextNode("\n      "), anchor);
    table.insertBefore(rule, anchor);
  }

  function refreshEditors() {
    refreshForms();
    refreshDmn();
  }

  // --- start ---------------------------------------------------------------------------------

  function wire() {
    document.getElementById("check").addEventListener("click", check);
    document.getElementById("publish").addEventListener("click", publish);
    document.getElementById("save-draft").addEventListener("click", saveDraft);
    var simulate = document.getElementById("simulate");
    if (simulate) {  // the what-if page simulates the saved draft: save what is on screen first
      simulate.addEventListener("click", function (event) {
        event.preventDefault();
        saveDraft().then(function (answer) {
          if (answer && answer.status === 200) { window.location.href = simulate.href; }
        });
      });
    }
    document.getElementById("download-bpmn").addEventListener("click", download);
    document.getElementById("diagram-picker").addEventListener("change", function (event) {
      modeler.open(event.target.value).then(function () {
        service("canvas").zoom("fit-viewport", "auto");
        renderPanel();
      }, function (error) {
        setStatus(t("import_failed", { why: error.message || error }), "error");
      });
    });
    var input = document.getElementById("import-file");
    input.addEventListener("change", function () {
      var chosen = Array.prototype.slice.call(input.files);
      input.value = "";
      importFiles(chosen);
    });
    document.getElementById("form-file").addEventListener("change", function (event) {
      state.formFile = event.target.value;
      refreshForms();
    });
    document.getElementById("form-text").addEventListener("input", function (event) {
      if (!state.formFile) { return; }
      state.files[state.formFile] = event.target.value;
      state.dirty = true;
      previewSoon();
      renderFormZhSoon();
    });
    document.getElementById("new-form").addEventListener("click", function () {
      var name = newFileName(document.getElementById("new-form-name"), ".json");
      if (name) { createForm(name, name.replace(/(\.schema)?\.json$/, "")); openForm(name); }
    });
    document.getElementById("dmn-file").addEventListener("change", function (event) {
      state.dmnFile = event.target.value;
      refreshDmn();
    });
    document.getElementById("new-dmn").addEventListener("click", function () {
      var name = newFileName(document.getElementById("new-dmn-name"), ".dmn");
      if (name) {
        var decision = name.replace(/\.dmn$/, "").replace(/[^\w]/g, "_");
        createDmn(name, decision, decision);
        openDmn(name);
      }
    });
  }

  function start() {
    wire();
    window.addEventListener("beforeunload", function (event) {
      // Unsaved changes: the browser asks before the page is left.
      if (state.dirty) { event.preventDefault(); event.returnValue = ""; }
    });
    state.bpmnName = fileNames(".bpmn")[0] || "process.bpmn";
    refreshEditors();
    if (!window.BpmnJS) {
      setStatus(T.modeler_missing, "error");
      return Promise.reject(new Error("bpmn-js is not loaded"));
    }
    return Promise.all([data.urls.moddle, data.urls.connector_moddle].map(function (url) {
      return fetch(url, { credentials: "same-origin" }).then(function (r) { return r.json(); });
    }))
      .then(function (descriptors) {
        modeler = new window.BpmnJS({
          container: "#canvas",
          moddleExtensions: { spiffworkflow: descriptors[0], salesflow: descriptors[1] },
        });
        var events = modeler.get("eventBus");
        events.on("selection.changed", function () { renderPanel(); });
        events.on("elements.changed", function () { if (!state.fromPanel) { renderPanel(); } });
        events.on("commandStack.changed", function (event) {
          if (event.trigger !== "clear") { state.dirty = true; }
        });
        return importBpmn(state.files[state.bpmnName] || "");
      })
      .then(function (warnings) {
        if (state.laidOut) { setStatus(t("imported_laid_out", { name: state.bpmnName }), "ok"); }
        else if (warnings.length) { setStatus(t("import_warnings", { name: state.bpmnName, count: warnings.length }), "ok"); }
      }, function (error) {
        setStatus(t("import_failed", { why: error.message || error }), "error");
      });
  }

  var ready = start();
  // For the browser tests and the curious: the page's parts.
  window.salesflowDesigner = {
    ready: ready,
    get modeler() { return modeler; },
    state: state,
    check: check,
    publish: publish,
    saveDraft: saveDraft,
    importFiles: importFiles,
  };
})();
