// insitu dashboard: an element with data-src is replaced every second by
// the HTML fragment at that address (a service's live stats). Plain
// JavaScript, no build step.
(function () {
  "use strict";
  var box = document.getElementById("live");
  if (!box) { return; }
  function tick() {
    fetch(box.dataset.src, { credentials: "same-origin", headers: { "Accept": "text/html" } }).then(function (r) {
      if (!r.ok) { throw new Error("status " + r.status); }
      return r.text();
    }).then(function (html) {
      box.innerHTML = html;
      setTimeout(tick, 1000);
    }).catch(function (err) {
      var p = document.createElement("p");
      p.className = "error";
      p.textContent = "Live stats stopped (" + err.message + "). Reload the page.";
      box.prepend(p);
    });
  }
  setTimeout(tick, 1000);
})();
