/* The pages' strings in Chinese and English, and the language switch (kept in localStorage).
 * Every string a person reads comes from here; elements carry data-i18n="key". */
(function () {
  "use strict";

  var STORAGE_KEY = "hazard_lang";
  var STRINGS = {
    zh: {
      app_title: "隐患随手拍",
      report_title: "上报隐患 · 隐患随手拍",
      status_title: "查询进度 · 隐患随手拍",
      nav_status: "查询进度",
      nav_report: "上报隐患",
      lang_switch: "English",
      report_heading: "上报隐患",
      queue_heading: "我的上报",
      photos_legend: "照片（1–6 张）",
      photos_button: "拍照或选择照片",
      photos_hint: "大照片会在手机上压缩后再上传，以节省流量。",
      photo_remove: "移除",
      photo_label: "照片 {n}",
      photo_reduced: "已压缩 {from} → {to}",
      photo_original: "原图 {size}",
      location_legend: "位置",
      location_waiting: "正在定位…",
      location_ok: "已定位（手机定位）",
      location_denied: "无法定位：未获得定位权限。请选择所在地区。",
      location_failed: "无法定位。请到开阔处重试，或选择所在地区。",
      location_unsupported: "此浏览器不支持定位。请选择所在地区。",
      lat: "纬度",
      lon: "经度",
      accuracy: "精度",
      accuracy_value: "约 {m} 米",
      locate_again: "重新定位",
      location_manual: "已在地图上修正位置（点“重新定位”恢复手机定位）",
      location_kept: "沿用这份报告原来的位置（点“重新定位”改用手机现在的位置）",
      pin_hint: "位置不准时，拖动地图上的图钉，或用下面的按钮移动图钉。",
      pin_map_label: "地图：拖动图钉修正位置",
      pin_marker: "上报位置图钉",
      pin_nudge_group: "移动图钉",
      pin_nudge_north: "图钉向北移 10 米",
      pin_nudge_south: "图钉向南移 10 米",
      pin_nudge_east: "图钉向东移 10 米",
      pin_nudge_west: "图钉向西移 10 米",
      nudge_north_short: "北",
      nudge_south_short: "南",
      nudge_east_short: "东",
      nudge_west_short: "西",
      pin_moved: "已将位置{parts}调整",
      pin_part_north: "向北 {m} 米",
      pin_part_south: "向南 {m} 米",
      pin_part_east: "向东 {m} 米",
      pin_part_west: "向西 {m} 米",
      pin_part_join: "、",
      region_label: "或选择所在地区",
      region_none: "（不选择）",
      region_all: "（整个{name}）",
      region_within: "{name}下的地区",
      sector_legend: "行业领域",
      sectors_failed: "行业列表加载失败，请检查网络后刷新。",
      description_label: "一句话描述",
      immediate_danger_label: "现场有紧迫危险",
      anonymous_label: "匿名上报",
      anonymous_hint: "未登录时总是匿名上报，凭跟进码查询进度。",
      send: "发送",
      err_photos: "请至少拍摄或选择 1 张照片（最多 6 张）。",
      err_sector: "请选择行业领域。",
      err_description: "请用一句话描述隐患。",
      saved_queued: "已保存，正在发送…",
      saved_memory_only: "此浏览器无法把报告存在手机上（隐私模式或存储已满）：发送完成前请不要关闭此页面。",
      token_memory_only: "报告已发送。手机存储已满，跟进码没能存在手机上：请记下或截图保存跟进码后再关闭此页面。",
      save_failed: "报告没能保存，请重试：{detail}",
      waiting: "等待发送 {n} 条",
      waiting_hint: "网络恢复后会自动发送，请勿重复上报。",
      state_queued: "等待发送",
      state_sending: "正在发送…",
      uploading_photo: "正在上传照片 {n}/{total}…",
      state_error: "发送失败，需要修改",
      notice_refused: "报告未被接受，需要修改或删除：{message}",
      notice_sent: "报告已发送。",
      next_try: "第 {n} 次尝试失败，稍后自动重试",
      retry_now: "立即重试",
      edit: "修改",
      delete: "删除",
      confirm_delete: "确定删除这条未发送的上报吗？",
      sent: "已发送",
      report_no: "上报编号",
      followup_token: "跟进码",
      token_hint: "请保存跟进码，凭它查询进度（只显示一次）。",
      view_status: "查看进度",
      advice_close: "我已知晓",
      call_fire: "火警",
      call_police: "报警",
      call_ambulance: "急救",
      status_heading: "查询上报进度",
      report_id_label: "上报编号",
      token_label: "跟进码",
      lookup: "查询",
      lookup_missing: "请填写上报编号和跟进码。",
      lookup_not_found: "找不到这条上报，或跟进码不正确。",
      network_error: "网络不可用，请稍后再试。",
      submitted_at: "提交时间",
      timeline: "处理进度",
      severity_red: "红色 · 重大风险",
      severity_orange: "橙色 · 较大风险",
      severity_yellow: "黄色 · 一般风险",
      severity_blue: "蓝色 · 低风险",
      status_submitted: "已提交",
      status_triaged: "已研判",
      status_forwarded: "已转交责任单位",
      status_acknowledged: "责任单位已签收",
      status_rectifying: "整改中",
      status_rectified: "已整改",
      status_verified: "已验证",
      status_rejected: "未受理",
      status_duplicate: "重复上报（已合并）",
      action_submitted: "已提交",
      action_claimed: "已认领到账号",
      action_flags_cleared: "核查通过",
      action_delivered: "已送达责任单位",
      action_delivery_failed: "投递失败（已停止重试）",
      action_handover_needed: "单位未设通知渠道，请将单位链接转交责任单位",
      action_unit_link_issued: "已取得单位链接（转交责任单位）",
      action_commendation_proposed: "已推荐表彰",
      action_commendation_granted: "已获表彰",
      action_original_photo_read: "检查员查看了原图",
      action_reporter_identity_read: "检查员查看了上报人信息"
    },
    en: {
      app_title: "Hazard Snap",
      report_title: "Report a hazard · Hazard Snap",
      status_title: "Follow a report · Hazard Snap",
      nav_status: "Follow a report",
      nav_report: "Report a hazard",
      lang_switch: "中文",
      report_heading: "Report a hazard",
      queue_heading: "My reports",
      photos_legend: "Photos (1–6)",
      photos_button: "Take or choose photos",
      photos_hint: "Large photos are reduced on the phone before upload to save data.",
      photo_remove: "Remove",
      photo_label: "Photo {n}",
      photo_reduced: "reduced {from} → {to}",
      photo_original: "original {size}",
      location_legend: "Location",
      location_waiting: "Finding your location…",
      location_ok: "Located (phone position)",
      location_denied: "No location: permission was refused. Please choose your region.",
      location_failed: "No location. Try again in the open, or choose your region.",
      location_unsupported: "This browser cannot locate you. Please choose your region.",
      lat: "Latitude",
      lon: "Longitude",
      accuracy: "Accuracy",
      accuracy_value: "about {m} m",
      locate_again: "Locate again",
      location_manual: "Corrected on the map (\u201cLocate again\u201d restores the phone position)",
      location_kept: "The report's own location (\u201cLocate again\u201d uses the phone's position now)",
      pin_hint: "If the position is wrong, drag the pin on the map or move it with the buttons below.",
      pin_map_label: "Map: drag the pin to correct the location",
      pin_marker: "Report location pin",
      pin_nudge_group: "Move the pin",
      pin_nudge_north: "Move the pin 10 m north",
      pin_nudge_south: "Move the pin 10 m south",
      pin_nudge_east: "Move the pin 10 m east",
      pin_nudge_west: "Move the pin 10 m west",
      nudge_north_short: "N",
      nudge_south_short: "S",
      nudge_east_short: "E",
      nudge_west_short: "W",
      pin_moved: "Moved {parts}",
      pin_part_north: "{m} m north",
      pin_part_south: "{m} m south",
      pin_part_east: "{m} m east",
      pin_part_west: "{m} m west",
      pin_part_join: ", ",
      region_label: "Or choose your region",
      region_none: "(none)",
      region_all: "(all of {name})",
      region_within: "Regions in {name}",
      sector_legend: "Sector",
      sectors_failed: "Could not load the sectors; check the network and reload.",
      description_label: "One line about the hazard",
      immediate_danger_label: "Immediate danger on site",
      anonymous_label: "Report anonymously",
      anonymous_hint: "Without signing in, reports are always anonymous; follow them with the token.",
      send: "Send",
      err_photos: "Take or choose at least 1 photo (at most 6).",
      err_sector: "Choose a sector.",
      err_description: "Describe the hazard in one line.",
      saved_queued: "Saved; sending…",
      saved_memory_only: "This browser cannot keep the report on the phone (private mode, or storage full): keep this page open until it is sent.",
      token_memory_only: "The report was sent. The phone's storage is full and its follow-up code could not be kept on the phone: write it down or take a screenshot before closing this page.",
      save_failed: "The report could not be saved; try again: {detail}",
      waiting: "{n} waiting to send",
      waiting_hint: "They are sent automatically when the network is back; do not report twice.",
      state_queued: "Waiting to send",
      state_sending: "Sending…",
      uploading_photo: "Uploading photo {n} of {total}…",
      state_error: "Not accepted; please fix",
      notice_refused: "A report was not accepted; fix or delete it: {message}",
      notice_sent: "Report sent.",
      next_try: "Attempt {n} failed; retrying automatically",
      retry_now: "Retry now",
      edit: "Edit",
      delete: "Delete",
      confirm_delete: "Delete this unsent report?",
      sent: "Sent",
      report_no: "Report no.",
      followup_token: "Follow-up token",
      token_hint: "Keep this token: it is the only way to follow the report (shown once).",
      view_status: "View status",
      advice_close: "Understood",
      call_fire: "Fire",
      call_police: "Police",
      call_ambulance: "Ambulance",
      status_heading: "Follow a report",
      report_id_label: "Report no.",
      token_label: "Follow-up token",
      lookup: "Look up",
      lookup_missing: "Enter the report number and the follow-up token.",
      lookup_not_found: "No such report, or the token is wrong.",
      network_error: "No network; try again later.",
      submitted_at: "Submitted",
      timeline: "Progress",
      severity_red: "Red · major risk",
      severity_orange: "Orange · high risk",
      severity_yellow: "Yellow · moderate risk",
      severity_blue: "Blue · low risk",
      status_submitted: "Submitted",
      status_triaged: "Assessed",
      status_forwarded: "Forwarded to the responsible unit",
      status_acknowledged: "Acknowledged by the unit",
      status_rectifying: "Being fixed",
      status_rectified: "Fixed",
      status_verified: "Verified",
      status_rejected: "Not accepted",
      status_duplicate: "Duplicate (merged)",
      action_submitted: "Submitted",
      action_claimed: "Claimed to an account",
      action_flags_cleared: "Checks passed",
      action_delivered: "Delivered to the unit",
      action_delivery_failed: "Delivery failed (retries stopped)",
      action_handover_needed: "The unit has no channel: pass its link on to it",
      action_unit_link_issued: "Unit's link taken (to pass on)",
      action_commendation_proposed: "Proposed for commendation",
      action_commendation_granted: "Commended",
      action_original_photo_read: "An inspector viewed the original photo",
      action_reporter_identity_read: "An inspector viewed the reporter's details"
    }
  };

  var listeners = [];

  function lang() {
    var stored = null;
    try { stored = window.localStorage.getItem(STORAGE_KEY); } catch (e) { /* private mode */ }
    return stored === "en" ? "en" : "zh";
  }

  /** The string for key in the current language, with {name} placeholders filled in. */
  function t(key, params) {
    var table = STRINGS[lang()];
    var text = Object.prototype.hasOwnProperty.call(table, key) ? table[key] : STRINGS.zh[key];
    if (text === undefined) { return key; }
    if (params) {
      text = text.replace(/\{(\w+)\}/g, function (m, name) {
        return Object.prototype.hasOwnProperty.call(params, name) ? String(params[name]) : m;
      });
    }
    return text;
  }

  function has(key) { return Object.prototype.hasOwnProperty.call(STRINGS.zh, key); }

  function apply(root) {
    var current = lang();
    document.documentElement.lang = current === "en" ? "en" : "zh-CN";
    (root || document).querySelectorAll("[data-i18n]").forEach(function (el) {
      el.textContent = t(el.getAttribute("data-i18n"));
    });
    var toggle = document.getElementById("lang-toggle");
    if (toggle) {
      toggle.textContent = t("lang_switch");
      toggle.lang = current === "en" ? "zh-CN" : "en";
    }
  }

  function setLang(value) {
    try { window.localStorage.setItem(STORAGE_KEY, value === "en" ? "en" : "zh"); } catch (e) { /* ignore */ }
    apply();
    listeners.forEach(function (fn) { fn(lang()); });
  }

  /** The Accept-Language the API should answer in (its messages and advice follow it). */
  function acceptLanguage() { return lang() === "en" ? "en" : "zh-CN"; }

  /** A time in the deployment's zone (Beijing time, the page's hazard-timezone), wherever the
   * browser is: a deadline reads the same on every desk and phone. */
  function formatTime(iso) {
    if (!iso) { return ""; }
    var date = new Date(iso);
    if (isNaN(date.getTime())) { return String(iso); }
    var locale = lang() === "en" ? "en-GB" : "zh-CN";
    var zone = document.querySelector("meta[name=hazard-timezone]");
    try {
      return date.toLocaleString(locale, { hour12: false, timeZone: (zone && zone.content) || "Asia/Shanghai" });
    } catch (e) { // an unknown zone name
      return date.toLocaleString(locale, { hour12: false });
    }
  }

  window.HazardI18n = {
    t: t, has: has, lang: lang, setLang: setLang, apply: apply, acceptLanguage: acceptLanguage,
    formatTime: formatTime, onChange: function (fn) { listeners.push(fn); }
  };

  document.addEventListener("DOMContentLoaded", function () {
    apply();
    var toggle = document.getElementById("lang-toggle");
    if (toggle) {
      toggle.addEventListener("click", function () { setLang(lang() === "en" ? "zh" : "en"); });
    }
  });
})();
