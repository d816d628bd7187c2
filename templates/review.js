// callsift review: the one script of the review server's pages (served from the binary, no
// other script is loaded). A click on anything with data-t seeks the player to that second;
// the line being played is marked; the review form asks for a reason where a verdict
// overrides callsift's flag and autosaves a draft a moment after each change.
(function () {
  "use strict";
  var player = document.getElementById("player");
  document.addEventListener("click", function (e) {
    var el = e.target.closest ? e.target.closest("[data-t]") : null;
    if (!el || !player) return;
    e.preventDefault();
    player.currentTime = parseFloat(el.getAttribute("data-t"));
    var p = player.play();
    if (p && p.catch) p.catch(function () {});
  });
  if (player) {
    var lines = Array.prototype.slice.call(document.querySelectorAll("tr.line"));
    player.addEventListener("timeupdate", function () {
      var t = player.currentTime, cur = null;
      lines.forEach(function (l) {
        if (parseFloat(l.getAttribute("data-t")) <= t) cur = l;
      });
      lines.forEach(function (l) { l.classList.toggle("playing", l === cur); });
    });
  }
  var form = document.getElementById("review-form");
  if (!form) return;
  var status = document.getElementById("autosave");
  function sync() {
    Array.prototype.forEach.call(form.querySelectorAll("tr.item"), function (row) {
      var auto = row.getAttribute("data-auto");
      var chosen = row.querySelector("input[type=radio]:checked");
      var reason = row.querySelector("input.reason");
      var over = !!chosen && auto !== "" && chosen.value !== "na" && chosen.value !== auto;
      reason.required = over;
      reason.placeholder = over ? "why you override callsift" : "";
      row.classList.toggle("overridden", over);
    });
  }
  var timer = null;
  function autosave() {
    var body = new URLSearchParams(new FormData(form));
    body.set("action", "autosave");
    fetch(form.getAttribute("action"), {
      method: "POST",
      body: body,
      credentials: "same-origin",
      headers: { "x-csrf-token": form.getAttribute("data-csrf") }
    }).then(function (r) {
      if (status) status.textContent = r.ok ? "draft saved " + new Date().toLocaleTimeString() : "autosave failed (" + r.status + ")";
    }, function () {
      if (status) status.textContent = "autosave failed: the server cannot be reached";
    });
  }
  function later() {
    clearTimeout(timer);
    timer = setTimeout(autosave, 1500);
  }
  form.addEventListener("change", function () { sync(); later(); });
  form.addEventListener("input", later);
  form.addEventListener("submit", function () { clearTimeout(timer); });
  sync();
})();
