/* The award committee's page: the ranked list for a period, region and campaign, a page of
 * reporters at a time ("load more" follows the answer's next_cursor), links to its exports of the
 * whole list and its certificates (same-origin GETs, so the sign-in cookie goes with them), a
 * commendation granted from a row, and the inspectors' proposals waiting to be granted. */
(function () {
  "use strict";

  var D = window.HazardDesk;
  var $ = function (id) { return document.getElementById(id); };
  var rows = null;
  var total = 0;
  var nextCursor = null;
  var asked = 0;  // answers to an earlier question (other filters) are dropped
  var regionsLoaded = false;
  var campaignsLoaded = false;
  var commending = null; // the row the commendation form is for
  var commendButton = null; // and the button that opened it
  // The list names a granted level in Chinese (as its exports print it): its key, to translate.
  var LEVEL_BY_LABEL = { "及时表扬": "timely_praise", "优先推荐": "priority", "特别贡献": "special" };

  function params() {
    var p = new URLSearchParams();
    var campaign = $("a-campaign").value;
    // A campaign lists its own dates (any year); a period as well would clip them to it.
    $("a-period").disabled = Boolean(campaign);
    if (campaign) { p.set("campaign", campaign); }
    else { p.set("period", $("a-period").value || "year"); }
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
      var level = row.level && LEVEL_BY_LABEL[row.level];
      cell(tr, level ? D.t("level_" + level) : row.level || "");
      var action = document.createElement("td");
      var button = document.createElement("button");
      button.type = "button";
      button.className = "secondary small";
      button.textContent = D.t("act_commend");
      button.setAttribute("aria-label", D.t("act_commend") + " " + row.reporter);
      button.addEventListener("click", function () { openCommend(row, button); });
      action.append(button);
      tr.append(action);
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
    $("export-certificates").href = "/api/v1/awards/certificates.pdf?" + p.toString();
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

  function loadCampaigns() {
    if (campaignsLoaded) { return; }
    D.api("GET", "/api/v1/campaigns").then(function (campaigns) {
      campaignsLoaded = true;
      var select = $("a-campaign");
      (campaigns || []).forEach(function (campaign) {
        var option = document.createElement("option");
        option.value = String(campaign.id);
        option.textContent = String(campaign.name) + "（" + campaign.starts_on + " – " +
          campaign.ends_on + "）";
        select.append(option);
      });
    }, function () { /* the list still works without the campaign filter */ });
  }

  function reportList(ids) {
    return (ids || []).map(function (id) { return "#" + id; }).join(", ");
  }

  function whoText() {
    if (commending) {
      $("commend-who").textContent = D.t("commend_who", {
        reporter: commending.reporter, reports: reportList(commending.report_ids) });
    }
  }

  var notice = null; // what was last done, said again in the language chosen since

  function tell(say) {
    notice = say;
    $("commend-done").textContent = say();
  }

  /** A box per hazard of the row, all ticked: one commended at this level already is left out. */
  function hazardBoxes(row) {
    var box = $("commend-reports");
    box.replaceChildren();
    (row.report_ids || []).forEach(function (id) {
      var label = document.createElement("label");
      label.className = "check";
      var input = document.createElement("input");
      input.type = "checkbox";
      input.value = String(id);
      input.checked = true;
      label.append(input, " #" + id);
      box.append(label);
    });
  }

  function chosenHazards() {
    return Array.prototype.filter.call($("commend-reports").querySelectorAll("input"),
      function (input) { return input.checked; }).map(function (input) { return Number(input.value); });
  }

  function openCommend(row, button) {
    commending = row;
    commendButton = button;
    whoText();
    hazardBoxes(row);
    $("commend-level").selectedIndex = 0;
    $("commend-reason").value = "";
    D.showMessage($("commend-error"), "");
    $("commend-form").hidden = false;
    $("commend-level").focus();
  }

  /** Close the form; focus goes back to the row's button (cancelled) or to what was done. */
  function closeCommend(done) {
    commending = null;
    $("commend-form").hidden = true;
    if (done) { $("commend-done").focus(); }
    else if (commendButton && document.body.contains(commendButton)) { commendButton.focus(); }
    commendButton = null;
  }

  /** The committee's own commendation is granted at once (the API grants for the committee). */
  function submitCommend(event) {
    event.preventDefault();
    var row = commending;
    var reason = $("commend-reason").value.trim();
    if (!row) { return; }
    if (!reason) { D.showMessage($("commend-error"), D.t("reason_missing")); return; }
    var level = $("commend-level").value;
    var reports = chosenHazards();
    if (!reports.length) { D.showMessage($("commend-error"), D.t("commend_no_report")); return; }
    var body = { reporter_id: row.reporter_id, report_ids: reports, level: level, reason: reason };
    if ($("a-campaign").value) { body.campaign_id = Number($("a-campaign").value); }
    $("commend-submit").disabled = true;
    D.api("POST", "/api/v1/commendations", body).then(function () {
      $("commend-submit").disabled = false;
      closeCommend(true);
      tell(function () {
        return D.t("commend_granted", { reporter: row.reporter, level: D.t("level_" + level) });
      });
      load();
    }, function (e) {
      $("commend-submit").disabled = false;
      D.showMessage($("commend-error"), e.message);
    });
  }

  var proposals = null;

  function renderProposals() {
    var list = $("proposals");
    list.replaceChildren();
    (proposals || []).forEach(function (c) {
      var li = document.createElement("li");
      var text = document.createElement("span");
      text.textContent = D.t("proposal_line", {
        reporter: c.reporter_id, level: D.t("level_" + c.level), reports: reportList(c.report_ids),
        points: c.points, reason: c.reason });
      var button = document.createElement("button");
      button.type = "button";
      button.className = "secondary small";
      button.textContent = D.t("act_grant");
      button.setAttribute("aria-label", D.t("grant_label", { id: c.id }));
      button.addEventListener("click", function () { grant(c, button); });
      li.append(text, " ", button);
      list.append(li);
    });
    $("proposals-empty").hidden = !proposals || proposals.length > 0;
  }

  function loadProposals() {
    return D.api("GET", "/api/v1/commendations").then(function (all) {
      proposals = (all || []).filter(function (c) { return c.status === "proposed"; });
      renderProposals();
    }, function (e) { D.showMessage($("proposals-error"), e.message); });
  }

  function grant(commendation, button) {
    D.showMessage($("proposals-error"), "");
    button.disabled = true;
    D.api("POST", "/api/v1/commendations/" + commendation.id + "/grant", {}).then(function () {
      tell(function () { return D.t("grant_done", { id: commendation.id }); });
      $("commend-done").focus(); // the button is gone with the proposal
      loadProposals();
      load();
    }, function (e) {
      button.disabled = false;
      D.showMessage($("proposals-error"), e.message);
    });
  }

  $("commend-form").addEventListener("submit", submitCommend);
  $("commend-cancel").addEventListener("click", function () { closeCommend(false); });
  $("award-filters").addEventListener("submit", function (e) { e.preventDefault(); load(); });
  $("a-period").addEventListener("change", load);
  $("a-region").addEventListener("change", load);
  $("a-campaign").addEventListener("change", load);
  $("awards-more").addEventListener("click", function () {
    D.showMessage($("awards-error"), "");
    if (nextCursor) { fetchPage(nextCursor); }
  });
  D.onChange(function () {
    if (rows) { render(); }
    if (proposals) { renderProposals(); }
    whoText();
    if (notice) { $("commend-done").textContent = notice(); }
  });
  D.signIn(function () { loadRegions(); loadCampaigns(); load(); loadProposals(); });
})();
