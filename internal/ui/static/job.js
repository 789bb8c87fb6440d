// insitu dashboard: a job's page follows its progress live until the job
// ends: server-sent events from data-events, or, when EventSource fails,
// polling the fragment at data-src every second. Plain JavaScript, no
// build step.
(function () {
  "use strict";
  var box = document.getElementById("progress");
  if (!box || box.dataset.done === "true") { return; }
  function show(html) {
    box.innerHTML = html;
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
