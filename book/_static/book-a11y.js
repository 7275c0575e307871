// Accessibility fixes for markup that Sphinx and docutils emit, run on every page (no network).
// Checked by tests/test_browser.py with axe-core (WCAG 2.1 A and AA rules).
(function () {
  "use strict";
  function fix() {
    // The bibliography is written as <div role="list" class="citation-list"> whose entries carry
    // role="doc-biblioentry", a role deprecated in DPUB-ARIA 1.1 and not the listitem that a list
    // must own (axe: aria-required-children, critical; aria-deprecated-role). Make each a listitem.
    document.querySelectorAll('[role="list"] > [role="doc-biblioentry"]').forEach(function (entry) {
      entry.setAttribute("role", "listitem");
    });
    // The navigation sidebar opens a part's sub-pages with a <summary> that holds only an icon, so a
    // screen reader announces nothing (axe: summary-name, serious). Name it after the page it opens.
    document.querySelectorAll("details > summary").forEach(function (summary) {
      if (summary.textContent.trim() || summary.hasAttribute("aria-label")) return;
      var item = summary.closest("li");
      var link = item ? item.querySelector(":scope > a") : null;
      var name = link ? link.textContent.trim() : "";
      summary.setAttribute("aria-label", name ? "Pages under " + name : "Show or hide more");
    });
  }
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", fix);
  } else {
    fix();
  }
})();
