// The exam page: autosave with sequence numbers, an offline queue that survives reloads, a timer driven by the
// server's remaining seconds (counted down on a monotonic clock, never the device's date), a navigator,
// confirmation before handing in, screen-reader announcements, and focus-loss events.
// Without JavaScript the page is a plain form that saves and hands in.
(function () {
  "use strict";
  var root = document.getElementById("exam-root");
  if (!root) { return; }

  var attemptId = root.getAttribute("data-attempt");
  var api = "/api/v1/attempts/" + attemptId;
  var resultUrl = root.getAttribute("data-result-url");
  var storeKey = "exam-pending-" + attemptId;
  var form = document.getElementById("exam-form");
  var statusEl = document.getElementById("save-status");
  var offlineEl = document.getElementById("offline-warning");
  var timerEl = document.getElementById("timer-value");
  var announcer = document.getElementById("announcer");
  var dialog = document.getElementById("confirm-submit");
  var finished = false;
  var submitting = false;

  function msg(name, values) {
    var text = root.getAttribute("data-msg-" + name) || "";
    Object.keys(values || {}).forEach(function (key) { text = text.replace("%(" + key + ")s", values[key]); });
    return text;
  }

  // --- time -----------------------------------------------------------------------------------------
  var syncRemaining = Number(root.getAttribute("data-remaining")) || 0;
  var syncAt = performance.now();
  function remaining() { return Math.max(0, syncRemaining - (performance.now() - syncAt) / 1000); }
  function sync(seconds) {
    if (typeof seconds === "number") { syncRemaining = seconds; syncAt = performance.now(); }
  }
  function pad(n) { return (n < 10 ? "0" : "") + n; }
  function clock(seconds) {
    return Math.floor(seconds / 3600) + ":" + pad(Math.floor(seconds % 3600 / 60)) + ":" + pad(seconds % 60);
  }
  var announced = {};
  function announce(text) { announcer.textContent = ""; window.setTimeout(function () { announcer.textContent = text; }, 50); }
  function tick() {
    if (finished) { return; }
    var left = Math.ceil(remaining());
    timerEl.textContent = clock(left);
    [10, 5, 1].forEach(function (minutes) {
      if (left <= minutes * 60 && !announced[minutes]) {
        announced[minutes] = true;
        if (left > minutes * 60 - 30) { announce(msg("minutes", {n: minutes})); }
      }
    });
    if (left <= 0) { timeUp(); }
  }

  // --- answers --------------------------------------------------------------------------------------
  var questions = Array.prototype.slice.call(form.querySelectorAll("fieldset.exam-question"));
  var byPosition = {};
  var seq = 0;
  questions.forEach(function (fs) {
    byPosition[fs.getAttribute("data-position")] = fs;
    seq = Math.max(seq, Number(fs.getAttribute("data-seq")) || 0);
  });

  function responseOf(fs) {
    var pos = fs.getAttribute("data-position");
    var type = fs.getAttribute("data-type");
    var name = "q" + pos;
    if (type === "single") {
      var one = fs.querySelector('input[name="' + name + '"]:checked');
      return one ? one.value : null;
    }
    if (type === "multiple") {
      var keys = Array.prototype.map.call(fs.querySelectorAll('input[name="' + name + '"]:checked'),
        function (el) { return el.value; });
      return keys.length ? keys : null;
    }
    if (type === "true_false") {
      var tf = fs.querySelector('input[name="' + name + '"]:checked');
      return tf ? tf.value === "true" : null;
    }
    if (type === "fill_blank") {
      var blanks = Array.prototype.map.call(fs.querySelectorAll("input[data-blank]"), function (el) { return el.value; });
      return blanks.some(function (b) { return b.trim() !== ""; }) ? blanks : null;
    }
    var text = fs.querySelector("textarea").value;
    return text.trim() ? text : null;
  }
  function flaggedOf(fs) { return fs.querySelector('input[name="f' + fs.getAttribute("data-position") + '"]').checked; }

  function applyResponse(fs, response, flagged) {
    var type = fs.getAttribute("data-type");
    if (type === "fill_blank") {
      fs.querySelectorAll("input[data-blank]").forEach(function (el, i) { el.value = (response || [])[i] || ""; });
    } else if (type === "case_analysis") {
      fs.querySelector("textarea").value = response || "";
    } else {
      var wanted = response === null ? [] : [].concat(response).map(String);
      fs.querySelectorAll('input[name="q' + fs.getAttribute("data-position") + '"]').forEach(function (el) {
        el.checked = wanted.indexOf(el.value) >= 0;
      });
    }
    fs.querySelector('input[name="f' + fs.getAttribute("data-position") + '"]').checked = !!flagged;
  }

  function updateNav(fs) {
    var pos = fs.getAttribute("data-position");
    var link = document.getElementById("nav-" + pos);
    var answered = responseOf(fs) !== null;
    var flagged = flaggedOf(fs);
    link.classList.toggle("answered", answered);
    link.classList.toggle("flagged", flagged);
    link.setAttribute("aria-label", msg("question", {n: pos}) + "，" + (answered ? msg("answered") : msg("not-answered")) +
      (flagged ? "，" + msg("flagged") : ""));
  }

  // --- the queue of saves (kept in localStorage until the server acknowledges them) ---------------------
  var pending = {};
  var inflight = {};
  var retryTimer = null;
  try { pending = JSON.parse(window.localStorage.getItem(storeKey) || "{}") || {}; } catch (e) { pending = {}; }
  function persist() {
    try { window.localStorage.setItem(storeKey, JSON.stringify(pending)); } catch (e) { /* private mode: memory only */ }
  }
  function pendingCount() { return Object.keys(pending).length; }

  function showOnline() {
    offlineEl.hidden = true;
    statusEl.textContent = pendingCount() ? msg("saving") : msg("saved");
  }
  function showOffline() {
    offlineEl.hidden = false;
    offlineEl.textContent = msg("offline") + " " + msg("unsaved", {n: pendingCount()});
    statusEl.textContent = msg("unsaved", {n: pendingCount()});
  }
  function scheduleRetry() {
    if (retryTimer === null) {
      retryTimer = window.setTimeout(function () { retryTimer = null; flushAll(); }, 3000);
    }
  }

  function request(method, url, body) {
    return fetch(url, {
      method: method, credentials: "same-origin", cache: "no-store",
      headers: {"Content-Type": "application/json", "X-CSRFToken": window.csrfToken()},
      body: body === undefined ? undefined : JSON.stringify(body)
    }).then(function (r) {
      return r.json().catch(function () { return {}; }).then(function (data) { return {status: r.status, body: data}; });
    });
  }

  function goToResult() {
    finished = true;
    try { window.localStorage.removeItem(storeKey); } catch (e) { /* ignore */ }
    window.location.assign(resultUrl);
  }

  function send(pos) {
    var entry = pending[pos];
    if (!entry || inflight[pos]) { return; }
    inflight[pos] = true;
    statusEl.textContent = msg("saving");
    request("PUT", api + "/items/" + pos, entry).then(function (res) {
      delete inflight[pos];
      if (res.status === 200) {
        if (pending[pos] && pending[pos].seq <= entry.seq) { delete pending[pos]; }
        persist();
        sync(res.body.remaining_seconds);
        showOnline();
        if (pending[pos]) { send(pos); }
        checkDrained();
      } else if (res.status === 409) {
        pending = {};
        persist();
        statusEl.textContent = (res.body.error && res.body.error.message) || "";
        window.setTimeout(goToResult, 1500);
      } else if (res.status >= 400 && res.status < 500 && res.status !== 408 && res.status !== 429) {
        delete pending[pos];
        persist();
        statusEl.textContent = (res.body.error && res.body.error.message) || "";
        checkDrained();
      } else {
        throw new Error("status " + res.status);
      }
    }).catch(function () {
      delete inflight[pos];
      showOffline();
      scheduleRetry();
    });
  }
  function flushAll() { Object.keys(pending).forEach(send); }

  var drainWaiters = [];
  function checkDrained() {
    if (!pendingCount()) {
      var waiters = drainWaiters;
      drainWaiters = [];
      waiters.forEach(function (fn) { fn(); });
    }
  }
  function whenDrained(fn) { drainWaiters.push(fn); flushAll(); checkDrained(); }

  function queue(fs) {
    if (finished || submitting) { return; }
    seq += 1;
    pending[fs.getAttribute("data-position")] = {response: responseOf(fs), flagged: flaggedOf(fs), seq: seq};
    persist();
    updateNav(fs);
    send(fs.getAttribute("data-position"));
  }

  var debounce = {};
  questions.forEach(function (fs) {
    fs.addEventListener("change", function () { window.clearTimeout(debounce[fs.id]); queue(fs); });
    fs.addEventListener("input", function (event) {
      if (event.target.matches("textarea, input[type=text]")) {
        window.clearTimeout(debounce[fs.id]);
        debounce[fs.id] = window.setTimeout(function () { queue(fs); }, 800);
        updateNav(fs);
      }
    });
  });

  // --- handing in -----------------------------------------------------------------------------------
  function submitNow() {
    if (finished) { return; }
    submitting = true;
    statusEl.textContent = msg("submitting");
    whenDrained(function () {
      request("POST", api + "/submit", {}).then(function (res) {
        if (res.status === 200 || res.status === 409 || res.status === 404) { goToResult(); return; }
        throw new Error("status " + res.status);
      }).catch(function () {
        showOffline();
        window.setTimeout(function () { finished = false; submitNow(); }, 3000);
      });
    });
  }
  var checkingTime = false;
  function timeUp() {
    if (submitting || finished || checkingTime) { return; }
    // Ask the server first: extra time may have been granted since the last sync.
    checkingTime = true;
    request("GET", api).then(function (res) {
      checkingTime = false;
      if (res.status === 200 && res.body.status === "in_progress" && res.body.remaining_seconds > 1) {
        sync(res.body.remaining_seconds);
        return;
      }
      handIn();
    }).catch(function () { checkingTime = false; handIn(); });
  }
  function handIn() {
    if (submitting || finished) { return; }
    announce(msg("time-up"));
    form.querySelectorAll("input, textarea, button").forEach(function (el) { el.disabled = true; });
    submitting = true;
    // The server rounds the time left down: its deadline may be up to a second after our zero.
    window.setTimeout(function () { submitting = false; submitNow(); }, 1500);
  }

  form.addEventListener("submit", function (event) {
    event.preventDefault();
    var action = event.submitter ? event.submitter.value : "save";
    if (action !== "submit") { flushAll(); showOnline(); return; }
    var unanswered = questions.filter(function (fs) { return responseOf(fs) === null; })
      .map(function (fs) { return fs.getAttribute("data-position"); });
    var text = unanswered.length ? msg("unanswered", {list: unanswered.join("、")}) : msg("all-answered");
    document.getElementById("confirm-unanswered").textContent = text;
    if (dialog && typeof dialog.showModal === "function") {
      dialog.showModal();
      document.getElementById("confirm-no").focus();
    } else if (window.confirm(text)) {
      submitNow();
    }
  });
  document.getElementById("confirm-yes").addEventListener("click", function () { dialog.close(); submitNow(); });
  document.getElementById("confirm-no").addEventListener("click", function () { dialog.close(); });

  // --- focus losses (切屏) ----------------------------------------------------------------------------
  var lastFocusEvent = 0;
  function focusLost(kind) {
    if (finished || submitting || performance.now() - lastFocusEvent < 2000) { return; }
    lastFocusEvent = performance.now();
    request("POST", api + "/events", {kind: kind}).then(function (res) {
      if (res.status === 200 && res.body.status && res.body.status !== "in_progress") { goToResult(); }
    }).catch(function () { /* recorded when the connection allows; nothing to keep */ });
  }
  document.addEventListener("visibilitychange", function () { if (document.hidden) { focusLost("hidden"); } });
  window.addEventListener("blur", function () { focusLost("blur"); });
  window.addEventListener("online", flushAll);

  // --- start: restore unsent answers, then ask the server for the real time left ---------------------
  Object.keys(pending).forEach(function (pos) {
    var fs = byPosition[pos];
    if (!fs) { delete pending[pos]; return; }
    seq = Math.max(seq, pending[pos].seq);
    applyResponse(fs, pending[pos].response, pending[pos].flagged);
  });
  persist();
  questions.forEach(updateNav);
  request("GET", api).then(function (res) {
    if (res.status !== 200) { return; }
    if (res.body.status !== "in_progress") { goToResult(); return; }
    sync(res.body.remaining_seconds);
    (res.body.items || []).forEach(function (item) { seq = Math.max(seq, item.seq || 0); });
    showOnline();
  }).catch(showOffline);
  flushAll();
  tick();
  window.setInterval(tick, 500);
  // Re-read the time left now and then (extra time granted by the legal department shows up).
  window.setInterval(function () {
    if (finished || submitting) { return; }
    request("GET", api).then(function (res) {
      if (res.status === 200 && res.body.status === "in_progress") { sync(res.body.remaining_seconds); }
      else if (res.status === 200) { goToResult(); }
    }).catch(function () { /* the save queue shows the connection state */ });
  }, 120000);
})();
