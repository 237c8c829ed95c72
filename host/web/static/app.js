// batchhost dashboard: selection helpers and live updates. Pages are
// rendered on the server; this script only applies what the server pushes
// over one EventSource (no polling) and re-reads a page's fragments when
// told to. Everything it keeps is bounded: the log list is trimmed, the
// "new jobs" count is a number.
(function () {
  "use strict";

  // Selection on the job list.
  var page = document.getElementById("select-page");
  var all = document.getElementById("all-matching");
  function picks() { return document.querySelectorAll('#bulk input[name="id"]'); }
  if (page) {
    page.addEventListener("change", function () {
      picks().forEach(function (b) { b.checked = page.checked; });
    });
  }
  if (all) {
    all.addEventListener("change", function () {
      picks().forEach(function (b) { b.disabled = all.checked; if (all.checked) { b.checked = true; } });
      if (page) { page.checked = all.checked; page.disabled = all.checked; }
    });
  }
  var bulk = document.getElementById("bulk");
  if (bulk) {
    bulk.addEventListener("submit", function (e) {
      var btn = e.submitter;
      if (!btn) { return; }
      var n = all && all.checked ? "every job matching the filter" : document.querySelectorAll('#bulk input[name="id"]:checked').length + " selected jobs";
      if (!confirm(btn.textContent + " " + n + "?")) { e.preventDefault(); }
    });
  }

  var live = document.body.dataset.live;
  if (!live || !window.EventSource) { return; }
  var status = document.getElementById("live-status");

  // Fragments: elements whose data-fragment (re-read on "changed") or
  // data-resync (re-read only when updates were lost) URL renders their
  // contents. One request per element at a time; a request asked for while
  // one is in flight runs once after it.
  var busy = new WeakMap();
  function refresh(el, url) {
    var st = busy.get(el);
    if (st) { st.again = true; return; }
    busy.set(el, { again: false });
    fetch(url, { headers: { Accept: "text/html" }, credentials: "same-origin" })
      .then(function (r) { return r.ok ? r.text() : Promise.reject(r.status); })
      .then(function (html) {
        var keep = el.hasAttribute("data-keep-checked") ? checkedIDs(el) : null;
        el.innerHTML = html;
        if (keep) { restoreChecked(el, keep); }
      })
      .catch(function () {})
      .then(function () {
        var again = busy.get(el).again;
        busy.delete(el);
        if (again) { refresh(el, url); }
      });
  }
  function checkedIDs(el) {
    var s = new Set();
    el.querySelectorAll('input[name="id"]:checked').forEach(function (b) { s.add(b.value); });
    return s;
  }
  function restoreChecked(el, keep) {
    el.querySelectorAll('input[name="id"]').forEach(function (b) {
      b.checked = keep.has(b.value) || (all && all.checked);
      b.disabled = !!(all && all.checked);
    });
  }
  function reloadFragments(resync) {
    document.querySelectorAll("[data-fragment]").forEach(function (el) { refresh(el, el.dataset.fragment); });
    if (resync) {
      document.querySelectorAll("[data-resync]").forEach(function (el) { refresh(el, el.dataset.resync); });
    }
  }

  function sel(attr, id) { return "[" + attr + '="' + CSS.escape(id) + '"]'; }

  function applyState(s) {
    document.querySelectorAll(sel("data-job-state", s.job)).forEach(function (el) {
      el.textContent = s.state;
      el.className = el.className.replace(/\bst-\w+/, "st-" + s.state);
    });
    document.querySelectorAll(sel("data-node", s.job)).forEach(function (g) {
      g.setAttribute("class", "node st-" + s.state);
      var t = g.querySelector("title");
      if (t) { t.textContent = t.textContent.replace(/\(\w+\)$/, "(" + s.state + ")"); }
    });
  }

  function applyProgress(p) {
    document.querySelectorAll(sel("data-progress", p.job)).forEach(function (el) { el.value = p.fraction; });
    document.querySelectorAll(sel("data-progress-text", p.job)).forEach(function (el) {
      el.textContent = Math.round(Math.max(0, Math.min(1, p.fraction)) * 100) + "%" + (p.message ? " · " + p.message : "");
    });
  }

  function appendLogs(logs) {
    var list = document.getElementById("log-lines");
    if (!list) { return; }
    var empty = document.getElementById("log-empty");
    if (empty) { empty.remove(); }
    var max = parseInt(list.dataset.max, 10) || 500;
    logs.forEach(function (l) {
      var li = document.createElement("li");
      li.className = "lv-" + l.level;
      var t = document.createElement("time");
      t.textContent = l.time;
      var lv = document.createElement("span");
      lv.className = "lv";
      lv.textContent = l.level;
      var at = document.createElement("span");
      at.className = "att";
      at.textContent = "#" + l.attempt;
      li.append(t, " ", lv, " ", at, " " + l.message);
      if (l.fields) {
        var f = document.createElement("code");
        f.textContent = l.fields;
        li.append(" ", f);
      }
      list.appendChild(li);
    });
    while (list.children.length > max) { list.removeChild(list.firstElementChild); }
    list.scrollTop = list.scrollHeight;
  }

  var submitted = 0;
  function noteSubmitted(n) {
    var box = document.getElementById("new-jobs");
    if (!box) { return; }
    submitted += n;
    box.querySelector(".n").textContent = submitted;
    box.hidden = false;
  }

  var es = new EventSource(live);
  es.onopen = function () {
    if (status) { status.classList.remove("down"); status.textContent = "live"; }
    // Re-read once the stream is open: whatever changed between the page's
    // rendering (or an outage) and the subscription would be missed else.
    reloadFragments(true);
    document.body.setAttribute("data-live-open", "");
  };
  es.onerror = function () {
    document.body.removeAttribute("data-live-open");
    if (status) { status.classList.add("down"); status.textContent = "reconnecting"; }
  };
  es.onmessage = function (e) {
    var m;
    try { m = JSON.parse(e.data); } catch (err) { return; }
    (m.states || []).forEach(applyState);
    (m.progress || []).forEach(applyProgress);
    if (m.logs) { appendLogs(m.logs); }
    if (m.submitted) { noteSubmitted(m.submitted); }
    if (m.resync || m.logs_lost) {
      reloadFragments(true);
    } else if (m.changed) {
      reloadFragments(false);
    }
  };
  window.addEventListener("pagehide", function () { es.close(); });
})();
