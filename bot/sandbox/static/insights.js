/* The sandbox's Insights view: the admin's report for the last 30 days, as the bot renders it
   (GET /sandbox/insights: HTML made and escaped by the server, charts as inline SVG), with a
   link to the same report as a page of its own. sandbox.js shows and hides the view. */
(function () {
  "use strict";

  function bar(box) {
    var tools = document.createElement("p");
    tools.className = "insights-tools";
    var refresh = document.createElement("button");
    refresh.type = "button";
    refresh.className = "link";
    refresh.textContent = "Refresh";
    refresh.addEventListener("click", function () { load(box); });
    var page = document.createElement("a");
    page.href = "/sandbox/insights/report.html";
    page.target = "_blank";
    page.rel = "noopener";
    page.textContent = "Open as a page (what python -m bot report --html writes)";
    tools.append(refresh, " ", page);
    return tools;
  }

  function load(box) {
    if (!box.firstChild) box.textContent = "Working out the report…";
    return fetch("/sandbox/insights", { cache: "no-store" }).then(function (resp) {
      if (!resp.ok) throw new Error("the report could not be made (" + resp.status + ")");
      return resp.text();
    }).then(function (html) {
      // The server escaped every message sample; this is its markup, not user text.
      var parsed = new DOMParser().parseFromString(html, "text/html");
      box.replaceChildren(bar(box));
      Array.from(parsed.body.childNodes).forEach(function (node) { box.appendChild(document.adoptNode(node)); });
      box.dataset.loaded = "true";
    });
  }

  window.SandboxInsights = { load: load };
})();
