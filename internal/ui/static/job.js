// insitu dashboard: a job's page follows its progress live until the job
// ends: server-sent events from data-events (the whole fragment, then
// "patch" events holding only the changed parts, each an element that
// replaces the one with its id; the task rows come in one table), or, when EventSource fails, polling the
// fragment at data-src every second. Plain JavaScript, no build step.
(function () {
  "use strict";
  var box = document.getElementById("progress");
  if (!box || box.dataset.done === "true") { return; }
  function show(html) {
    box.innerHTML = html;
    return settled();
  }
  // patch puts each element of html in place of the one with its id; a
  // part the page lacks (it cannot be placed) reloads the fragment.
  function patch(html) {
    var t = document.createElement("template");
    t.innerHTML = html;
    var missing = false;
    var parts = [];
    Array.prototype.slice.call(t.content.children).forEach(function (el) {
      if (el.tagName === "TABLE") { // the changed task rows
        parts = parts.concat(Array.prototype.slice.call(el.rows));
      } else {
        parts.push(el);
      }
    });
    parts.forEach(function (el) {
      var old = el.id ? document.getElementById(el.id) : null;
      if (old && box.contains(old)) { old.replaceWith(el); } else { missing = true; }
    });
    box.dataset.patches = String(Number(box.dataset.patches || 0) + 1);
    if (missing) { es.close(); box.dataset.live = "polling"; setTimeout(tick, 0); return false; }
    return settled();
  }
  // settled says whether the job has ended, and then stops following it.
  function settled() {
    var st = document.getElementById("job-state");
    var state = st ? st.textContent : "";
    if (state === "succeeded" || state === "failed" || state === "cancelled") {
      box.dataset.done = "true";
      var c = document.getElementById("cancel-job");
      if (c) { c.closest("form").remove(); }
      return true;
    }
    return false;
  }
  function stopped(why) {
    var p = document.createElement("p");
    p.className = "error";
    p.textContent = "Live progress stopped (" + why + "). Reload the page.";
    box.prepend(p);
  }
  function tick() {
    fetch(box.dataset.src, { credentials: "same-origin", headers: { "Accept": "text/html" } }).then(function (r) {
      if (!r.ok || r.redirected) { throw new Error(r.redirected ? "signed out" : "status " + r.status); }
      return r.text();
    }).then(function (html) {
      if (!show(html)) { setTimeout(tick, 1000); }
    }).catch(function (err) { stopped(err.message); });
  }
  if (!window.EventSource || !box.dataset.events) { setTimeout(tick, 1000); return; }
  var es = new EventSource(box.dataset.events);
  box.dataset.live = "events";
  es.onmessage = function (e) { if (show(e.data)) { es.close(); } };
  es.addEventListener("patch", function (e) { if (patch(e.data)) { es.close(); } });
  es.addEventListener("end", function (e) {
    es.close();
    if (e.data === "signed out") { stopped("signed out"); }
  });
  es.onerror = function () {
    if (es.readyState === EventSource.CLOSED && box.dataset.done !== "true") {
      box.dataset.live = "polling";
      setTimeout(tick, 1000);
    }
  };
})();
