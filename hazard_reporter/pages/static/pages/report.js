/* The phone reporting page.
 *
 * A report is written to IndexedDB (photos as Blobs) with its Idempotency-Key BEFORE the first
 * attempt to send it, then sent with fetch. A network failure, 5xx or 429 keeps it queued: it is
 * retried with back-off, on the `online` event, when the page becomes visible and on page load,
 * always with the same key, so the server keeps exactly one report however often it arrives.
 * Any other 4xx is shown as an error the worker can fix (edit) or delete.
 *
 * Where the photos are kept in a bucket (the form says so in data-direct-uploads), each photo is
 * first sent straight there with a presigned POST from /api/v1/uploads, and its key is kept in the
 * stored report. Once every photo of a report is in the bucket the report carries only their keys,
 * and a retry sends no photo again. Until then (an upload failed in any way) the report carries
 * all its photos inline, in their order: the server's Idempotency-Key check compares the photos in
 * order, so one report never mixes the two.
 *
 * Everything received is written with textContent; no data ever goes through innerHTML.
 */
(function () {
  "use strict";

  var I = window.HazardI18n;
  var t = I.t;

  var DB_NAME = "hazard_reporter";
  var STORE = "reports";
  var MAX_PHOTOS = 6;
  var MAX_EDGE = 1600;          // long edge of a reduced photo, as the server's display rendition
  var JPEG_QUALITY = 0.85;
  // Photos up to this size are sent as they are: re-encoding drops the camera's EXIF (capture
  // time, GPS, make), which the server's anti-fraud checks rely on, so a typical 2-6 MB phone
  // photo keeps it; only oversize photos are reduced to save data on weak networks.
  var SMALL_BYTES = 6 * 1024 * 1024;
  var BACKOFF_BASE_MS = 2000;
  var BACKOFF_CAP_MS = 5 * 60 * 1000;
  var API_REPORTS = "/api/v1/reports";
  var API_UPLOADS = "/api/v1/uploads";

  var $ = function (id) { return document.getElementById(id); };

  /* ---------------------------------------------------------------- storage (IndexedDB) -- */

  // Reports kept only in this page's memory: where IndexedDB is unavailable (some private
  // modes), or refused one for want of space. They are sent like the others, but lost if the
  // page closes first, so the worker is told, and closing the page asks first.
  var memoryStore = {};
  var dbPromise = null;

  function openDb() {
    if (dbPromise) { return dbPromise; }
    dbPromise = new Promise(function (resolve) {
      if (!window.indexedDB) { resolve(null); return; }
      var request;
      try { request = window.indexedDB.open(DB_NAME, 1); } catch (e) { resolve(null); return; }
      request.onupgradeneeded = function () {
        var db = request.result;
        if (!db.objectStoreNames.contains(STORE)) { db.createObjectStore(STORE, { keyPath: "key" }); }
      };
      request.onsuccess = function () { resolve(request.result); };
      request.onerror = function () { resolve(null); };
    });
    return dbPromise;
  }

  function tx(mode, work) {
    return openDb().then(function (db) {
      if (!db) { return work(null); }
      return new Promise(function (resolve, reject) {
        var transaction = db.transaction(STORE, mode);
        var result;
        transaction.oncomplete = function () { resolve(result); };
        transaction.onerror = function () { reject(transaction.error); };
        transaction.onabort = function () { reject(transaction.error); };
        var request = work(transaction.objectStore(STORE));
        if (request) { request.onsuccess = function () { result = request.result; }; }
      });
    });
  }

  /** Store a report; where the phone cannot, keep it in the page's memory. A report kept in
   * memory stays there until it is sent: its copy stored before the storage filled up (if any)
   * is the one that survives a closed page. Once sent, the record holds no photos and is stored
   * again in that copy's place, or else that copy is deleted: sent, it must not be sent again at
   * the next load. */
  function putRecord(record) {
    var key = record.key;
    var wasInMemory = keptInMemory(key);
    if (wasInMemory && record.state !== "sent") { memoryStore[key] = record; return Promise.resolve(); }
    var stored = false;
    return tx("readwrite", function (store) {
      if (!store) { memoryStore[key] = record; return null; }
      stored = true;
      return store.put(record);
    }).then(function () {
      if (stored && wasInMemory) { delete memoryStore[key]; }
    }, function (error) {
      if (!error || error.name !== "QuotaExceededError") { throw error; }
      memoryStore[key] = record; // the phone's storage is full: kept while the page lives
      if (record.state !== "sent") { return null; }
      // Sent: its older copy goes (it must not be sent again), which frees the photos' space
      // for the sent record, small, with the follow-up token the worker needs.
      return deleteStoredCopy(key).then(function () {
        return tx("readwrite", function (store) { return store ? store.put(record) : null; });
      }).then(function () { delete memoryStore[key]; }, function () { /* stays in memory */ });
    });
  }

  function deleteStoredCopy(key) {
    return tx("readwrite", function (store) {
      if (!store) { return null; }
      return store.delete(key);
    }).catch(function () { return null; }); // listed once all the same (allRecords)
  }

  function keptInMemory(key) { return Object.prototype.hasOwnProperty.call(memoryStore, key); }

  function getRecord(key) {
    if (keptInMemory(key)) { return Promise.resolve(memoryStore[key]); }
    return tx("readonly", function (store) {
      if (!store) { return null; }
      return store.get(key);
    });
  }

  function deleteRecord(key) {
    delete memoryStore[key]; // and any copy stored before the storage filled up
    return tx("readwrite", function (store) {
      if (!store) { return null; }
      return store.delete(key);
    });
  }

  function allRecords() {
    return tx("readonly", function (store) {
      if (!store) { return null; }
      return store.getAll();
    }).then(function (records) {
      var inMemory = Object.keys(memoryStore).map(function (k) { return memoryStore[k]; });
      var stored = (records || []).filter(function (r) { return !keptInMemory(r.key); });
      return stored.concat(inMemory).sort(function (a, b) { return a.created_at - b.created_at; });
    });
  }

  /** True while closing the page would lose something kept only in memory: a report not sent
   * yet, or a sent one's follow-up token (an anonymous report's only key to its progress). */
  function unsentInMemory() {
    return Object.keys(memoryStore).some(function (k) {
      var record = memoryStore[k];
      return record.state !== "sent" || Boolean(record.result && record.result.followup_token);
    });
  }

  function newKey() {
    if (window.crypto && typeof window.crypto.randomUUID === "function") {
      return window.crypto.randomUUID();
    }
    // Outside a secure context randomUUID is missing; build a v4 UUID from random bytes.
    var b = window.crypto.getRandomValues(new Uint8Array(16));
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    var h = Array.prototype.map.call(b, function (x) { return (x + 0x100).toString(16).slice(1); });
    return h.slice(0, 4).join("") + "-" + h.slice(4, 6).join("") + "-" + h.slice(6, 8).join("") +
      "-" + h.slice(8, 10).join("") + "-" + h.slice(10).join("");
  }

  /* ---------------------------------------------------------------------------- photos -- */

  var photos = []; // {name, type, blob, originalSize, reduced, url}
  var processing = 0;
  var photoOrder = 0;

  function formatBytes(n) {
    if (n >= 1024 * 1024) { return (n / 1024 / 1024).toFixed(1) + " MB"; }
    return Math.max(1, Math.round(n / 1024)) + " KB";
  }

  function canvasToBlob(canvas) {
    return new Promise(function (resolve) {
      canvas.toBlob(function (blob) { resolve(blob); }, "image/jpeg", JPEG_QUALITY);
    });
  }

  function jpegName(name) {
    var base = String(name || "photo").replace(/\.[^.]*$/, "");
    return (base || "photo") + ".jpg";
  }

  /** The photo to upload: the original when it is small or cannot be reduced, else a JPEG of at
   * most MAX_EDGE px. Re-encoding drops EXIF (GPS, capture time), which is why the page always
   * sends the phone's own position; a small original is kept whole so it keeps its metadata. */
  function preparePhoto(file) {
    var original = { name: file.name || "photo.jpg", type: file.type, blob: file,
                     originalSize: file.size, reduced: false };
    if (file.size <= SMALL_BYTES || typeof window.createImageBitmap !== "function") {
      return Promise.resolve(original);
    }
    return window.createImageBitmap(file, { imageOrientation: "from-image" }).then(function (bitmap) {
      var w = bitmap.width;
      var h = bitmap.height;
      var scale = Math.min(1, MAX_EDGE / Math.max(w, h));
      if (scale === 1 && /jpe?g/i.test(file.type)) { bitmap.close(); return original; }
      var canvas = document.createElement("canvas");
      canvas.width = Math.max(1, Math.round(w * scale));
      canvas.height = Math.max(1, Math.round(h * scale));
      canvas.getContext("2d").drawImage(bitmap, 0, 0, canvas.width, canvas.height);
      bitmap.close();
      return canvasToBlob(canvas).then(function (blob) {
        if (!blob || blob.size >= file.size * 0.9) { return original; }
        return { name: jpegName(file.name), type: "image/jpeg", blob: blob,
                 originalSize: file.size, reduced: true };
      });
    }).catch(function () {
      return original; // e.g. HEIC, which this browser cannot decode: the server can
    });
  }

  function addFiles(fileList) {
    var files = Array.prototype.slice.call(fileList || []);
    var room = MAX_PHOTOS - photos.length - processing;
    if (files.length > room) { showFormError(t("err_photos")); }
    files.slice(0, Math.max(0, room)).forEach(function (file) {
      var order = photoOrder++;
      processing += 1;
      updateSendButton();
      preparePhoto(file).then(function (photo) {
        photo.url = URL.createObjectURL(photo.blob);
        photo.order = order;
        photos.push(photo);
        // Reductions finish in any order; the photos stay in the order they were taken.
        photos.sort(function (a, b) { return a.order - b.order; });
      }).finally(function () {
        processing -= 1;
        renderPreviews();
        updateSendButton();
      });
    });
  }

  function removePhoto(index) {
    var removed = photos.splice(index, 1)[0];
    if (removed && removed.url) { URL.revokeObjectURL(removed.url); }
    renderPreviews();
  }

  function clearPhotos() {
    photos.forEach(function (p) { if (p.url) { URL.revokeObjectURL(p.url); } });
    photos = [];
    renderPreviews();
  }

  function renderPreviews() {
    var list = $("previews");
    list.replaceChildren();
    photos.forEach(function (photo, index) {
      var item = document.createElement("li");
      item.className = "preview";
      var img = document.createElement("img");
      img.src = photo.url;
      img.alt = t("photo_label", { n: index + 1 });
      var caption = document.createElement("span");
      caption.className = "preview-size";
      caption.textContent = photo.reduced
        ? t("photo_reduced", { from: formatBytes(photo.originalSize), to: formatBytes(photo.blob.size) })
        : t("photo_original", { size: formatBytes(photo.blob.size) });
      var remove = document.createElement("button");
      remove.type = "button";
      remove.className = "secondary small";
      remove.textContent = t("photo_remove");
      remove.setAttribute("aria-label", t("photo_remove") + " " + t("photo_label", { n: index + 1 }));
      remove.addEventListener("click", function () { removePhoto(index); });
      item.append(img, caption, remove);
      list.append(item);
    });
  }

  /* -------------------------------------------------------------------------- location -- */

  var fix = null;          // {lat, lon, accuracy_m, at}: the phone's own fix
  var pin = null;          // {lat, lon} once the worker moved the pin; null: the fix is used
  var kept = null;         // {lat, lon, accuracy_m, source}: an edited report's own location
  var locationKey = "location_waiting";

  /** Where the report will say the hazard is, and how that point was obtained. */
  function chosenLocation() {
    if (pin) { return { lat: pin.lat, lon: pin.lon, accuracy_m: null, source: "manual" }; }
    if (kept) { return kept; }
    if (fix) { return { lat: fix.lat, lon: fix.lon, accuracy_m: fix.accuracy_m, source: "device" }; }
    return null;
  }

  function renderLocation() {
    $("location-status").textContent = t(pin ? "location_manual" : kept ? "location_kept" : locationKey);
    var values = $("location-values");
    var where = chosenLocation();
    if (!where) { values.hidden = true; renderPin(); return; }
    values.hidden = false;
    $("loc-lat").textContent = where.lat.toFixed(6);
    $("loc-lon").textContent = where.lon.toFixed(6);
    $("loc-acc").textContent = where.accuracy_m == null ? "—" : t("accuracy_value", { m: Math.round(where.accuracy_m) });
    renderPin();
  }

  function locate() {
    // "Locate again" also drops a pin the worker moved, or an edited report's own location: the
    // phone's fix is used again.
    pin = null;
    kept = null;
    if (!navigator.geolocation) { locationKey = "location_unsupported"; renderLocation(); return; }
    locationKey = fix ? "location_ok" : "location_waiting";
    renderLocation();
    navigator.geolocation.getCurrentPosition(function (position) {
      fix = {
        lat: position.coords.latitude,
        lon: position.coords.longitude,
        accuracy_m: position.coords.accuracy,
        at: position.timestamp
      };
      pin = null;
      locationKey = "location_ok";
      renderLocation();
    }, function (error) {
      locationKey = error && error.code === 1 ? "location_denied" : "location_failed";
      renderLocation();
    }, { enableHighAccuracy: true, timeout: 20000, maximumAge: 60000 });
  }

  /* ---------------------------------------------------------------------- the pin map -- */

  // Metres per degree of latitude on the WGS-84 mean sphere (R = 6 371 km): 2πR / 360.
  var M_PER_DEG = 111195;
  var NUDGE_M = 10;
  var pinMap = null;       // the Leaflet map, made when the first fix arrives
  var pinMarker = null;

  function mPerDegLon(lat) { return M_PER_DEG * Math.cos(lat * Math.PI / 180); }

  function escapeText(text) {
    var span = document.createElement("span");
    span.textContent = String(text || "");
    return span.innerHTML; // Leaflet writes attributions as HTML; the setting is plain text
  }

  function makePinMap(at) {
    var box = $("pin-map");
    if (pinMap || !window.L) { return; }
    var tileUrl = box.getAttribute("data-tile-url") || "";
    pinMap = window.L.map(box, {
      center: [at.lat, at.lon],
      zoom: 18,
      maxZoom: 19,
      minZoom: 3,
      attributionControl: !!tileUrl
    });
    if (tileUrl) {
      // Only when the operator set MAP_TILE_URL (the CSP allows exactly that origin).
      window.L.tileLayer(tileUrl, {
        maxZoom: 19,
        subdomains: box.getAttribute("data-tile-subdomains") || "abc",
        attribution: escapeText(box.getAttribute("data-tile-attribution"))
      }).addTo(pinMap);
    }
    window.L.control.scale({ metric: true, imperial: false }).addTo(pinMap);
    pinMarker = window.L.marker([at.lat, at.lon], {
      draggable: true, autoPan: true, title: t("pin_marker"), alt: t("pin_marker")
    }).addTo(pinMap);
    pinMarker.on("dragend", function () {
      var ll = pinMarker.getLatLng();
      setPin(ll.lat, ll.lng);
    });
  }

  function setPin(lat, lon) {
    pin = { lat: lat, lon: window.L ? window.L.Util.wrapNum(lon, [-180, 180], true) : lon };
    renderLocation();
  }

  function nudge(direction) {
    var from = chosenLocation();
    if (!from) { return; }
    var lat = from.lat;
    var lon = from.lon;
    if (direction === "north") { lat += NUDGE_M / M_PER_DEG; }
    if (direction === "south") { lat -= NUDGE_M / M_PER_DEG; }
    if (direction === "east") { lon += NUDGE_M / mPerDegLon(from.lat); }
    if (direction === "west") { lon -= NUDGE_M / mPerDegLon(from.lat); }
    setPin(Math.max(-90, Math.min(90, lat)), lon);
  }

  /** "Moved 12 m north, 5 m east" of the phone's fix; empty when the pin is on the fix. */
  function offsetText() {
    if (!pin || !fix) { return ""; }
    var north = Math.round((pin.lat - fix.lat) * M_PER_DEG);
    var east = Math.round((pin.lon - fix.lon) * mPerDegLon(fix.lat));
    var parts = [];
    if (north) { parts.push(t(north > 0 ? "pin_part_north" : "pin_part_south", { m: Math.abs(north) })); }
    if (east) { parts.push(t(east > 0 ? "pin_part_east" : "pin_part_west", { m: Math.abs(east) })); }
    return parts.length ? t("pin_moved", { parts: parts.join(t("pin_part_join")) }) : "";
  }

  function renderPinLabels() {
    $("pin-map").setAttribute("aria-label", t("pin_map_label"));
    $("pin-nudge").setAttribute("aria-label", t("pin_nudge_group"));
    document.querySelectorAll("[data-nudge]").forEach(function (b) {
      b.setAttribute("aria-label", t("pin_nudge_" + b.getAttribute("data-nudge")));
    });
    if (pinMarker && pinMarker.getElement()) {
      pinMarker.getElement().setAttribute("title", t("pin_marker"));
      pinMarker.getElement().setAttribute("alt", t("pin_marker"));
    }
  }

  function renderPin() {
    var box = $("pin-box");
    var where = chosenLocation();
    if (!where || !window.L) { box.hidden = true; return; }
    var wasHidden = box.hidden;
    box.hidden = false;
    if (!pinMap) {
      makePinMap(where);
    } else {
      if (wasHidden) { pinMap.invalidateSize(); }
      pinMarker.setLatLng([where.lat, where.lon]);
      if (!pinMap.getBounds().pad(-0.1).contains([where.lat, where.lon])) {
        pinMap.panTo([where.lat, where.lon]);
      }
    }
    var offset = $("pin-offset");
    offset.textContent = offsetText();
    offset.hidden = !offset.textContent;
  }

  /* ------------------------------------------------------------ reference data (API) -- */

  var sectors = [];
  var regions = [];

  function cachedJson(url, cacheKey) {
    return fetch(url, { headers: { Accept: "application/json" }, credentials: "omit" })
      .then(function (r) { if (!r.ok) { throw new Error(String(r.status)); } return r.json(); })
      .then(function (data) {
        try { window.localStorage.setItem(cacheKey, JSON.stringify(data)); } catch (e) { /* full */ }
        return data;
      })
      .catch(function (error) {
        var cached = null;
        try { cached = JSON.parse(window.localStorage.getItem(cacheKey) || "null"); } catch (e) { /* bad */ }
        if (cached) { return cached; }
        throw error;
      });
  }

  function localName(item) {
    return (I.lang() === "en" ? item.name_en : item.name_zh) || item.name_zh || item.name || item.code || item.key;
  }

  function renderSectors() {
    var box = $("sectors");
    var chosen = selectedSector();
    box.replaceChildren();
    sectors.forEach(function (sector) {
      var id = "sector-" + sector.key;
      var input = document.createElement("input");
      input.type = "radio";
      input.name = "sector";
      input.id = id;
      input.value = sector.key;
      input.className = "sector-input";
      input.checked = sector.key === chosen;
      var label = document.createElement("label");
      label.htmlFor = id;
      label.className = "sector-button";
      label.textContent = localName(sector);
      box.append(input, label);
    });
  }

  function selectedSector() {
    var checked = document.querySelector("input[name=sector]:checked");
    return checked ? checked.value : null;
  }

  /** One drop-down a level, province first: a province's thousands of regions never come as one
   * list. Each level below the first starts with "all of" its parent, which is then the choice;
   * the hidden #region holds the code chosen. */
  function renderRegions() {
    var byCode = {};
    regions.forEach(function (region) { byCode[region.code] = region; });
    // A code the list no longer holds (an edited report the server refused for it) is dropped, so
    // the picker and what is sent agree; before the list has come, the code is kept.
    if (regions.length && $("region").value && !byCode[$("region").value]) { $("region").value = ""; }
    var parentOf = function (region) {
      return region.parent_code && byCode[region.parent_code] ? region.parent_code : "";
    };
    var path = [];
    for (var code = $("region").value; code && byCode[code] && path.length < 8; code = parentOf(byCode[code])) {
      path.unshift(code);
    }
    var box = $("region-levels");
    box.replaceChildren();
    var parent = "";
    for (var level = 0; ; level++) {
      var below = regions.filter(function (region) { return parentOf(region) === parent; });
      if (level > 0 && !below.length) { break; }
      var select = document.createElement("select");
      select.id = "region-level-" + level;
      select.dataset.level = String(level);
      select.dataset.parent = parent;
      var first = document.createElement("option");
      first.value = "";
      first.textContent = level === 0 ? t("region_none") : t("region_all", { name: localName(byCode[parent]) });
      select.append(first);
      if (level > 0) { select.setAttribute("aria-label", t("region_within", { name: localName(byCode[parent]) })); }
      below.forEach(function (region) {
        var option = document.createElement("option");
        option.value = region.code;
        option.textContent = localName(region);
        select.append(option);
      });
      select.value = path[level] || "";
      box.append(select);
      if (!path[level]) { break; }
      parent = path[level];
    }
  }

  function chooseRegion(event) {
    var select = event.target;
    if (!select || select.tagName !== "SELECT") { return; }
    $("region").value = select.value || select.dataset.parent || "";
    renderRegions();
    var again = document.getElementById("region-level-" + select.dataset.level);
    if (again) { again.focus(); }
  }

  function loadReferenceData() {
    cachedJson("/api/v1/sectors", "hazard_sectors").then(function (data) {
      sectors = Array.isArray(data) ? data : [];
      renderSectors();
    }).catch(function () {
      var p = document.createElement("p");
      p.className = "form-error";
      p.textContent = t("sectors_failed");
      $("sectors").replaceChildren(p);
    });
    cachedJson("/api/v1/regions", "hazard_regions").then(function (data) {
      regions = Array.isArray(data) ? data : [];
      renderRegions();
    }).catch(function () { /* the fix is the main way; the list is only a fallback */ });
  }

  /* ------------------------------------------------------------------------ the form -- */

  function showFormError(message) {
    var box = $("form-error");
    box.textContent = message;
    box.hidden = !message;
  }

  function showNotice(message) {
    var box = $("notice");
    box.textContent = message;
    box.hidden = !message;
  }

  function updateSendButton() {
    $("send").disabled = processing > 0;
  }

  function submitForm(event) {
    event.preventDefault();
    showFormError("");
    var description = $("description").value.trim();
    var sector = selectedSector();
    if (photos.length < 1 || photos.length > MAX_PHOTOS) { showFormError(t("err_photos")); return; }
    if (!sector) { showFormError(t("err_sector")); return; }
    if (!description) { showFormError(t("err_description")); $("description").focus(); return; }

    var fields = {
      sector: sector,
      description: description,
      region_code: $("region").value || null,
      anonymous: $("anonymous").checked,
      immediate_danger: $("immediate_danger").checked,
      lat: null,
      lon: null,
      accuracy_m: null,
      location_source: "device"
    };
    var where = chosenLocation();
    if (where) {
      fields.lat = where.lat;
      fields.lon = where.lon;
      fields.accuracy_m = where.accuracy_m;
      fields.location_source = where.source; // "manual" once the pin was moved
    }
    var replaces = editingKey;
    var record = {
      key: newKey(),
      created_at: Date.now(),
      state: "queued",
      attempts: 0,
      next_at: 0,
      last_error: null,
      fields: fields,
      photos: photos.map(function (p) {
        return { name: p.name, type: p.type, blob: p.blob, key: p.key || null };
      }),
      result: null
    };
    $("send").disabled = true;
    // Stored first: from here on the report survives a dead network, a closed tab or a reboot.
    putRecord(record).then(function () {
      // An edited report's refused copy goes only now that its new version is stored.
      editingKey = null;
      return replaces ? deleteRecord(replaces) : null;
    }).then(function () {
      resetForm();
      showNotice(t(keptInMemory(record.key) ? "saved_memory_only" : "saved_queued"));
      return render();
    }).then(function () {
      flush(true);
    }).catch(function (error) {
      showFormError(t("save_failed", { detail: String(error && (error.name || error.message) || error) }));
    }).finally(updateSendButton);
  }

  function resetForm() {
    clearPhotos();
    $("description").value = "";
    $("immediate_danger").checked = false;
    document.querySelectorAll("input[name=sector]").forEach(function (i) { i.checked = false; });
    pin = null; // the next hazard starts from the phone's fix again
    kept = null;
    renderLocation();
  }

  /** Put a report the server refused back into the form, with its photos and its location; it
   * gets a new key when sent again. Its stored copy stays (and is listed) until the edited
   * report is stored in its place: a tab closed meanwhile loses nothing. */
  var editingKey = null;

  function editRecord(record) {
    editingKey = record.key;
    clearPhotos();
    (record.photos || []).forEach(function (p) {
      // A photo already in the bucket keeps its key: it is not uploaded again.
      photos.push({ name: p.name, type: p.type, blob: p.blob, originalSize: p.blob.size,
                    reduced: false, url: URL.createObjectURL(p.blob), order: photoOrder++,
                    key: p.key || null });
    });
    renderPreviews();
    $("description").value = record.fields.description || "";
    $("immediate_danger").checked = !!record.fields.immediate_danger;
    $("region").value = record.fields.region_code || "";
    renderRegions();
    var sectorInput = document.getElementById("sector-" + record.fields.sector);
    if (sectorInput) { sectorInput.checked = true; }
    var f = record.fields;
    pin = null;
    kept = f.lat == null || f.lon == null ? null : {
      lat: f.lat, lon: f.lon, accuracy_m: f.accuracy_m == null ? null : f.accuracy_m,
      source: f.location_source === "manual" ? "manual" : "device"
    };
    renderLocation();
    showFormError(record.last_error || "");
    $("report-form").scrollIntoView();
    $("description").focus();
    return Promise.resolve();
  }

  /* ------------------------------------------------------------------- sending (queue) -- */

  var flushing = false;
  var flushAgain = false;
  var sendingKey = null;
  var sendingProgress = null; // "photo 1 of 2" while photos go to the bucket
  var timer = null;
  // On where the form says photos are kept in a bucket, and off for the rest of the page's life
  // once the bucket fails: a network that cannot reach it (or a bucket without CORS for this
  // site) would otherwise cost every report its photos twice.
  var directUploads = false;
  // An upload that got no answer at all is the bucket's fault only if the app then answers the
  // report: a phone that lost its network altogether tries the bucket again next time.
  var bucketSilent = false;

  function formData(record) {
    var f = record.fields;
    var data = new FormData();
    data.append("sector", f.sector);
    data.append("description", f.description);
    if (f.lat !== null && f.lon !== null) {
      data.append("lat", String(f.lat));
      data.append("lon", String(f.lon));
      if (f.accuracy_m !== null && f.accuracy_m !== undefined) {
        data.append("accuracy_m", String(f.accuracy_m));
      }
      // navigator.geolocation answers WGS-84; the pin is moved in metres from that fix.
      data.append("coord_system", "wgs84");
      data.append("location_source", f.location_source === "manual" ? "manual" : "device");
    }
    if (f.region_code) { data.append("region_code", f.region_code); }
    data.append("anonymous", f.anonymous ? "true" : "false");
    data.append("immediate_danger", f.immediate_danger ? "true" : "false");
    var keyed = record.photos.every(function (p) { return p.key; });
    record.photos.forEach(function (p) {
      if (keyed) { data.append("upload_keys", p.key); } else { data.append("photos", p.blob, p.name); }
    });
    return data;
  }

  /** fetch() given up after a minute plus a second for every 32 KB of ``bytes`` (a 6 MB photo
   * at 256 kbit/s): a request the network silently drops must not hold up the queue behind it
   * (a report's retry is safe: it carries the same Idempotency-Key). */
  function timedFetch(url, options, bytes) {
    var abort = new AbortController();
    var timeout = setTimeout(function () { abort.abort(); }, 60000 + 1000 * Math.ceil((bytes || 0) / 32768));
    return fetch(url, Object.assign({}, options, { signal: abort.signal }))
      .finally(function () { clearTimeout(timeout); });
  }

  /** The bucket's key for one photo sent there with a presigned POST, or null: no ticket (the
   * server keeps photos itself, or cannot give one now), or the bucket did not take it. */
  function uploadOne(photo) {
    return timedFetch(API_UPLOADS, {
      method: "POST",
      body: JSON.stringify({ content_type: photo.type || photo.blob.type || "image/jpeg" }),
      headers: { "Content-Type": "application/json", "Accept": "application/json",
                 "Accept-Language": I.acceptLanguage() },
      credentials: "omit",
      cache: "no-store"
    }).then(function (response) {
      if (response.status === 501) { directUploads = false; return null; }
      if (response.status !== 201) { return null; }
      return response.json().then(function (ticket) {
        var form = new FormData();
        Object.keys(ticket.fields || {}).forEach(function (name) {
          form.append(name, ticket.fields[name]);
        });
        form.append("file", photo.blob, photo.name); // a presigned POST takes the file last
        return timedFetch(ticket.url, { method: "POST", body: form, credentials: "omit",
                                        cache: "no-store" }, photo.blob.size)
          .then(function (answer) {
            if (answer.ok) { return ticket.key; }
            directUploads = false; // the bucket answered no
            return null;
          }, function () {
            bucketSilent = true; // unreachable, no CORS, or timed out: postReport decides
            return null;
          });
      });
    }).catch(function () { return null; }); // no network: the report's own attempt says so
  }

  /** Send the record's photos that are not in the bucket yet, one at a time, keeping each key in
   * the stored record as soon as the bucket has the photo; the first failure ends this attempt's
   * uploads (the report then goes inline, and the next attempt starts from the photo that failed). */
  function uploadPhotos(record) {
    var pending = record.photos.filter(function (p) { return !p.key; });
    var failed = false;
    return pending.reduce(function (chain, photo, index) {
      return chain.then(function () {
        if (!directUploads || failed) { return null; }
        sendingProgress = t("uploading_photo", { n: index + 1, total: pending.length });
        render();
        return uploadOne(photo).then(function (key) {
          if (!key) { failed = true; return null; }
          photo.key = key;
          return putRecord(record);
        });
      });
    }, Promise.resolve()).finally(function () {
      sendingProgress = null;
    });
  }

  /** Whether the server refused the report for one of its upload keys (expired and removed,
   * never stored, already another report's): the photos are then sent inline instead. */
  function refusedUploadKeys(record, body) {
    var error = body && body.error;
    if (!error || !record.photos.every(function (p) { return p.key; })) { return false; }
    return error.field === "upload_keys" || /^upload_/.test(String(error.code || ""));
  }

  function backoff(record, message, retryAfterSeconds) {
    record.attempts += 1;
    var ceiling = Math.min(BACKOFF_CAP_MS, BACKOFF_BASE_MS * Math.pow(2, record.attempts - 1));
    var delay = ceiling / 2 + Math.random() * ceiling / 2;
    if (retryAfterSeconds > 0) { delay = Math.max(delay, retryAfterSeconds * 1000); }
    record.state = "queued";
    record.next_at = Date.now() + delay;
    record.last_error = message;
    return putRecord(record);
  }

  function errorMessage(body, status) {
    if (body && body.error && body.error.message) { return String(body.error.message); }
    return "HTTP " + status;
  }

  function sendOne(record) {
    sendingKey = record.key;
    bucketSilent = false;
    render();
    return (directUploads ? uploadPhotos(record) : Promise.resolve()).then(function () {
      return postReport(record);
    }).finally(function () {
      sendingKey = null;
    });
  }

  function postReport(record) {
    var inline = record.photos.every(function (p) { return p.key; }) ? [] : record.photos;
    var bytes = inline.reduce(function (sum, p) { return sum + p.blob.size; }, 0);
    return timedFetch(API_REPORTS, {
      method: "POST",
      body: formData(record),
      // The key, not a cookie, makes the retry safe; no cookie also means no CSRF token to hold.
      headers: { "Idempotency-Key": record.key, "Accept": "application/json",
                 "Accept-Language": I.acceptLanguage() },
      credentials: "omit",
      cache: "no-store"
    }, bytes).then(function (response) {
      if (bucketSilent) { directUploads = false; } // the app answers where the bucket did not
      bucketSilent = false;
      return response.json().catch(function () { return null; }).then(function (body) {
        if (response.ok && body && body.id) { return markSent(record, body); }
        if (response.status < 500 && refusedUploadKeys(record, body)) {
          directUploads = false; // the bucket's answers cannot be trusted on this page
          record.photos.forEach(function (p) { p.key = null; });
          return putRecord(record).then(function () { return postReport(record); });
        }
        if (response.ok || response.status === 408 || response.status === 429 || response.status >= 500) {
          var retryAfter = parseInt(response.headers.get("Retry-After") || "0", 10) || 0;
          return backoff(record, errorMessage(body, response.status), retryAfter);
        }
        record.state = "error";
        record.last_error = errorMessage(body, response.status);
        // Said in the live region too: the card itself is not announced.
        return putRecord(record).then(function () {
          showNotice(t("notice_refused", { message: record.last_error }));
        });
      });
    }, function () {
      bucketSilent = false; // no network at all: the bucket may well be fine
      return backoff(record, t("network_error"), 0); // offline, DNS, reset: try again later
    });
  }

  function markSent(record, body) {
    record.state = "sent";
    record.sent_at = Date.now();
    record.last_error = null;
    record.photos = []; // the server holds them now; free the phone's storage
    record.result = {
      id: body.id,
      followup_token: body.followup_token || null,
      severity: body.severity || null,
      status: body.status || null,
      sector_name: body.sector_name || null,
      advice: body.advice || null,
      duplicate_candidates: Array.isArray(body.duplicate_candidates) ? body.duplicate_candidates.length : 0
    };
    return putRecord(record).then(function () {
      if (body.advice) { showAdvice(body.advice); }
      var tokenUnsaved = keptInMemory(record.key) && Boolean(record.result.followup_token);
      showNotice(t(tokenUnsaved ? "token_memory_only"
        : unsentInMemory() ? "saved_memory_only" : "notice_sent"));
    });
  }

  function withLock(work) {
    // Two open tabs must not send the same queue at once (the key would still save us).
    if (navigator.locks && typeof navigator.locks.request === "function") {
      return navigator.locks.request("hazard-reporter-send", work);
    }
    return work();
  }

  function flush(force) {
    if (flushing) { flushAgain = flushAgain || !!force; return Promise.resolve(); }
    flushing = true;
    clearTimeout(timer);
    return withLock(function () {
      var loop = function (forceNow) {
        flushAgain = false;
        return allRecords().then(function (records) {
          var now = Date.now();
          var due = records.filter(function (r) {
            return r.state === "queued" && (forceNow || r.next_at <= now);
          });
          return due.reduce(function (chain, r) {
            return chain.then(function () {
              return getRecord(r.key).then(function (fresh) { // another tab may have sent it
                return fresh && fresh.state === "queued" ? sendOne(fresh) : null;
              });
            });
          }, Promise.resolve());
        }).then(function () {
          if (flushAgain) { return loop(true); }
          return null;
        });
      };
      return loop(!!force);
    }).catch(function () { /* stays queued */ }).finally(function () {
      flushing = false;
      render().then(scheduleNext);
    });
  }

  function scheduleNext() {
    clearTimeout(timer);
    allRecords().then(function (records) {
      var next = records.filter(function (r) { return r.state === "queued"; })
        .reduce(function (min, r) { return Math.min(min, r.next_at); }, Infinity);
      if (next !== Infinity) {
        timer = setTimeout(function () { flush(false); }, Math.max(0, next - Date.now()));
      }
    });
  }

  /* -------------------------------------------------------------------------- rendering -- */

  function severityBadge(severity) {
    var badge = document.createElement("span");
    badge.className = "badge sev-" + (/^(red|orange|yellow|blue)$/.test(severity) ? severity : "none");
    badge.textContent = I.has("severity_" + severity) ? t("severity_" + severity) : String(severity || "");
    return badge;
  }

  function textLine(className, text) {
    var p = document.createElement("p");
    p.className = className;
    p.textContent = text;
    return p;
  }

  function button(label, className, onClick) {
    var b = document.createElement("button");
    b.type = "button";
    b.className = className;
    b.textContent = label;
    b.addEventListener("click", onClick);
    return b;
  }

  function pendingCard(record) {
    var li = document.createElement("li");
    li.className = "card pending-report" + (record.state === "error" ? " is-error" : "");
    li.dataset.key = record.key;
    var state = record.key === sendingKey ? "state_sending"
      : record.state === "error" ? "state_error" : "state_queued";
    var progress = record.key === sendingKey && sendingProgress;
    li.append(textLine("card-state", progress || t(state)));
    li.append(textLine("card-text", record.fields.description));
    if (record.state === "queued" && record.attempts > 0 && record.key !== sendingKey) {
      li.append(textLine("hint", t("next_try", { n: record.attempts })));
    }
    if (record.state === "error" && record.last_error) {
      li.append(textLine("form-error", record.last_error));
    }
    var actions = document.createElement("div");
    actions.className = "card-actions";
    if (record.state === "queued" && record.key !== sendingKey) {
      actions.append(button(t("retry_now"), "secondary small", function () { flush(true); }));
    }
    if (record.state === "error") {
      actions.append(button(t("edit"), "secondary small", function () { editRecord(record); }));
      actions.append(button(t("delete"), "danger small", function () {
        if (window.confirm(t("confirm_delete"))) { deleteRecord(record.key).then(render); }
      }));
    }
    li.append(actions);
    return li;
  }

  function sentCard(record) {
    var result = record.result || {};
    var li = document.createElement("li");
    li.className = "card sent-report";
    li.dataset.reportId = String(result.id);
    var head = document.createElement("p");
    head.className = "card-state";
    var label = document.createElement("span");
    label.textContent = t("sent") + " · " + t("report_no") + " " + result.id + " ";
    head.append(label);
    if (result.severity) { head.append(severityBadge(result.severity)); }
    li.append(head);
    li.append(textLine("card-text", record.fields.description));
    if (result.followup_token) {
      var tokenLine = document.createElement("p");
      tokenLine.className = "token-line";
      var tokenLabel = document.createElement("span");
      tokenLabel.textContent = t("followup_token") + "：";
      var code = document.createElement("code");
      code.className = "token";
      code.textContent = result.followup_token;
      tokenLine.append(tokenLabel, code);
      li.append(tokenLine, textLine("hint", t("token_hint")));
      var link = document.createElement("a");
      link.className = "status-link";
      // The token goes in the fragment: it never reaches a server log or a Referer header.
      link.href = "/status#id=" + encodeURIComponent(result.id) +
        "&token=" + encodeURIComponent(result.followup_token);
      link.textContent = t("view_status");
      li.append(link);
    }
    return li;
  }

  function render() {
    return allRecords().then(function (records) {
      var waiting = records.filter(function (r) { return r.state !== "sent"; });
      var queued = waiting.filter(function (r) { return r.state === "queued"; });
      var sent = records.filter(function (r) { return r.state === "sent"; }).reverse();
      var count = $("waiting-count");
      count.hidden = queued.length === 0;
      count.replaceChildren();
      if (queued.length) {
        var strong = document.createElement("strong");
        strong.textContent = t("waiting", { n: queued.length });
        count.append(strong, document.createTextNode(" " + t("waiting_hint")));
      }
      $("pending-list").replaceChildren.apply($("pending-list"), waiting.map(pendingCard));
      $("sent-list").replaceChildren.apply($("sent-list"), sent.map(sentCard));
    });
  }

  /* ----------------------------------------------------------------------------- advice -- */

  var shownAdvice = null;

  function showAdvice(advice) {
    shownAdvice = advice;
    var box = $("advice");
    $("advice-title").textContent = String(advice.title || "");
    $("advice-text").textContent = String(advice.text || "");
    var phones = advice.phones || {};
    [["fire", "119"], ["police", "110"], ["ambulance", "120"]].forEach(function (pair) {
      var number = /^[0-9]{3,6}$/.test(String(phones[pair[0]] || "")) ? String(phones[pair[0]]) : pair[1];
      var link = $("advice-call-" + pair[1]);
      link.href = "tel:" + number;
      link.lastChild.textContent = " " + number;
    });
    box.hidden = false;
    box.setAttribute("tabindex", "-1");
    window.scrollTo(0, 0);
    box.focus();
  }

  /* ------------------------------------------------------------------------------ start -- */

  function start() {
    directUploads = $("report-form").dataset.directUploads === "true";
    $("photos").addEventListener("change", function (event) {
      addFiles(event.target.files);
      event.target.value = ""; // the same photo can be taken or chosen again
    });
    $("report-form").addEventListener("submit", submitForm);
    $("locate").addEventListener("click", locate);
    $("region-levels").addEventListener("change", chooseRegion);
    document.querySelectorAll("[data-nudge]").forEach(function (b) {
      b.addEventListener("click", function () { nudge(b.getAttribute("data-nudge")); });
    });
    renderPinLabels();
    $("advice-close").addEventListener("click", function () { $("advice").hidden = true; });
    window.addEventListener("online", function () { flush(true); });
    document.addEventListener("visibilitychange", function () {
      if (document.visibilityState === "visible") { flush(false); }
    });
    I.onChange(function () {
      renderSectors();
      renderRegions();
      renderLocation();
      renderPinLabels();
      renderPreviews();
      render();
    });
    // A report kept only in memory dies with the page: closing it asks first.
    window.addEventListener("beforeunload", function (event) {
      if (unsentInMemory()) { event.preventDefault(); event.returnValue = ""; }
    });
    loadReferenceData();
    locate();
    render().then(function () { flush(true); });
  }

  start();
})();
