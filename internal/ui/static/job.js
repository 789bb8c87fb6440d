// insitu dashboard: a job's page polls its progress fragment every second
// until the job ends. Plain JavaScript, no build step.
(function () {
  "use strict";
  var box = document.getElementById("progress");
  if (!box || box.dataset.done === "true") { return; }
  var src = box.dataset.src;
  function tick() {
    fetch(src, { credentials: "same-origin", headers: { "Accept": "text/html" } }).then(function (r) {
      if (!r.ok) { throw new Error("status " + r.status); }
      return r.text();
    }).then(function (html) {
      box.innerHTML = html;
      var st = document.getElementById("job-state");
      var state = st ? st.textContent : "";
      if (state === "succeeded" || state === "failed" || state === "cancelled") {
        box.dataset.done = "true";
        var c = document.getElementById("cancel-job");
        if (c) { c.closest("form").remove(); }
        return;
      }
      setTimeout(tick, 1000);
    }).catch(function (err) {
      var p = document.createElement("p");
      p.className = "error";
      p.textContent = "Live progress stopped (" + err.message + "). Reload the page.";
      box.prepend(p);
    });
  }
  setTimeout(tick, 1000);
})();
