// insitu dashboard: an element #live is kept current with the HTML
// fragments of a service's stats: server-sent events from data-events, or,
// when EventSource fails, polling data-src every second. Plain
// JavaScript, no build step.
(function () {
  "use strict";
  var box = document.getElementById("live");
  if (!box) { return; }
  function stopped(why) {
    var p = document.createElement("p");
    p.className = "error";
    p.textContent = "Live stats stopped (" + why + "). Reload the page.";
    box.prepend(p);
  }
  function tick() {
    fetch(box.dataset.src, { credentials: "same-origin", headers: { "Accept": "text/html" } }).then(function (r) {
      if (!r.ok || r.redirected) { throw new Error(r.redirected ? "signed out" : "status " + r.status); }
      return r.text();
    }).then(function (html) {
      box.innerHTML = html;
      setTimeout(tick, 1000);
    }).catch(function (err) { stopped(err.message); });
  }
  if (!window.EventSource || !box.dataset.events) { setTimeout(tick, 1000); return; }
  var es = new EventSource(box.dataset.events);
  box.dataset.live = "events";
  es.onmessage = function (e) { box.innerHTML = e.data; };
  es.addEventListener("end", function (e) { es.close(); stopped(e.data); });
  es.onerror = function () {
    if (es.readyState === EventSource.CLOSED) {
      box.dataset.live = "polling";
      setTimeout(tick, 1000);
    }
  };
})();
