/* Shared by the desk pages (/inspect, /unit, /committee): their strings in Chinese and English
 * (elements carry data-desk-i18n="key"; i18n.js keeps the language and the switch), the calls to
 * the JSON API of the same origin, and the sign-in form. Everything is set as text. */
(function () {
  "use strict";

  var I = window.HazardI18n;
  var STRINGS = {
    zh: {
      inspect_title: "隐患研判台 · 隐患随手拍",
      unit_title: "责任单位 · 隐患随手拍",
      committee_title: "评先评优 · 隐患随手拍",
      nav_inspect: "研判台",
      nav_committee: "评先评优",
      signin_heading: "登录",
      phone_label: "手机号",
      password_label: "密码",
      signin: "登录",
      signout: "退出",
      signed_in_as: "已登录：{name}",
      signin_missing: "请填写手机号和密码。",
      session_ended: "登录已过期，请重新登录。",
      queue_heading: "待办队列",
      filter_severity: "风险等级",
      filter_status: "状态",
      filter_overdue: "只看超期",
      filter_all: "全部",
      refresh: "刷新",
      queue_empty: "队列中没有符合条件的上报。",
      queue_more: "加载更多",
      queue_shown: "已显示 {shown} 条，共 {total} 条",
      map_heading: "队列地图",
      map_empty: "没有带位置的上报。",
      map_hint: "每个点是一条上报，颜色表示风险等级；点击查看。",
      overdue: "已超期",
      panel_heading: "上报详情",
      close: "关闭",
      location: "位置",
      region: "地区",
      reasons: "研判依据",
      flags: "核查提示",
      photos: "照片",
      after_photos: "整改后照片",
      duplicates: "疑似重复",
      duplicates_none: "附近没有疑似重复的上报。",
      distance_m: "相距 {m} 米",
      actions: "处理",
      act_triage: "确认研判",
      act_forward: "转交责任单位",
      act_reject: "不予受理",
      reject_reason: "不予受理的理由",
      reason_missing: "请填写理由。",
      act_verify: "验收通过",
      act_clear_flags: "核查通过",
      clear_flags_reason: "核查说明",
      outcome_heading: "记录结果",
      hazard_confirmed: "隐患认定",
      hazard_general: "一般隐患",
      hazard_major: "重大隐患",
      accident_prevented: "避免了事故",
      account_label: "经过说明",
      act_outcome: "保存结果",
      done: "已保存。",
      outcome_saved: "已记录：{h}{p}",
      outcome_prevented: "，避免了事故",
      unit_heading: "整改通知",
      unit_no_token: "链接不完整：请打开收到的完整链接。",
      unit_not_found: "链接无效或已过期。",
      act_acknowledge: "签收",
      rectify_heading: "报告整改情况",
      rectify_note: "整改说明",
      rectify_photos: "整改后照片（1–6 张）",
      act_rectify: "提交整改",
      rectify_missing: "请填写整改说明并选择至少 1 张照片。",
      rectify_too_many: "最多 6 张整改后照片，已选 {n} 张：请重新选择。",
      act_start_rectifying: "开始整改",
      decline_heading: "不属于本单位负责？",
      decline_hint: "如果这份上报不归本单位负责，可以退回工会检查员，由其转交负责的单位。",
      act_decline: "不归本单位，退回",
      decline_reason: "退回理由",
      decline_warning: "确认后，这份上报退回工会检查员，本单位不能再签收或整改，本链接随即失效。",
      act_decline_confirm: "确认退回",
      unit_declined: "已退回工会检查员，由其重新转交责任单位。本链接已失效，本单位无需再处理。",
      unit_declined_status: "已退回工会检查员",
      timeline_declined: "责任单位退回（不归其负责）",
      timeline_reason: "理由：{reason}",
      deadlines: "期限",
      acknowledge_due: "签收期限",
      rectify_due: "整改期限",
      awards_heading: "表彰名单",
      period: "期间",
      period_month: "本月",
      period_quarter: "本季度",
      period_year: "本年度",
      region_filter: "地区",
      region_all: "全部地区",
      show: "查询",
      exports: "导出",
      export_csv: "导出 CSV",
      export_xlsx: "导出 Excel",
      export_pdf: "导出 PDF",
      awards_empty: "该期间没有可表彰的上报。",
      col_rank: "名次",
      col_reporter: "上报人",
      col_region: "地区",
      col_points: "积分",
      col_reports: "上报编号",
      col_reasons: "依据",
      period_range: "{start} 至 {end}",
      awards_more: "加载更多",
      awards_shown: "共 {total} 名上报人，已显示 {shown} 名",
      campaign_filter: "活动",
      campaign_all: "不限活动",
      export_certificates: "表彰证书 PDF",
      col_level: "已获表彰",
      col_commend: "表彰",
      act_commend: "表彰",
      commend_heading: "授予表彰",
      commend_who: "{reporter}：依据报告 {reports}",
      commend_level: "表彰级别",
      commend_reports: "依据的报告",
      commend_no_report: "请至少选择一份报告。",
      commend_reason: "表彰理由",
      commend_submit: "确认授予",
      commend_granted: "已授予{reporter}“{level}”。",
      cancel: "取消",
      level_timely_praise: "及时表扬",
      level_priority: "优先推荐",
      level_special: "特别贡献",
      proposals_heading: "待授予的提名",
      proposals_empty: "没有待授予的提名。",
      proposal_line: "职工 #{reporter}：{level}，依据报告 {reports}，{points} 分。理由：{reason}",
      act_grant: "授予",
      grant_label: "授予第 {id} 号表彰",
      grant_done: "已授予第 {id} 号表彰。",
      propose_heading: "推荐表彰",
      propose_reason: "推荐理由",
      act_propose: "提交推荐",
      proposed_done: "已提交推荐（第 {id} 号），待评先评优委员会授予。",
      open_by_id: "按编号打开",
      open_report: "打开",
      open_id_invalid: "请输入报告编号（正整数）。",
      responsible_unit: "责任单位",
      forward_unit_filter: "查找单位",
      forward_unit: "转交至",
      forward_automatic: "自动分派（按行业和地区）",
      forward_automatic_to: "自动分派：{name}",
      forward_automatic_none: "自动分派：本地区没有相应的单位",
      unit_current: "{name}（当前）",
      units_matching: "找到 {n} 个单位",
      units_none: "没有相符的单位；清空查找框即按行业和地区自动分派。",
      severity_unchanged: "风险等级未改变：请选择另一个等级。",
      merge_self: "不能并入自身，请填写另一份报告的编号。",
      units_failed: "单位列表未能加载：{message}",
      reopen_reason: "退回整改的理由",
      act_reopen: "退回整改",
      retriage_reason: "重新研判的理由",
      act_retriage: "重新研判",
      merge_into: "并入的报告编号",
      act_merge: "合并为重复",
      merge_question: "将 #{id} 作为重复上报并入 #{into}？",
      merge_yes: "确认合并",
      merged_into: "已并入 #{id}",
      severity_heading: "调整风险等级",
      severity_new: "调整为",
      severity_reason: "调整理由",
      act_severity: "调整等级",
      action_severity_overridden: "调整了风险等级",
      action_merged: "有重复上报并入",
      action_unmerged: "一条并入的重复上报已移出",
      "action_status:forwarded": "已改派责任单位",
      act_unit_link: "获取单位链接",
      unit_link_label: "单位链接",
      unit_link_hint: "{unit} 凭此链接签收和报告整改，{days} 天内有效；未设通知渠道的单位请通过电话或短信转交。"
    },
    en: {
      inspect_title: "Inspection desk · Hazard Snap",
      unit_title: "Responsible unit · Hazard Snap",
      committee_title: "Awards · Hazard Snap",
      nav_inspect: "Desk",
      nav_committee: "Awards",
      signin_heading: "Sign in",
      phone_label: "Phone",
      password_label: "Password",
      signin: "Sign in",
      signout: "Sign out",
      signed_in_as: "Signed in: {name}",
      signin_missing: "Enter the phone number and the password.",
      session_ended: "The sign-in has expired: sign in again.",
      queue_heading: "Queue",
      filter_severity: "Risk level",
      filter_status: "Status",
      filter_overdue: "Overdue only",
      filter_all: "All",
      refresh: "Refresh",
      queue_empty: "No report in the queue matches.",
      queue_more: "Load more",
      queue_shown: "{shown} of {total} shown",
      map_heading: "Map of the queue",
      map_empty: "No located report.",
      map_hint: "Each dot is a report, coloured by risk level; click to open it.",
      overdue: "Overdue",
      panel_heading: "Report",
      close: "Close",
      location: "Location",
      region: "Region",
      reasons: "Triage reasons",
      flags: "Checks",
      photos: "Photos",
      after_photos: "After-photos",
      duplicates: "Possible duplicates",
      duplicates_none: "No possible duplicate nearby.",
      distance_m: "{m} m away",
      actions: "Actions",
      act_triage: "Confirm triage",
      act_forward: "Forward to the unit",
      act_reject: "Reject",
      reject_reason: "Reason for rejecting",
      reason_missing: "Enter a reason.",
      act_verify: "Verify",
      act_clear_flags: "Clear checks",
      clear_flags_reason: "Note on the checks",
      outcome_heading: "Record the outcome",
      hazard_confirmed: "Hazard confirmed",
      hazard_general: "General hazard",
      hazard_major: "Major hazard",
      accident_prevented: "Accident prevented",
      account_label: "Account",
      act_outcome: "Save outcome",
      done: "Saved.",
      outcome_saved: "Recorded: {h}{p}",
      outcome_prevented: ", accident prevented",
      unit_heading: "Rectification notice",
      unit_no_token: "The link is incomplete: open the whole link you received.",
      unit_not_found: "The link is invalid or has expired.",
      act_acknowledge: "Acknowledge",
      rectify_heading: "Report the rectification",
      rectify_note: "What was done",
      rectify_photos: "After-photos (1–6)",
      act_rectify: "Send rectification",
      rectify_missing: "Describe what was done and choose at least 1 photo.",
      rectify_too_many: "At most 6 after-photos; {n} are chosen: choose again.",
      act_start_rectifying: "Start the work",
      decline_heading: "Not your unit's to fix?",
      decline_hint: "If this report is not your unit's responsibility, send it back to the union inspector, who forwards it to the right unit.",
      act_decline: "Not ours: send it back",
      decline_reason: "Why it is not yours",
      decline_warning: "Once confirmed, the report goes back to the union inspector: your unit can no longer acknowledge or fix it, and this link stops working.",
      act_decline_confirm: "Confirm sending it back",
      unit_declined: "Sent back to the union inspector, who forwards it to the responsible unit. This link no longer works; nothing more is needed from your unit.",
      unit_declined_status: "Sent back to the union inspector",
      timeline_declined: "Sent back by a unit (not its to fix)",
      timeline_reason: "Reason: {reason}",
      deadlines: "Deadlines",
      acknowledge_due: "Acknowledge by",
      rectify_due: "Fix by",
      awards_heading: "Award list",
      period: "Period",
      period_month: "This month",
      period_quarter: "This quarter",
      period_year: "This year",
      region_filter: "Region",
      region_all: "All regions",
      show: "Show",
      exports: "Export",
      export_csv: "Export CSV",
      export_xlsx: "Export Excel",
      export_pdf: "Export PDF",
      awards_empty: "No report to commend in this period.",
      col_rank: "Rank",
      col_reporter: "Reporter",
      col_region: "Region",
      col_points: "Points",
      col_reports: "Reports",
      col_reasons: "Reasons",
      period_range: "{start} to {end}",
      awards_more: "Load more",
      awards_shown: "{shown} of {total} reporters shown",
      campaign_filter: "Campaign",
      campaign_all: "Any campaign",
      export_certificates: "Certificates PDF",
      col_level: "Commended",
      col_commend: "Commend",
      act_commend: "Commend",
      commend_heading: "Grant a commendation",
      commend_who: "{reporter}: for reports {reports}",
      commend_level: "Level",
      commend_reports: "For the reports",
      commend_no_report: "Choose at least one report.",
      commend_reason: "Reason",
      commend_submit: "Grant it",
      commend_granted: "{reporter} granted “{level}”.",
      cancel: "Cancel",
      level_timely_praise: "Timely praise",
      level_priority: "Priority recommendation",
      level_special: "Special contribution",
      proposals_heading: "Proposals to grant",
      proposals_empty: "No proposal waits to be granted.",
      proposal_line: "Reporter #{reporter}: {level}, for reports {reports}, {points} points. Reason: {reason}",
      act_grant: "Grant",
      grant_label: "Grant commendation no. {id}",
      grant_done: "Commendation no. {id} granted.",
      propose_heading: "Propose a commendation",
      propose_reason: "Why",
      act_propose: "Propose",
      proposed_done: "Proposed (no. {id}); the award committee grants it.",
      open_by_id: "Open report no.",
      open_report: "Open",
      open_id_invalid: "Enter a report number (a positive whole number).",
      responsible_unit: "Responsible unit",
      forward_unit_filter: "Find a unit",
      forward_unit: "Forward to",
      forward_automatic: "Automatic (by sector and region)",
      forward_automatic_to: "Automatic: {name}",
      forward_automatic_none: "Automatic: no unit takes this here",
      unit_current: "{name} (current)",
      units_matching: "Units that match: {n}",
      units_none: "No unit matches; clear the search to route by sector and region.",
      severity_unchanged: "The risk level is the same: choose another level.",
      merge_self: "A report cannot be merged into itself: give another report's number.",
      units_failed: "The list of units did not load: {message}",
      reopen_reason: "Why the fix is not accepted",
      act_reopen: "Send back for rectification",
      retriage_reason: "Why it is taken up again",
      act_retriage: "Triage again",
      merge_into: "Merge into report no.",
      act_merge: "Merge as a duplicate",
      merge_question: "Merge #{id} into #{into} as a duplicate?",
      merge_yes: "Confirm the merge",
      merged_into: "Merged into #{id}",
      severity_heading: "Change the risk level",
      severity_new: "Change the risk level to",
      severity_reason: "Why the level changes",
      act_severity: "Change the level",
      action_severity_overridden: "Risk level changed",
      action_merged: "A duplicate was merged into it",
      action_unmerged: "A merged duplicate was taken out of it",
      "action_status:forwarded": "Re-routed to another unit",
      act_unit_link: "Get the unit's link",
      unit_link_label: "Unit's link",
      unit_link_hint: "{unit} acknowledges and reports its fix through this link, valid {days} days; pass it on by phone or SMS to a unit without a channel."
    }
  };
  var CSRF_KEY = "hazard_csrf";
  var listeners = [];

  function own(table, key) { return Object.prototype.hasOwnProperty.call(table, key); }

  /** A desk string, else one of i18n.js's (status_…, severity_…), with {name} filled in. */
  function t(key, params) {
    var table = STRINGS[I.lang()];
    var text = own(table, key) ? table[key] : STRINGS.zh[key];
    if (text === undefined) { return I.t(key, params); }
    if (params) {
      text = text.replace(/\{(\w+)\}/g, function (m, name) {
        return own(params, name) ? String(params[name]) : m;
      });
    }
    return text;
  }

  function label(prefix, value) {
    return own(STRINGS.zh, prefix + value) || I.has(prefix + value) ? t(prefix + value)
      : String(value === null || value === undefined ? "" : value);
  }

  function apply() {
    document.querySelectorAll("[data-desk-i18n]").forEach(function (el) {
      el.textContent = t(el.getAttribute("data-desk-i18n"));
    });
    var title = document.getElementById("desk-title");
    if (title) { document.title = t(title.getAttribute("data-title")); }
    listeners.forEach(function (fn) { fn(); });
  }

  var formatTime = I.formatTime;

  function sameOriginPath(url) {
    return typeof url === "string" && url.charAt(0) === "/" && url.charAt(1) !== "/";
  }

  function csrf() {
    try { return window.sessionStorage.getItem(CSRF_KEY) || ""; } catch (e) { return ""; }
  }

  function setCsrf(value) {
    try {
      if (value) { window.sessionStorage.setItem(CSRF_KEY, value); }
      else { window.sessionStorage.removeItem(CSRF_KEY); }
    } catch (e) { /* private mode: kept for this page only */ }
  }

  /** An API error as {status, message}: the API's own message where it gave one. */
  function ApiError(status, message) { this.status = status; this.message = message; }

  /** Call the API; JSON bodies are sent as JSON, FormData as multipart. Resolves to the body. */
  function api(method, path, body, options) {
    var anonymous = Boolean(options && options.anonymous); // a unit's signed link: no cookie
    var asOf = signInsSeen; // a 401 to a request sent before this sign-in is not about it
    var headers = { "Accept": "application/json", "Accept-Language": I.acceptLanguage() };
    var init = { method: method, headers: headers, cache: "no-store",
                 credentials: anonymous ? "omit" : "same-origin" };
    if (method !== "GET") {
      if (!anonymous) { headers["X-CSRF-Token"] = csrf(); }
      if (body instanceof FormData) { init.body = body; }
      else { headers["Content-Type"] = "application/json"; init.body = JSON.stringify(body || {}); }
    }
    return fetch(path, init).then(function (response) {
      return response.json().catch(function () { return null; }).then(function (data) {
        if (response.ok) { return data; }
        var message = data && data.error && data.error.message ? String(data.error.message)
          : "HTTP " + response.status;
        if (response.status === 401 && !anonymous && asOf === signInsSeen) {
          signedOut(); // the session ran out
        }
        throw new ApiError(response.status, message);
      });
    }, function () {
      throw new ApiError(0, t("network_error"));
    });
  }

  var signedOutHooks = [];
  var signInsSeen = 0;

  function signedOut() { signedOutHooks.forEach(function (fn) { fn(); }); }

  function showMessage(el, message) {
    el.textContent = message || "";
    el.hidden = !message;
  }

  /** Wire the sign-in form: onSignedIn(user) runs after a sign-in or with a live session. */
  function signIn(onSignedIn) {
    var form = document.getElementById("signin-form");
    var error = document.getElementById("signin-error");
    var who = document.getElementById("signed-in");
    var out = document.getElementById("signout");
    var user = null;

    function shown(signedIn) {
      form.hidden = signedIn;
      document.getElementById("workspace").hidden = !signedIn;
      out.hidden = !signedIn;
      who.hidden = !signedIn;
    }
    function whoText() {
      if (user) { who.textContent = t("signed_in_as", { name: user.name || user.phone || "" }); }
    }
    listeners.push(whoText);

    function enter(u) { signInsSeen += 1; user = u; whoText(); shown(true); onSignedIn(u); }

    // A request refused because the sign-in ended (it expired, or another tab signed out): the
    // form comes back, saying why, rather than each action answering 请先登录.
    signedOutHooks.push(function () {
      if (!user) { return; }
      user = null;
      setCsrf("");
      shown(false);
      showMessage(error, t("session_ended"));
    });

    form.addEventListener("submit", function (event) {
      event.preventDefault();
      showMessage(error, "");
      var phone = document.getElementById("signin-phone").value.trim();
      var password = document.getElementById("signin-password").value;
      if (!phone || !password) { showMessage(error, t("signin_missing")); return; }
      api("POST", "/api/v1/auth/session", { phone: phone, password: password }).then(function (b) {
        setCsrf(b.csrf_token);
        document.getElementById("signin-password").value = "";
        enter(b.user || {});
      }, function (e) { showMessage(error, e.message); });
    });
    out.addEventListener("click", function () {
      api("POST", "/api/v1/auth/logout", {}).catch(function () { return null; }).then(function () {
        setCsrf("");
        user = null;
        shown(false);
      });
    });
    shown(false);
    // A session the cookie still holds (this tab, another tab, or the page opened again): take
    // it up with its CSRF token rather than asking to sign in again.
    api("GET", "/api/v1/auth/session").then(function (b) {
      setCsrf(b.csrf_token);
      enter(b.user || {});
    }, function () { setCsrf(""); });
  }

  window.HazardDesk = {
    t: t, label: label, api: api, signIn: signIn, showMessage: showMessage,
    formatTime: formatTime, sameOriginPath: sameOriginPath,
    onChange: function (fn) { listeners.push(fn); }
  };

  I.onChange(apply);
  document.addEventListener("DOMContentLoaded", apply);
})();
