// insitu dashboard uploads: drag and drop or pick files; the page asks
// the server for presigned URLs (its session's key signs them, the secret
// stays on the server) and sends the bytes straight to the S3 face with
// XMLHttpRequest, showing progress. Files over 16 MiB go in parts.
(function () {
  "use strict";
  var drop = document.getElementById("drop");
  if (!drop) { return; }
  var bucket = drop.dataset.bucket, prefix = drop.dataset.prefix, csrf = drop.dataset.csrf;
  var list = document.getElementById("uploads");

  function ask(body) {
    return fetch("/ui/b/" + encodeURIComponent(bucket) + "/presign", {
      method: "POST", credentials: "same-origin",
      headers: { "Content-Type": "application/json", "Accept": "application/json", "X-CSRF-Token": csrf },
      body: JSON.stringify(body)
    }).then(function (r) {
      return r.json().then(function (j) {
        if (!r.ok) { throw new Error(j.error || ("the server answered " + r.status)); }
        return j;
      });
    });
  }

  // send runs one request; onBytes(n) reports bytes sent so far.
  function send(method, url, body, headers, onBytes) {
    return new Promise(function (resolve, reject) {
      var x = new XMLHttpRequest();
      x.open(method, url);
      Object.keys(headers || {}).forEach(function (h) { x.setRequestHeader(h, headers[h]); });
      if (onBytes) { x.upload.onprogress = function (e) { onBytes(e.loaded); }; }
      x.onload = function () {
        if (x.status >= 200 && x.status < 300) { resolve(x); return; }
        var msg = x.responseXML && x.responseXML.querySelector("Message");
        reject(new Error((msg && msg.textContent) || ("the store answered " + x.status)));
      };
      x.onerror = function () { reject(new Error("the connection failed")); };
      x.send(body);
    });
  }

  function row(name) {
    var li = document.createElement("li"), p = document.createElement("progress"), s = document.createElement("span");
    p.max = 100; p.value = 0;
    li.textContent = name + " ";
    li.appendChild(p); li.appendChild(s);
    list.appendChild(li);
    return { bar: p, say: function (t) { s.textContent = " " + t; } };
  }

  function multipart(file, key, type, show) {
    var q = { key: key, size: file.size, type: type };
    return ask(q).then(function (a) {
      return send("POST", a.create, null, { "Content-Type": type });
    }).then(function (x) {
      q.upload_id = x.responseXML.querySelector("UploadId").textContent;
      return ask(q);
    }).then(function (a) {
      var done = new Array(a.parts.length).fill(0), etags = [];
      var chain = Promise.resolve();
      a.parts.forEach(function (url, i) {
        chain = chain.then(function () {
          var part = file.slice(i * a.part_size, Math.min(file.size, (i + 1) * a.part_size));
          return send("PUT", url, part, null, function (n) {
            done[i] = n; show(done.reduce(function (s, v) { return s + v; }, 0));
          }).then(function (x) { etags[i] = x.getResponseHeader("ETag"); });
        });
      });
      return chain.then(function () {
        var xml = "<CompleteMultipartUpload>" + etags.map(function (e, i) {
          return "<Part><PartNumber>" + (i + 1) + "</PartNumber><ETag>" + e + "</ETag></Part>";
        }).join("") + "</CompleteMultipartUpload>";
        return send("POST", a.complete, xml, { "Content-Type": "application/xml" });
      });
    });
  }

  function upload(file) {
    var key = prefix + file.name, type = file.type || "application/octet-stream", r = row(file.name);
    var show = function (n) { r.bar.value = file.size ? Math.floor(n * 100 / file.size) : 100; };
    var p = file.size <= 16 * 1024 * 1024
      ? ask({ key: key, size: file.size, type: type }).then(function (a) {
          return send("PUT", a.put, file, { "Content-Type": type }, show);
        })
      : multipart(file, key, type, show);
    return p.then(function () { r.bar.value = 100; r.say("done"); },
                  function (e) { r.say("failed: " + e.message); throw e; });
  }

  function uploadAll(files) {
    var chain = Promise.resolve(), ok = true;
    Array.prototype.forEach.call(files, function (f) {
      chain = chain.then(function () { return upload(f); }).catch(function () { ok = false; });
    });
    chain.then(function () {
      if (ok) { document.body.dataset.uploaded = "yes"; window.location.reload(); }
      else { document.body.dataset.uploaded = "failed"; }
    });
  }

  drop.addEventListener("dragover", function (e) { e.preventDefault(); drop.classList.add("over"); });
  drop.addEventListener("dragleave", function () { drop.classList.remove("over"); });
  drop.addEventListener("drop", function (e) {
    e.preventDefault(); drop.classList.remove("over");
    uploadAll(e.dataTransfer.files);
  });
  document.getElementById("files").addEventListener("change", function (e) { uploadAll(e.target.files); });
}());
