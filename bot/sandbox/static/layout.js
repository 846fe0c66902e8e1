/* The sandbox on a narrow screen (a phone, 420 px): the conversation list slides in from a
 * "☰" button and the sandbox's controls drop down from one "Controls" button, so the top bar
 * is one row and the messages get the width. On a wide screen both are always shown and these
 * buttons are hidden (sandbox.css). Nothing here talks to the server.
 */
(function () {
  "use strict";

  var $ = function (id) { return document.getElementById(id); };

  function setOpen(name, open) {
    document.body.classList.toggle(name + "-open", open);
    var button = $("toggle-" + name);
    if (button) button.setAttribute("aria-expanded", String(open));
    $("scrim").hidden = !(document.body.classList.contains("sidebar-open")
                          || document.body.classList.contains("controls-open"));
  }

  function closeAll() {
    setOpen("sidebar", false);
    setOpen("controls", false);
  }

  document.addEventListener("DOMContentLoaded", function () {
    $("toggle-sidebar").addEventListener("click", function () {
      setOpen("controls", false);
      setOpen("sidebar", !document.body.classList.contains("sidebar-open"));
    });
    $("toggle-controls").addEventListener("click", function () {
      setOpen("sidebar", false);
      setOpen("controls", !document.body.classList.contains("controls-open"));
    });
    $("scrim").addEventListener("click", closeAll);
    // Picking a conversation, or using a control, closes what was opened for it.
    $("sidebar").addEventListener("click", function (event) {
      if (event.target.closest(".conv")) setOpen("sidebar", false);
    });
    $("controls").addEventListener("click", function (event) {
      if (event.target.closest("button")) setOpen("controls", false);
    });
    document.addEventListener("keydown", function (event) {
      if (event.key === "Escape") closeAll();
    });
  });
})();
