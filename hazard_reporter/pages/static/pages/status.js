/* The follow-up page: a report's status, colour and timeline, read with its follow-up token.
 *
 * The id and token come from the URL fragment (#id=…&token=…, never sent to the server) or are
 * typed; the token travels only in the X-Followup-Token header. Everything is set as text.
 */
(function () {
  "use strict";

  var I = window.HazardI18n;
  var t = I.t;
  var $ = function (id) { return document.getElementById(id); };
  var current = null; // {id, token} of the report on screen

  function fromFragment() {
    var params = new URLSearchParams(window.location.hash.replace(/^#/, ""));
    return { id: (params.get("id") || "").trim(), token: (params.get("token") || "").trim() };
  }

  function showError(message) {
    var box = $("lookup-error");
    box.textContent = message;
    box.hidden = !message;
  }

  function label(prefix, value) {
    return I.has(prefix + value) ? t(prefix + value) : String(value || "");
  }

  var formatTime = I.formatTime;

  function sameOriginPath(url) {
    return typeof url === "string" && url.charAt(0) === "/" && url.charAt(1) !== "/";
  }

  function renderAdvice(advice) {
    var box = $("advice");
    if (!advice) { box.hidden = true; return; }
    $("advice-title").textContent = String(advice.title || "");
    $("advice-text").textContent = String(advice.text || "");
    box.hidden = false;
  }

  function render(report) {
    renderAdvice(report.advice);
    $("r-id").textContent = String(report.id);
    var badge = $("r-severity");
    var severity = /^(red|orange|yellow|blue)$/.test(report.severity) ? report.severity : "none";
    badge.className = "badge sev-" + severity;
    badge.textContent = label("severity_", report.severity);
    $("r-status").textContent = label("status_", report.status);
    $("r-sector").textContent = String(report.sector_name || report.sector || "");
    $("r-description").textContent = String(report.description || "");
    $("r-submitted").textContent = formatTime(report.submitted_at);

    var photos = $("r-photos");
    photos.replaceChildren();
    (report.photos || []).forEach(function (photo, index) {
      if (!sameOriginPath(photo.thumbnail_url)) { return; }
      var li = document.createElement("li");
      li.className = "preview";
      var img = document.createElement("img");
      img.src = photo.thumbnail_url;
      img.alt = t("photo_label", { n: index + 1 });
      li.append(img);
      photos.append(li);
    });

    var list = $("timeline");
    list.replaceChildren();
    (report.timeline || []).forEach(function (event) {
      var li = document.createElement("li");
      var time = document.createElement("time");
      time.dateTime = String(event.at || "");
      time.textContent = formatTime(event.at);
      var what = document.createElement("span");
      what.className = "timeline-what";
      what.textContent = event.to_status && event.from_status !== event.to_status
        ? label("status_", event.to_status)
        : label("action_", event.action);
      li.append(time, document.createTextNode(" "), what);
      list.append(li);
    });
    $("result").hidden = false;
  }

  function lookup(id, token) {
    showError("");
    if (!/^[0-9]{1,10}$/.test(id) || !token) { showError(t("lookup_missing")); return; }
    current = { id: id, token: token };
    return fetch("/api/v1/reports/" + encodeURIComponent(id), {
      headers: { "X-Followup-Token": token, "Accept": "application/json",
                 "Accept-Language": I.acceptLanguage() },
      credentials: "omit",
      cache: "no-store"
    }).then(function (response) {
      return response.json().catch(function () { return null; }).then(function (body) {
        if (response.ok && body) { render(body); return; }
        $("result").hidden = true;
        renderAdvice(null);
        if (response.status === 404 || response.status === 401 || response.status === 403) {
          showError(t("lookup_not_found"));
        } else {
          showError(body && body.error && body.error.message ? String(body.error.message)
            : "HTTP " + response.status);
        }
      });
    }, function () {
      showError(t("network_error"));
    });
  }

  function start() {
    var initial = fromFragment();
    $("report-id").value = initial.id;
    $("token").value = initial.token;
    $("lookup-form").addEventListener("submit", function (event) {
      event.preventDefault();
      var id = $("report-id").value.trim();
      var token = $("token").value.trim();
      // Keep the pair in the fragment so the page can be bookmarked; it never reaches a server.
      window.history.replaceState(null, "", "#id=" + encodeURIComponent(id) +
        "&token=" + encodeURIComponent(token));
      lookup(id, token);
    });
    window.addEventListener("hashchange", function () {
      var next = fromFragment();
      $("report-id").value = next.id;
      $("token").value = next.token;
      if (next.id && next.token) { lookup(next.id, next.token); }
    });
    I.onChange(function () { if (current) { lookup(current.id, current.token); } });
    if (initial.id && initial.token) { lookup(initial.id, initial.token); }
  }

  start();
})();
