/* A unit's page for its signed link, opened as /unit#<token>: the report as the unit sees it
 * (nothing about the reporter), acknowledge, start the work, report the rectification with
 * after-photos, or send the report back to the inspector as not the unit's ("not ours").
 * The token stays in the fragment and travels only in the API path; no cookie is sent. */
(function () {
  "use strict";

  var D = window.HazardDesk;
  var t = D.t;
  var $ = function (id) { return document.getElementById(id); };
  var current = null;

  function token() {
    var raw = window.location.hash.replace(/^#/, "").trim();
    try { raw = decodeURIComponent(raw); } catch (e) { /* keep as typed */ }
    return /^[A-Za-z0-9._~:-]{10,2000}$/.test(raw) ? raw : "";
  }

  function base() { return "/api/v1/unit/" + encodeURIComponent(token()); }

  // The moves a unit may make, by status (reports/workflow.py): "not ours" only before the work
  // starts, "start the work" only once signed for.
  var DECLINABLE = ["forwarded", "acknowledged"];

  function photoList(list, photos) {
    list.replaceChildren();
    (photos || []).forEach(function (photo, index) {
      if (!D.sameOriginPath(photo.thumbnail_url)) { return; }
      var li = document.createElement("li");
      li.className = "preview";
      var img = document.createElement("img");
      img.src = photo.thumbnail_url;
      img.alt = t("photo_label", { n: index + 1 });
      li.append(img);
      list.append(li);
    });
  }

  function render(report) {
    current = report;
    $("u-id").textContent = String(report.id);
    var severity = /^(red|orange|yellow|blue)$/.test(report.severity) ? report.severity : "none";
    $("u-severity").className = "badge sev-" + severity;
    $("u-severity").textContent = D.label("severity_", report.severity);
    // The unit's page sees "triaged" only in the answer to its own "not ours": the link stops
    // working as the report leaves the unit.
    var declined = report.status === "triaged";
    $("u-status").textContent = declined ? t("unit_declined_status")
      : D.label("status_", report.status);
    $("u-sector").textContent = String(report.sector_name || report.sector || "");
    $("u-description").textContent = String(report.description || "");
    var loc = report.location || {};
    $("u-location").textContent = loc.lat === null || loc.lat === undefined ? "—"
      : Number(loc.lat).toFixed(6) + ", " + Number(loc.lon).toFixed(6);
    $("u-submitted").textContent = D.formatTime(report.submitted_at);
    var deadlines = report.deadlines || {};
    $("u-ack-due").textContent = D.formatTime(deadlines.acknowledge_due_at) || "—";
    $("u-fix-due").textContent = D.formatTime(deadlines.rectify_due_at) || "—";
    photoList($("u-photos"), report.photos);
    photoList($("u-after-photos"), report.rectification_photos);
    $("u-after").hidden = !(report.rectification_photos || []).length;
    var list = $("u-timeline");
    list.replaceChildren();
    (report.timeline || []).forEach(function (event) {
      var li = document.createElement("li");
      var time = document.createElement("time");
      time.dateTime = String(event.at || "");
      time.textContent = D.formatTime(event.at);
      var what = document.createElement("span");
      what.className = "timeline-what";
      what.textContent = isDecline(event) ? t("timeline_declined")
        : event.to_status && event.from_status !== event.to_status
          ? D.label("status_", event.to_status) : D.label("action_", event.action);
      li.append(time, document.createTextNode(" "), what);
      if (event.reason) { // the inspector's word on a fix sent back, a unit's on "not ours"
        var why = document.createElement("span");
        why.className = "timeline-reason";
        why.textContent = " — " + t("timeline_reason", { reason: String(event.reason) });
        li.append(why);
      }
      list.append(li);
    });
    $("act-acknowledge").hidden = report.status !== "forwarded";
    $("act-rectifying").hidden = report.status !== "acknowledged";
    $("rectify-form").hidden = ["forwarded", "acknowledged", "rectifying"].indexOf(report.status) < 0;
    var mayDecline = DECLINABLE.indexOf(report.status) >= 0;
    $("decline-section").hidden = !mayDecline;
    if (!mayDecline) { openDecline(false); }
    $("unit-declined").hidden = !declined;
    $("unit-report").hidden = false;
  }

  /** A unit's "not ours": from a status a unit holds back to "triaged". */
  function isDecline(event) {
    return event.to_status === "triaged" && DECLINABLE.indexOf(event.from_status) >= 0;
  }

  /** Open or close the "not ours" form; closed, it forgets the reason typed. */
  function openDecline(open) {
    $("decline-form").hidden = !open;
    $("act-decline").setAttribute("aria-expanded", open ? "true" : "false");
    D.showMessage($("decline-error"), "");
    if (!open) { $("decline-reason").value = ""; }
  }

  function load() {
    D.showMessage($("unit-error"), "");
    openDecline(false);
    if (!token()) { $("unit-report").hidden = true; D.showMessage($("unit-error"), t("unit_no_token")); return; }
    D.api("GET", base(), null, { anonymous: true }).then(render, function (e) {
      $("unit-report").hidden = true;
      D.showMessage($("unit-error"), e.status === 404 ? t("unit_not_found") : e.message);
    });
  }

  function done(report) {
    render(report);
    D.showMessage($("action-done"), t("done"));
  }

  function failed(e) { D.showMessage($("action-error"), e.message); }

  /** The report as it stands now, after a move refused because it had moved on (another clerk
   * with the same link, or the inspector): the page then offers only what it allows. */
  function refused(e) {
    if (e && e.status === 409) {
      D.api("GET", base(), null, { anonymous: true }).then(render, function () { return null; });
    }
  }

  /** A one-tap move: its button waits for the answer (a double tap had sent it twice, and
   * shown "saved" beside the refusal of the second). */
  function step(button, path) {
    $(button).addEventListener("click", function () {
      if ($(button).disabled) { return; }
      D.showMessage($("action-error"), "");
      D.showMessage($("action-done"), "");
      $(button).disabled = true;
      D.api("POST", base() + path, {}, { anonymous: true }).then(done, function (e) {
        failed(e);
        refused(e);
      }).then(function () { $(button).disabled = false; });
    });
  }

  step("act-acknowledge", "/acknowledge");
  step("act-rectifying", "/rectifying");

  // "Not ours" takes two taps and a reason: the first only opens the form, which says what
  // follows; a report sent back leaves the unit, and its link stops working.
  $("act-decline").addEventListener("click", function () {
    var open = $("decline-form").hidden;
    openDecline(open);
    if (open) { $("decline-reason").focus(); }
  });

  $("decline-cancel").addEventListener("click", function () {
    openDecline(false);
    $("act-decline").focus();
  });

  $("decline-form").addEventListener("submit", function (event) {
    event.preventDefault();
    D.showMessage($("action-error"), "");
    D.showMessage($("action-done"), "");
    D.showMessage($("decline-error"), "");
    var reason = $("decline-reason").value.trim();
    if (!reason) {
      D.showMessage($("decline-error"), t("reason_missing"));
      $("decline-reason").focus();
      return;
    }
    $("decline-confirm").disabled = true;
    D.api("POST", base() + "/decline", { reason: reason }, { anonymous: true }).then(function (r) {
      openDecline(false);
      render(r);
      $("unit-declined").focus(); // said, and where the gone buttons were
    }, function (e) {
      if (e.status !== 409) { // shown by the form the clerk is looking at, to send again
        D.showMessage($("decline-error"), e.message);
        return;
      }
      // The report moved on (another clerk started the work): the form goes with the status
      // that allowed it, and the refusal is said where the page's answers are.
      failed(e);
      refused(e);
      $("action-error").scrollIntoView({ block: "center" });
    }).then(function () { $("decline-confirm").disabled = false; });
  });

  $("rectify-form").addEventListener("submit", function (event) {
    event.preventDefault();
    D.showMessage($("action-error"), "");
    D.showMessage($("action-done"), "");
    var note = $("rectify-note").value.trim();
    var files = $("rectify-photos").files;
    if (!note || !files || !files.length) { failed({ message: t("rectify_missing") }); return; }
    // Said, not cut: the photos past the sixth had been left out without a word.
    if (files.length > 6) { failed({ message: t("rectify_too_many", { n: files.length }) }); return; }
    var form = new FormData();
    form.append("note", note);
    Array.prototype.forEach.call(files, function (file) {
      form.append("photos", file, file.name);
    });
    $("act-rectify").disabled = true;
    // A unit that has fixed the hazard has taken it: a report not yet signed for is signed for
    // first (rectification follows acknowledging; sent alone it was refused, photos and all).
    var signed = current && current.status === "forwarded"
      ? D.api("POST", base() + "/acknowledge", {}, { anonymous: true }).then(render)
      : Promise.resolve(null); // drawn at once: a fix refused after it need not sign again
    signed.then(function () {
      return D.api("POST", base() + "/rectification", form, { anonymous: true });
    }).then(function (report) {
      $("rectify-note").value = "";
      $("rectify-photos").value = "";
      done(report);
    }, failed).then(function () { $("act-rectify").disabled = false; });
  });

  window.addEventListener("hashchange", load);
  D.onChange(function () { if (current) { render(current); } });
  load();
})();
