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

  // Boxes that scroll: a table too wide for a phone (the .cpp-table-scroll box of a table that
  // book-tables.js could not stack, or a cell output), a long line of code. The theme makes such a
  // box focusable when it overflows, so that a keyboard can scroll it; a focusable box also needs a
  // role and a name (WCAG 4.1.2), so each overflowing box becomes a region named after what it holds
  // and the section it is in, e.g. "Code: Rebuilding the book (scrolls)". A box that stops
  // overflowing (a wider window) loses them again. The outline that shows focus is in book.css.
  var SCROLL_BOXES = [".cpp-table-scroll", ".cell_output > .output", "pre", ".pst-scrollable-table-container"];
  var HEADINGS = "article h1, article h2, article h3, article h4";

  function section(box) {
    var name = "";
    document.querySelectorAll(HEADINGS).forEach(function (h) {
      if (h.compareDocumentPosition(box) & Node.DOCUMENT_POSITION_FOLLOWING) {
        var copy = h.cloneNode(true);
        copy.querySelectorAll(".headerlink").forEach(function (link) {
          link.remove();
        });
        name = copy.textContent.replace(/\s+/g, " ").trim();
      }
    });
    return name;
  }

  function boxName(box) {
    var table = box.querySelector("table");
    var what = table ? "Table" : box.matches("pre") || box.querySelector("pre") ? "Code" : "Content";
    var name = table && (table.getAttribute("aria-label") || (table.caption && table.caption.textContent.trim()));
    return what + ": " + (name || section(box) || document.title) + " (scrolls)";
  }

  function labelScrollBoxes() {
    document.querySelectorAll(SCROLL_BOXES.join(", ")).forEach(function (box) {
      var scrolls = box.scrollWidth > box.clientWidth || box.scrollHeight > box.clientHeight;
      if (scrolls) {
        box.tabIndex = 0;
        if (!box.hasAttribute("role") || box.hasAttribute("data-cpp-region")) {
          box.setAttribute("role", "region");
          box.setAttribute("aria-label", boxName(box));
          box.setAttribute("data-cpp-region", "");
        }
      } else if (box.hasAttribute("data-cpp-region")) {
        box.removeAttribute("role");
        box.removeAttribute("aria-label");
        box.removeAttribute("data-cpp-region");
        box.tabIndex = -1;
      }
    });
  }

  var pending = null;
  function later() {
    clearTimeout(pending);
    pending = setTimeout(labelScrollBoxes, 100);
  }

  function start() {
    fix();
    labelScrollBoxes();
    window.addEventListener("resize", later);
    window.addEventListener("load", labelScrollBoxes);
    // book-tables.js filters and sorts rows, which can change a table's width
    document.addEventListener("cpp-table-changed", later);
    if (document.fonts && document.fonts.ready) document.fonts.ready.then(labelScrollBoxes);
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
