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

  document.addEventListener("DOMContentLoaded", function () {
    var buttons = document.querySelectorAll("button[data-copy]");
    Array.prototype.forEach.call(buttons, function (button) {
      button.hidden = false;
      button.addEventListener("click", function () { copyFrom(button); });
    });
  });
})();
