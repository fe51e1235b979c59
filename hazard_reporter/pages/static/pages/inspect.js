/* The inspectors' desk: the queue with its colour counts and filters, an SVG map of the queue's
 * points (no tiles: the points are plotted on their own bounding box), and a report's panel with
 * its photos, reasons, timeline, possible duplicates and the inspector's actions. */
(function () {
  "use strict";

  var D = window.HazardDesk;
  var t = D.t;
  var $ = function (id) { return document.getElementById(id); };
  var SVG = "http://www.w3.org/2000/svg";
  var COLOURS = ["red", "orange", "yellow", "blue"];
  var FILL = { red: "#b91c1c", orange: "#c2410c", yellow: "#facc15", blue: "#1d4ed8" };
  // nextCursor: the queue's next page (its answers come 100 at a time); asked: the filters' turn,
  // so that a page asked for under older filters is dropped.
  var state = { items: [], counts: {}, current: null, nextCursor: null, asked: 0, unitLink: null,
                units: null, unitsAsked: false, mergeInto: null, route: null };
  // The statuses each move starts from, as reports/workflow.py allows them (TRANSITIONS): the
  // panel offers a move only there; the API still says no, with its reason, if the report has
  // moved on meanwhile. (A colour may be overridden at any status: the API allows it.)
  var MOVES = {
    triage: ["submitted"],
    verify: ["rectified"],
    reject: ["submitted", "triaged", "forwarded"],
    outcome: ["verified"], // the outcome of a verified hazard (inspection/services.py)
    forward: ["triaged", "forwarded", "acknowledged", "rectifying"], // re-routing included
    merge: ["submitted", "triaged", "forwarded"],
    reopen: ["rectified", "verified"],
    retriage: ["rejected", "duplicate"]
  };
  function allows(move, status) { return MOVES[move].indexOf(status) >= 0; }

  function badge(el, severity) {
    var colour = COLOURS.indexOf(severity) >= 0 ? severity : "none";
    el.className = "badge sev-" + colour;
    el.textContent = D.label("severity_", severity);
  }

  function query() {
    var params = new URLSearchParams();
    if ($("f-severity").value) { params.set("severity", $("f-severity").value); }
    if ($("f-status").value) { params.set("status", $("f-status").value); }
    if ($("f-overdue").checked) { params.set("overdue", "true"); }
    params.set("limit", "100");
    return params;
  }

  function renderCounts() {
    var list = $("counts");
    list.replaceChildren();
    COLOURS.forEach(function (colour) {
      var li = document.createElement("li");
      var b = document.createElement("span");
      badge(b, colour);
      var n = document.createElement("span");
      n.className = "count";
      n.setAttribute("data-colour", colour);
      n.textContent = String(state.counts[colour] || 0);
      li.append(b, document.createTextNode(" "), n);
      list.append(li);
    });
  }

  function renderQueue() {
    var list = $("queue");
    list.replaceChildren();
    state.items.forEach(function (report) {
      var li = document.createElement("li");
      li.className = "card queue-item";
      li.setAttribute("data-report-id", String(report.id));
      var open = document.createElement("button");
      open.type = "button";
      open.className = "queue-open";
      var b = document.createElement("span");
      badge(b, report.severity);
      var id = document.createElement("span");
      id.className = "queue-id";
      id.textContent = "#" + report.id;
      var st = document.createElement("span");
      st.className = "status-label";
      st.textContent = D.label("status_", report.status);
      var text = document.createElement("span");
      text.className = "card-text";
      text.textContent = String(report.sector_name || "") + " · " + String(report.description || "");
      open.append(b, document.createTextNode(" "), id, document.createTextNode(" "), st,
        document.createElement("br"), text);
      if (report.deadlines && report.deadlines.overdue) {
        var late = document.createElement("span");
        late.className = "badge sev-red";
        late.textContent = t("overdue");
        open.append(document.createTextNode(" "), late);
      }
      open.addEventListener("click", function () { openReport(report.id); });
      li.append(open);
      list.append(li);
    });
    $("queue-empty").hidden = state.items.length > 0;
    // The counts are per colour whatever the colour filter: the total is that colour's then.
    var colour = state.params && state.params.get("severity");
    var total = colour ? (state.counts[colour] || 0)
      : COLOURS.reduce(function (sum, c) { return sum + (state.counts[c] || 0); }, 0);
    $("queue-shown").textContent = state.items.length
      ? t("queue_shown", { shown: state.items.length, total: Math.max(total, state.items.length) }) : "";
    $("queue-more").hidden = !state.nextCursor;
  }

  /** The queue's next page, after the last one shown (the map already has every located one). */
  function loadMore() {
    if (!state.nextCursor) { return; }
    var shown = state.params; // the filters of the page shown, which the next page follows
    var params = new URLSearchParams(shown);
    params.set("cursor", state.nextCursor);
    var asked = state.asked;
    $("queue-more").disabled = true;
    D.api("GET", "/api/v1/inspect/queue?" + params.toString()).then(function (answer) {
      // Another question since, or another page shown by now (a filter changed meanwhile).
      if (asked !== state.asked || shown !== state.params) { return; }
      var seen = {};
      state.items.forEach(function (r) { seen[r.id] = true; });
      state.items = state.items.concat((answer.items || []).filter(function (r) { return !seen[r.id]; }));
      state.nextCursor = answer.next_cursor || null;
      renderQueue();
      renderMap();
    }, function (e) { D.showMessage($("queue-error"), e.message); })
      .finally(function () { $("queue-more").disabled = false; });
  }

  /** The queue's located reports (those listed, so every page loaded) as dots on their own
   * bounding box (equirectangular). The queue's items carry their location: the map no longer
   * asks the GeoJSON list, whose newest 500 of any status left older open reports off it. */
  function renderMap() {
    var box = $("map");
    box.replaceChildren();
    var points = state.items.filter(function (r) {
      return r.location && typeof r.location.lat === "number" && typeof r.location.lon === "number";
    }).map(function (r) {
      return { id: r.id, geometry: { coordinates: [r.location.lon, r.location.lat] },
               properties: { severity: r.severity } };
    });
    $("map-empty").hidden = points.length > 0;
    if (!points.length) { return; }
    var W = 600, H = 400, PAD = 24;
    var lons = points.map(function (f) { return f.geometry.coordinates[0]; });
    var lats = points.map(function (f) { return f.geometry.coordinates[1]; });
    var minLon = Math.min.apply(null, lons), maxLon = Math.max.apply(null, lons);
    var minLat = Math.min.apply(null, lats), maxLat = Math.max.apply(null, lats);
    var midLat = (minLat + maxLat) / 2;
    var kx = Math.cos(midLat * Math.PI / 180);
    var spanX = Math.max((maxLon - minLon) * kx, 0.002), spanY = Math.max(maxLat - minLat, 0.002);
    var scale = Math.min((W - 2 * PAD) / spanX, (H - 2 * PAD) / spanY);
    var cx = (minLon + maxLon) / 2, cy = midLat;
    var svg = document.createElementNS(SVG, "svg");
    svg.setAttribute("viewBox", "0 0 " + W + " " + H);
    svg.setAttribute("role", "img");
    svg.setAttribute("aria-label", t("map_heading"));
    svg.setAttribute("class", "queue-map");
    var frame = document.createElementNS(SVG, "rect");
    frame.setAttribute("x", "0"); frame.setAttribute("y", "0");
    frame.setAttribute("width", String(W)); frame.setAttribute("height", String(H));
    frame.setAttribute("class", "map-frame");
    svg.append(frame);
    points.forEach(function (f) {
      var lon = f.geometry.coordinates[0], lat = f.geometry.coordinates[1];
      var x = W / 2 + (lon - cx) * kx * scale, y = H / 2 - (lat - cy) * scale;
      var severity = f.properties && f.properties.severity;
      var dot = document.createElementNS(SVG, "circle");
      dot.setAttribute("cx", x.toFixed(1));
      dot.setAttribute("cy", y.toFixed(1));
      dot.setAttribute("r", "10");
      dot.setAttribute("fill", FILL[severity] || "#6b7280");
      dot.setAttribute("class", "map-dot");
      dot.setAttribute("data-report-id", String(f.id));
      dot.setAttribute("data-severity", String(severity || ""));
      dot.setAttribute("tabindex", "0");
      var title = document.createElementNS(SVG, "title");
      title.textContent = "#" + f.id + " " + D.label("severity_", severity);
      dot.append(title);
      dot.addEventListener("click", function () { openReport(f.id); });
      dot.addEventListener("keydown", function (e) { if (e.key === "Enter") { openReport(f.id); } });
      svg.append(dot);
    });
    box.append(svg);
  }

  function loadQueue() {
    D.showMessage($("queue-error"), "");
    var params = query();
    var asked = ++state.asked;
    return D.api("GET", "/api/v1/inspect/queue?" + params.toString()).then(function (answer) {
      if (asked !== state.asked) { return; }
      state.params = params; // the filters of the page shown ('load more' and its total follow them)
      state.items = answer.items || [];
      state.nextCursor = answer.next_cursor || null;
      state.counts = answer.counts || {};
      renderCounts();
      renderQueue();
      renderMap();
    }, function (e) { D.showMessage($("queue-error"), e.message); });
  }

  function photoList(list, photos) {
    list.replaceChildren();
    (photos || []).forEach(function (photo, index) {
      if (!D.sameOriginPath(photo.thumbnail_url)) { return; }
      var li = document.createElement("li");
      li.className = "preview";
      var a = document.createElement("a");
      a.href = D.sameOriginPath(photo.url) ? photo.url : photo.thumbnail_url;
      a.target = "_blank";
      a.rel = "noopener";
      var img = document.createElement("img");
      img.src = photo.thumbnail_url;
      img.alt = t("photo_label", { n: index + 1 });
      a.append(img);
      li.append(a);
      list.append(li);
    });
  }

  function textList(list, texts) {
    list.replaceChildren();
    texts.forEach(function (text) {
      var li = document.createElement("li");
      li.textContent = text;
      list.append(li);
    });
  }

  function renderReport(report) {
    var fresh = !state.current || state.current.id !== report.id;
    state.current = report;
    if (fresh) { resetMoves(report); }
    $("p-id").textContent = "#" + report.id;
    badge($("p-severity"), report.severity);
    $("p-status").textContent = D.label("status_", report.status);
    $("p-overdue").hidden = !(report.deadlines && report.deadlines.overdue);
    $("p-sector").textContent = String(report.sector_name || report.sector || "");
    $("p-description").textContent = String(report.description || "");
    var loc = report.location || {};
    $("p-location").textContent = loc.lat === null || loc.lat === undefined ? "—"
      : Number(loc.lat).toFixed(6) + ", " + Number(loc.lon).toFixed(6) +
        (loc.accuracy_m ? " (±" + Math.round(loc.accuracy_m) + " m)" : "") +
        (loc.source ? " · " + loc.source : "");
    $("p-region").textContent = report.region ? String(report.region.name || report.region.code) : "—";
    $("p-submitted").textContent = D.formatTime(report.submitted_at);
    photoList($("p-photos"), report.photos);
    photoList($("p-after-photos"), report.rectification_photos);
    $("p-after").hidden = !(report.rectification_photos || []).length;
    var reasons = (report.triage && report.triage.reasons) || [];
    textList($("p-reasons"), reasons.map(function (r) { return String(r.text || r.code || ""); }));
    if (report.triage && report.triage.override_reason) {
      var li = document.createElement("li");
      li.textContent = String(report.triage.override_reason);
      $("p-reasons").append(li);
    }
    var flags = report.flags || [];
    textList($("p-flags"), flags.map(String));
    $("p-flags-box").hidden = !flags.length;
    $("clear-flags-box").hidden = !flags.length;
    var timeline = $("p-timeline");
    timeline.replaceChildren();
    (report.timeline || []).forEach(function (event) {
      var li = document.createElement("li");
      var time = document.createElement("time");
      time.dateTime = String(event.at || "");
      time.textContent = D.formatTime(event.at);
      var what = document.createElement("span");
      what.className = "timeline-what";
      what.textContent = event.to_status && event.from_status !== event.to_status
        ? D.label("status_", event.to_status) : D.label("action_", event.action);
      li.append(time, document.createTextNode(" "), what);
      if (event.actor) {
        li.append(document.createTextNode(" · " + String(event.actor)));
      }
      if (event.reason) { // the inspector's word on a fix sent back, a unit's on "not ours"
        var why = document.createElement("span");
        why.className = "timeline-reason";
        why.textContent = " — " + t("timeline_reason", { reason: String(event.reason) });
        li.append(why);
      }
      timeline.append(li);
    });
    var outcome = report.outcome || {};
    $("p-outcome").hidden = !outcome.hazard_confirmed;
    if (outcome.hazard_confirmed) {
      $("p-outcome").textContent = t("outcome_saved", {
        h: t("hazard_" + outcome.hazard_confirmed),
        p: outcome.accident_prevented ? t("outcome_prevented") : ""
      });
    }
    var held = ["forwarded", "acknowledged", "rectifying", "rectified"].indexOf(report.status) >= 0;
    $("unit-link-box").hidden = !held;
    if (!state.unitLink || state.unitLink.reportId !== report.id || !held) { state.unitLink = null; }
    renderUnitLink();
    // Inspectors propose a verified hazard's reporter for a commendation; the committee grants.
    $("propose-form").hidden = report.status !== "verified";
    renderMoves(report);
    $("panel").hidden = false;
  }

  /** The moves the report's status allows, and what they show of it: its unit, its merge. */
  function renderMoves(report) {
    $("act-triage").hidden = !allows("triage", report.status);
    $("act-verify").hidden = !allows("verify", report.status);
    $("reject-box").hidden = !allows("reject", report.status);
    $("outcome-form").hidden = !allows("outcome", report.status);
    $("forward-box").hidden = !allows("forward", report.status);
    $("merge-form").hidden = !allows("merge", report.status);
    $("reopen-box").hidden = !allows("reopen", report.status);
    $("retriage-box").hidden = !allows("retriage", report.status);
    $("severity-box").hidden = false;
    if (!$("forward-box").hidden || report.unit_id) { loadUnits(); }
    if (!$("forward-box").hidden) { loadRoute(report); }
    renderUnitOptions();
    renderUnitName();
    var into = report.duplicate_of_id;
    $("p-merged").hidden = !into;
    $("p-merged-open").textContent = into ? t("merged_into", { id: into }) : "";
    renderMergeQuestion();
  }

  /** A new report on the panel: nothing typed or chosen for the last one carries over. */
  function resetMoves(report) {
    ["reopen-reason", "retriage-reason", "severity-reason", "merge-into", "forward-unit-filter",
     "reject-reason", "clear-flags-reason", "o-account"].forEach(function (id) { $(id).value = ""; });
    $("o-hazard").value = "general";
    $("o-prevented").checked = false;
    $("forward-unit").value = "";
    $("severity-new").value = report.severity || "red";
    state.mergeInto = null;
  }

  function unitName(unit) {
    return window.HazardI18n.lang() === "en" && unit.name_en ? unit.name_en : unit.name_zh;
  }

  /** Where "automatic" would send the report open (GET …/route), asked once for each report
   * shown with the forward box: the option then names the unit. */
  function loadRoute(report) {
    if (state.route && state.route.reportId === report.id) { return; }
    state.route = { reportId: report.id, answer: null };
    var asked = state.route;
    D.api("GET", "/api/v1/reports/" + report.id + "/route").then(function (answer) {
      asked.answer = answer;
      if (state.route === asked) { renderUnitOptions(); }
    }, function () { if (state.route === asked) { state.route = null; } }); // said as before
  }

  /** The "automatic" option's words: the unit routing picks, where known. */
  function automaticLabel() {
    var route = state.route;
    var current = state.current;
    if (!route || !route.answer || !current || route.reportId !== current.id) {
      return t("forward_automatic");
    }
    var id = route.answer.unit_id;
    if (id === null || id === undefined) { return t("forward_automatic_none"); }
    var unit = (state.units || []).filter(function (u) { return u.id === id; })[0];
    var name = unit ? unitName(unit) : String(route.answer.unit_name || "#" + id);
    if (id === current.unit_id) { name = t("unit_current", { name: name }); }
    return t("forward_automatic_to", { name: name });
  }

  /** The units, asked once (GET /api/v1/units answers them all, by id): the forward box lists
   * them and the panel names the report's. Asked again only after a failure. */
  function loadUnits() {
    if (state.units || state.unitsAsked) { return; }
    state.unitsAsked = true;
    D.showMessage($("forward-unit-hint"), "");
    D.api("GET", "/api/v1/units").then(function (units) {
      state.units = Array.isArray(units) ? units : [];
      renderUnitOptions();
      renderUnitName();
    }, function (e) {
      state.unitsAsked = false; // the next report shown asks again
      D.showMessage($("forward-unit-hint"), t("units_failed", { message: e.message }));
    });
  }

  function renderUnitName() {
    var report = state.current;
    var id = report && report.unit_id;
    var unit = id && (state.units || []).filter(function (u) { return u.id === id; })[0];
    $("p-unit").textContent = !id ? "—" : unit ? unitName(unit) : "#" + id;
  }

  /** The units to forward to, narrowed to those whose name or slug holds the words typed; when
   * the words leave out the unit chosen, the first one they match is chosen. "Automatic" (the
   * API routes by sector and region) is always first, and the default. */
  function renderUnitOptions() {
    var select = $("forward-unit");
    var chosen = select.value;
    var words = $("forward-unit-filter").value.trim().toLowerCase();
    var holder = state.current && state.current.unit_id;
    var automatic = document.createElement("option");
    automatic.value = "";
    automatic.textContent = automaticLabel();
    var options = [automatic];
    (state.units || []).forEach(function (unit) {
      var text = [unit.name_zh, unit.name_en, unit.slug].join(" ").toLowerCase();
      if (words && text.indexOf(words) < 0) { return; }
      var option = document.createElement("option");
      option.value = String(unit.id);
      option.textContent = unit.id === holder ? t("unit_current", { name: unitName(unit) })
        : unitName(unit);
      option.disabled = unit.id === holder; // forwarding to it again is refused
      options.push(option);
    });
    select.replaceChildren.apply(select, options);
    var open = options.filter(function (o) { return !o.disabled; });
    var kept = open.some(function (o) { return o.value === chosen; });
    select.value = kept && !(words && chosen === "") ? chosen
      : (words && open.length > 1 ? open[1].value : "");
    // Words that match no unit do not mean "route it automatically": forwarding waits.
    var none = Boolean(words) && open.length === 1;
    if (!state.units) { // not loaded (its failure is said in the hint): only "automatic" stands
      $("act-forward").disabled = Boolean(state.moving) || Boolean(words);
      return;
    }
    $("act-forward").disabled = Boolean(state.moving) || none;
    var hint = none ? t("units_none") : words ? t("units_matching", { n: open.length - 1 }) : "";
    D.showMessage($("forward-unit-hint"), hint);
  }

  /** The merge asked for, to confirm: only while the number typed is still the one asked. */
  function renderMergeQuestion() {
    var ask = state.mergeInto;
    var shown = Boolean(ask && state.current && ask.reportId === state.current.id &&
      !$("merge-form").hidden);
    $("merge-confirm").hidden = !shown;
    $("merge-question").textContent = shown
      ? t("merge_question", { id: ask.reportId, into: ask.into }) : "";
  }

  /** The unit's link, asked for: shown to copy and pass on (a unit without a channel). */
  function renderUnitLink() {
    var link = state.unitLink;
    $("unit-link").hidden = $("unit-link-label").hidden = $("unit-link-hint").hidden = !link;
    $("unit-link").value = link ? link.unit_link : "";
    $("unit-link-hint").textContent = link
      ? t("unit_link_hint", { unit: link.unit_name, days: link.valid_days }) : "";
  }

  function getUnitLink() {
    if (!state.current) { return; }
    var id = state.current.id;
    D.showMessage($("action-error"), "");
    D.api("GET", "/api/v1/reports/" + id + "/unit-link").then(function (answer) {
      if (!state.current || state.current.id !== id) { return; }
      state.unitLink = { reportId: id, unit_link: answer.unit_link, unit_name: answer.unit_name,
                         valid_days: answer.valid_days };
      renderUnitLink();
      $("unit-link").select();
    }, function (e) { D.showMessage($("action-error"), e.message); });
  }

  function renderDuplicates(candidates) {
    var list = $("p-duplicates");
    list.replaceChildren();
    candidates.forEach(function (c) {
      var li = document.createElement("li");
      li.className = "card duplicate";
      li.setAttribute("data-report-id", String(c.id));
      if (D.sameOriginPath(c.thumbnail_url)) {
        var img = document.createElement("img");
        img.src = c.thumbnail_url;
        img.alt = "#" + c.id;
        img.className = "dup-thumb";
        li.append(img);
      }
      var b = document.createElement("span");
      badge(b, c.severity);
      var text = document.createElement("button");
      text.type = "button";
      text.className = "link-button";
      text.textContent = "#" + c.id + " · " + D.label("status_", c.status) + " · " +
        t("distance_m", { m: Math.round(Number(c.distance_m) || 0) });
      text.addEventListener("click", function () { openReport(c.id); });
      li.append(b, document.createTextNode(" "), text);
      list.append(li);
    });
    $("p-duplicates-none").hidden = candidates.length > 0;
  }

  function openReport(id) {
    D.showMessage($("action-error"), "");
    D.showMessage($("action-done"), "");
    D.showMessage($("propose-msg"), "");
    $("c-reason").value = ""; // a reason typed for another report
    return D.api("GET", "/api/v1/reports/" + encodeURIComponent(id)).then(function (report) {
      renderReport(report);
      $("panel").scrollIntoView({ block: "start" });
      return D.api("GET", "/api/v1/reports/" + encodeURIComponent(id) + "/duplicates")
        .then(renderDuplicates, function () { renderDuplicates([]); });
    }, function (e) { D.showMessage($("queue-error"), e.message); });
  }

  // The panel's moves, which wait while one is in flight: a double click had sent a colour
  // change (and the unit's message about it) twice.
  var MOVE_CONTROLS = ["act-triage", "act-verify", "act-forward", "act-reopen", "act-retriage",
    "act-severity", "act-merge", "merge-yes", "act-reject", "act-clear-flags", "act-outcome"];

  function moving(on) {
    state.moving = on;
    MOVE_CONTROLS.forEach(function (id) { $(id).disabled = on; });
    if (!on) { renderUnitOptions(); } // forwarding has a rule of its own
  }

  /** After a move, focus the report's status if the control used went with the status it
   * served (focus would otherwise fall to the page's start). */
  function keepFocus() {
    var active = document.activeElement;
    if (!active || active === document.body || active.offsetParent === null || active.disabled) {
      $("p-status").focus({ preventScroll: true });
    }
  }

  /** The report open, read again after a move was refused because it had moved on (another
   * inspector, or its unit): the panel then offers what it allows now. */
  function reread(id) {
    D.api("GET", "/api/v1/reports/" + encodeURIComponent(id)).then(function (report) {
      if (state.current && state.current.id === id) { renderReport(report); }
    }, function () { return null; });
  }

  /** Send a move for the report open; its answer is drawn (and ``done`` or ``failed`` run) only
   * if that report is still the one open. */
  function act(action, body, done, failed) {
    if (!state.current || state.moving) { return; }
    D.showMessage($("action-error"), "");
    D.showMessage($("action-done"), "");
    var id = state.current.id;
    var here = function () { return state.current && state.current.id === id; };
    moving(true);
    D.api("POST", "/api/v1/reports/" + id + "/" + action, body || {}).then(function (report) {
      moving(false);
      loadQueue();
      if (!here()) { return; } // another report was opened meanwhile: leave it on screen
      renderReport(report);
      if (done) { done(report); }
      D.showMessage($("action-done"), t("done"));
      keepFocus();
    }, function (e) {
      moving(false);
      if (!here()) { return; }
      D.showMessage($("action-error"), e.message);
      if (e.status === 409) { reread(id); }
      if (failed) { failed(e); }
    });
  }

  /** A move that needs a reason: the reason typed is kept until the move is done (a refusal
   * leaves it there to send again). */
  function withKeptReason(input, action, extra) {
    var reason = $(input).value.trim();
    if (!reason) {
      D.showMessage($("action-done"), "");
      D.showMessage($("action-error"), t("reason_missing"));
      return;
    }
    act(action, Object.assign({ reason: reason }, extra || {}), function () { $(input).value = ""; });
  }

  $("filters").addEventListener("submit", function (e) { e.preventDefault(); loadQueue(); });
  $("queue-more").addEventListener("click", loadMore);
  ["f-severity", "f-status", "f-overdue"].forEach(function (id) {
    $(id).addEventListener("change", loadQueue);
  });
  $("act-triage").addEventListener("click", function () { act("triage"); });
  $("act-forward").addEventListener("click", function () {
    var unit = $("forward-unit").value;
    act("forward", unit ? { unit_id: Number(unit) } : {}, function () {
      $("forward-unit-filter").value = "";
      $("forward-unit").value = "";
      renderUnitOptions();
    });
  });
  $("forward-unit-filter").addEventListener("input", renderUnitOptions);
  $("act-reopen").addEventListener("click", function () { withKeptReason("reopen-reason", "reopen"); });
  $("act-retriage").addEventListener("click", function () {
    withKeptReason("retriage-reason", "retriage");
  });
  $("act-severity").addEventListener("click", function () {
    var severity = $("severity-new").value;
    if (state.current && severity === state.current.severity) { // it would only pin the colour
      D.showMessage($("action-done"), "");
      D.showMessage($("action-error"), t("severity_unchanged"));
      return;
    }
    withKeptReason("severity-reason", "severity", { severity: severity });
  });
  $("merge-form").addEventListener("submit", function (e) {
    e.preventDefault();
    if (!state.current) { return; }
    D.showMessage($("action-error"), "");
    D.showMessage($("action-done"), "");
    var into = Number($("merge-into").value);
    var invalid = !Number.isInteger(into) || into < 1 ? "open_id_invalid"
      : into === state.current.id ? "merge_self" : null;
    if (invalid) {
      state.mergeInto = null;
      renderMergeQuestion();
      D.showMessage($("action-error"), t(invalid));
      return;
    }
    state.mergeInto = { reportId: state.current.id, into: into };
    renderMergeQuestion();
    $("merge-yes").focus();
  });
  $("merge-into").addEventListener("input", function () { // a new number is asked anew
    state.mergeInto = null;
    renderMergeQuestion();
  });
  $("merge-yes").addEventListener("click", function () {
    var ask = state.mergeInto;
    state.mergeInto = null;
    renderMergeQuestion();
    if (!ask || !state.current || ask.reportId !== state.current.id) { return; }
    act("merge", { into_id: ask.into }, function () { $("merge-into").value = ""; },
        function () { $("merge-into").focus(); });
  });
  $("merge-no").addEventListener("click", function () {
    state.mergeInto = null;
    renderMergeQuestion();
    $("merge-into").focus();
  });
  $("p-merged-open").addEventListener("click", function () {
    if (state.current && state.current.duplicate_of_id) { openReport(state.current.duplicate_of_id); }
  });
  $("act-verify").addEventListener("click", function () { act("verify"); });
  $("act-unit-link").addEventListener("click", getUnitLink);
  $("act-reject").addEventListener("click", function () {
    withKeptReason("reject-reason", "reject");
  });
  $("act-clear-flags").addEventListener("click", function () {
    withKeptReason("clear-flags-reason", "clear-flags");
  });
  $("outcome-form").addEventListener("submit", function (e) {
    e.preventDefault();
    var body = { hazard_confirmed: $("o-hazard").value, accident_prevented: $("o-prevented").checked };
    var account = $("o-account").value.trim();
    if (account) { body.account = account; }
    act("outcome", body);
  });
  /** The proposal's outcome, said beside its button, for the report it was made for. */
  $("propose-form").addEventListener("submit", function (e) {
    e.preventDefault();
    if (!state.current) { return; }
    var id = state.current.id;
    var here = function () { return state.current && state.current.id === id; };
    D.showMessage($("propose-msg"), "");
    var reason = $("c-reason").value.trim();
    if (!reason) { D.showMessage($("propose-msg"), t("reason_missing")); return; }
    var body = { report_ids: [id], level: $("c-level").value, reason: reason };
    $("act-propose").disabled = true;
    D.api("POST", "/api/v1/commendations", body).then(function (commendation) {
      $("act-propose").disabled = false;
      if (!here()) { return; }
      $("c-reason").value = "";
      D.showMessage($("propose-msg"), t("proposed_done", { id: commendation.id }));
    }, function (e) {
      $("act-propose").disabled = false;
      if (here()) { D.showMessage($("propose-msg"), e.message); }
    });
  });
  $("open-by-id").addEventListener("submit", function (e) {
    e.preventDefault();
    var id = Number($("open-id").value);
    if (!Number.isInteger(id) || id < 1) { D.showMessage($("queue-error"), t("open_id_invalid")); return; }
    D.showMessage($("queue-error"), "");
    openReport(id);
  });
  $("panel-close").addEventListener("click", function () { $("panel").hidden = true; });
  D.onChange(function () {
    if (state.items.length) { renderCounts(); renderQueue(); renderMap(); }
    if (state.current && !$("panel").hidden) { renderReport(state.current); }
  });

  D.signIn(function () { loadQueue(); });
})();
