// Copy buttons of the hotline console. Without JavaScript the buttons stay hidden and the
// readonly textarea beside each one is the fallback: select it and copy by hand.
(function () {
  "use strict";

  function announce(button, text) {
    var status = button.parentNode.querySelector(".copy-status");
    if (status) { status.textContent = text; }
  }

  function copyFrom(button) {
    var area = document.getElementById(button.getAttribute("data-copy"));
    if (!area) { return; }
    var fallback = function () {
      area.focus();
      area.select();
      var ok = false;
      try { ok = document.execCommand("copy"); } catch (e) { ok = false; }
      announce(button, ok ? "已复制" : "请按 Ctrl+C 复制已选中的文字");
    };
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(area.value).then(function () {
        announce(button, "已复制");
      }, fallback);
    } else {
      fallback();
    }
  }

  // The retrain page: while a retrain runs, its progress line (a polite live region) is
  // updated every 5 s from /console/retrain/status; without JavaScript, "刷新进度" reloads.
  function followRetrain(status) {
    var timer = window.setInterval(function () {
      var id = status.getAttribute("data-retrain-status") || "";
      fetch("/console/retrain/status?id=" + encodeURIComponent(id), { credentials: "same-origin" })
        .then(function (response) { return response.json(); })
        .then(function (body) {
          status.textContent = body.text;
          if (body.status !== "running" && body.status !== "starting") {
            window.clearInterval(timer);
          }
        })
        .catch(function () { window.clearInterval(timer); });
    }, 5000);
  }

  document.addEventListener("DOMContentLoaded", function () {
    var retrainStatus = document.querySelector("[data-retrain-status]");
    if (retrainStatus) { followRetrain(retrainStatus); }
    var buttons = document.querySelectorAll("button[data-copy]");
    Array.prototype.forEach.call(buttons, function (button) {
      button.hidden = false;
      button.addEventListener("click", function () { copyFrom(button); });
    });
  });
})();
