/* Starts Redoc on the API docs page (templates/firelater/redoc.html), which allows no
   inline script. */
(function () {
  "use strict";
  var container = document.getElementById("redoc-container");
  var settingsNode = document.getElementById("redoc-settings");
  var settings = settingsNode ? JSON.parse(settingsNode.textContent) : {};
  window.Redoc.init(container.getAttribute("data-spec-url"), settings, container);
})();
