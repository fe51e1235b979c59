/* The award committee's page: the ranked list for a period and region, a page of reporters at a
 * time ("load more" follows the answer's next_cursor), and links to its exports of the whole list
 * (same-origin GETs, so the sign-in cookie goes with them). */
(function () {
  "use strict";

  var D = window.HazardDesk;
  var $ = function (id) { return document.getElementById(id); };
  var rows = null;
  var total = 0;
  var nextCursor = null;
  var asked = 0;  // answers to an earlier question (other filters) are dropped
  var regionsLoaded = false;

  function params() {
    var p = new URLSearchParams();
    p.set("period", $("a-period").value || "year");
    if ($("a-region").value) { p.set("region", $("a-region").value); }
    return p;
  }

  function cell(tr, text) {
    var td = document.createElement("td");
    td.textContent = String(text === null || text === undefined ? "" : text);
    tr.append(td);
  }

  function render() {
    var body = $("awards-body");
    body.replaceChildren();
    (rows || []).forEach(function (row) {
      var tr = document.createElement("tr");
      tr.className = "award-row";
      cell(tr, row.rank);
      cell(tr, row.reporter);
      cell(tr, row.region);
      cell(tr, row.points);
      cell(tr, (row.report_ids || []).map(function (id) { return "#" + id; }).join(", "));
      cell(tr, (row.reasons || []).join("；"));
      body.append(tr);
    });
    $("awards-empty").hidden = Boolean(rows && rows.length);
    $("awards-shown").textContent = rows && rows.length
      ? D.t("awards_shown", { total: total, shown: rows.length }) : "";
    $("awards-more").hidden = !nextCursor;
  }

  function fetchPage(cursor) {
    var p = params();
    var question = asked;
    if (cursor) { p.set("cursor", cursor); }
    $("awards-more").disabled = true;
    D.api("GET", "/api/v1/awards?" + p.toString()).then(function (answer) {
      if (question !== asked) { return; }
      rows = (cursor ? rows : []).concat(answer.items || []);
      total = answer.total;
      nextCursor = answer.next_cursor || null;
      $("a-range").textContent = D.t("period_range", { start: answer.start, end: answer.end });
      $("awards-more").disabled = false;
      render();
    }, function (e) {
      $("awards-more").disabled = false;
      D.showMessage($("awards-error"), e.message);
    });
  }

  function load() {
    var p = params();
    ["csv", "xlsx", "pdf"].forEach(function (fmt) {
      $("export-" + fmt).href = "/api/v1/awards/export." + fmt + "?" + p.toString();
    });
    D.showMessage($("awards-error"), "");
    asked += 1;
    nextCursor = null;
    fetchPage(null);
  }

  function loadRegions() {
    if (regionsLoaded) { return; }
    D.api("GET", "/api/v1/regions").then(function (regions) {
      regionsLoaded = true;
      var select = $("a-region");
      (regions || []).forEach(function (region) {
        var option = document.createElement("option");
        option.value = String(region.code);
        option.textContent = String(region.name || region.name_zh || region.code);
        select.append(option);
      });
    }, function () { /* the list still works without the region filter */ });
  }

  $("award-filters").addEventListener("submit", function (e) { e.preventDefault(); load(); });
  $("a-period").addEventListener("change", load);
  $("a-region").addEventListener("change", load);
  $("awards-more").addEventListener("click", function () {
    D.showMessage($("awards-error"), "");
    if (nextCursor) { fetchPage(nextCursor); }
  });
  D.onChange(function () { if (rows) { render(); } });
  D.signIn(function () { loadRegions(); load(); });
})();
