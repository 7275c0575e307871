// The book's tables in the browser: each fits its column, and a table that asks for them gets
// filter and sort controls. A small progressive enhancement with no library.
//
// analysis/data_tables.py:html_table writes a plain <table class="cpp-table"> in a box
// (.cpp-table-scroll); without this script (or with it failing) the reader gets the whole table,
// which scrolls sideways where it is too wide. Everything a table asks for is in its markup, so
// nothing here knows any particular table's columns:
//   data-cpp-filters='["chapter", "verdict"]'  columns (by data-cpp-column) to filter by
//   data-cpp-sortable                           every column header becomes a sort button
//   <th data-cpp-column="estimate" data-cpp-type="number|text">
//   <td data-sort-value="0.57">                 the number a formatted cell sorts by
//   class="cpp-prose" / "cpp-num"               a column of long text / of numbers
//
// Fit. A table wider than its box (too many columns for the page, or a phone) is shown stacked
// instead (class cpp-stacked, book.css): each row becomes a card whose cells are labelled with
// their column's name and flow across the card, prose cells taking a whole line. Changing the
// display of table elements can take their table semantics away from assistive technology, so a
// stacked table's elements carry explicit ARIA table roles. Whether a table stacks is decided from
// all its rows (not the filtered ones), when the page loads and when the window is resized.
//
// Controls (WAI-ARIA Authoring Practices, "Sortable Table"):
// - above the table, a group of labelled drop-downs, one per filter column, listing the values
//   found in that column ("All" shows every row), and a button that restores the table;
// - a status line (role="status", so screen readers announce it) saying "n of N rows shown";
// - in each header, a <button> that sorts by its column, ascending first, then descending; the
//   sorted column's header carries aria-sort. Numbers sort numerically, text in the reader's
//   locale order; blank cells go last either way; ties keep the table's own order.
// Filtering hides rows (the hidden attribute) and sorting moves them; no cell is rewritten.
// tests/test_tables_browser.py checks all of this against the table's own cells.
(function () {
  "use strict";

  var tableCount = 0;

  function cellText(cell) {
    return cell ? cell.textContent.replace(/\s+/g, " ").trim() : "";
  }

  function numberKey(cell) {
    if (!cell || !cell.hasAttribute("data-sort-value")) return null;
    var key = parseFloat(cell.getAttribute("data-sort-value"));
    return isNaN(key) ? null : key;
  }

  var collator = new Intl.Collator(undefined, { numeric: true, sensitivity: "base" });

  function Enhanced(table) {
    this.table = table;
    this.id = "cpp-table-" + ++tableCount;
    this.body = table.tBodies[0];
    this.headers = Array.prototype.slice.call(table.tHead.rows[0].cells);
    this.rows = Array.prototype.slice.call(this.body.rows); // in the table's own order
    this.selects = [];
    this.sorted = null; // {index, direction}
    var filters = JSON.parse(table.getAttribute("data-cpp-filters") || "[]");
    this.buildControls(filters);
    if (table.hasAttribute("data-cpp-sortable")) this.buildSortButtons();
    this.update();
  }

  Enhanced.prototype.columnIndex = function (name) {
    for (var i = 0; i < this.headers.length; i++) {
      if (this.headers[i].getAttribute("data-cpp-column") === name) return i;
    }
    return -1;
  };

  Enhanced.prototype.isNumeric = function (index) {
    return this.headers[index].getAttribute("data-cpp-type") === "number";
  };

  Enhanced.prototype.tableName = function () {
    return this.table.getAttribute("aria-label") || "Table";
  };

  Enhanced.prototype.buildControls = function (filters) {
    var self = this;
    var tools = document.createElement("div");
    tools.className = "cpp-table-tools";
    var anchor = this.table.closest(".cpp-table-scroll") || this.table;
    anchor.parentNode.insertBefore(tools, anchor);

    if (filters.length) {
      var fieldset = document.createElement("fieldset");
      fieldset.className = "cpp-table-filters";
      var legend = document.createElement("legend");
      legend.textContent = this.tableName() + ": filter the rows";
      fieldset.appendChild(legend);
      filters.forEach(function (name, n) {
        var index = self.columnIndex(name);
        if (index < 0) return; // the renderer refuses such a table; keep the rest working
        var id = self.id + "-filter-" + n;
        var wrap = document.createElement("div");
        wrap.className = "cpp-filter";
        var label = document.createElement("label");
        label.htmlFor = id;
        label.textContent = self.headers[index].textContent.trim();
        var select = document.createElement("select");
        select.id = id;
        select.setAttribute("data-cpp-column", name);
        // an option's value is its position in the column's values ("" for All); a blank cell's
        // option reads "(blank)"
        var values = self.values(index);
        select.appendChild(new Option("All", ""));
        values.forEach(function (value, i) {
          select.appendChild(new Option(value === "" ? "(blank)" : value, String(i)));
        });
        select.addEventListener("change", function () {
          self.update();
        });
        self.selects.push({ select: select, index: index, values: values });
        wrap.appendChild(label);
        wrap.appendChild(select);
        fieldset.appendChild(wrap);
      });
      tools.appendChild(fieldset);
    }

    var actions = document.createElement("div");
    actions.className = "cpp-table-actions";
    this.status = document.createElement("p");
    this.status.className = "cpp-table-status";
    this.status.setAttribute("role", "status");
    this.status.setAttribute("aria-live", "polite");
    actions.appendChild(this.status);
    var reset = document.createElement("button");
    reset.type = "button";
    reset.className = "cpp-table-reset";
    reset.textContent = "Show all rows in the original order";
    reset.addEventListener("click", function () {
      self.reset();
    });
    actions.appendChild(reset);
    tools.appendChild(actions);
    if (this.table.hasAttribute("data-cpp-sortable")) {
      var hint = document.createElement("p");
      hint.className = "cpp-table-hint";
      hint.textContent = "Select a column heading to sort by it; select it again to reverse the order.";
      tools.appendChild(hint);
    }
  };

  // The distinct values of a column, in the order the column sorts.
  Enhanced.prototype.values = function (index) {
    var seen = {};
    var values = [];
    var numeric = this.isNumeric(index);
    this.rows.forEach(function (row) {
      var cell = row.cells[index];
      var text = cellText(cell);
      if (Object.prototype.hasOwnProperty.call(seen, text)) return;
      seen[text] = numeric ? numberKey(cell) : text;
      values.push(text);
    });
    return values.sort(function (a, b) {
      if (a === "" || b === "") return (a === "") - (b === "");
      if (numeric && seen[a] !== null && seen[b] !== null && seen[a] !== seen[b]) return seen[a] - seen[b];
      return collator.compare(a, b);
    });
  };

  Enhanced.prototype.buildSortButtons = function () {
    var self = this;
    this.headers.forEach(function (th, index) {
      var button = document.createElement("button");
      button.type = "button";
      button.className = "cpp-sort";
      while (th.firstChild) button.appendChild(th.firstChild);
      var icon = document.createElement("span");
      icon.className = "cpp-sort-icon";
      icon.setAttribute("aria-hidden", "true");
      button.appendChild(icon);
      button.addEventListener("click", function () {
        var ascending = !(self.sorted && self.sorted.index === index && self.sorted.direction === "ascending");
        self.sort(index, ascending ? "ascending" : "descending");
      });
      th.appendChild(button);
    });
  };

  Enhanced.prototype.sort = function (index, direction) {
    var numeric = this.isNumeric(index);
    var sign = direction === "ascending" ? 1 : -1;
    var keyed = this.rows.map(function (row, order) {
      var cell = row.cells[index];
      var key = numeric ? numberKey(cell) : cellText(cell);
      return { row: row, order: order, key: key === "" ? null : key };
    });
    keyed.sort(function (a, b) {
      if (a.key === null || b.key === null) {
        if (a.key !== b.key) return a.key === null ? 1 : -1; // blanks last
        return a.order - b.order;
      }
      var c = numeric ? a.key - b.key : collator.compare(a.key, b.key);
      return c !== 0 ? sign * c : a.order - b.order;
    });
    var body = this.body;
    keyed.forEach(function (k) {
      body.appendChild(k.row);
    });
    this.headers.forEach(function (th, i) {
      if (i === index) th.setAttribute("aria-sort", direction);
      else th.removeAttribute("aria-sort");
    });
    this.sorted = { index: index, direction: direction };
    this.update();
  };

  Enhanced.prototype.reset = function () {
    this.selects.forEach(function (s) {
      s.select.value = "";
    });
    var body = this.body;
    this.rows.forEach(function (row) {
      body.appendChild(row);
    });
    this.headers.forEach(function (th) {
      th.removeAttribute("aria-sort");
    });
    this.sorted = null;
    this.update();
  };

  // Show the rows that match every filter; say how many.
  Enhanced.prototype.update = function () {
    var active = this.selects.filter(function (s) {
      return s.select.value !== "";
    });
    var shown = 0;
    this.rows.forEach(function (row) {
      var match = active.every(function (s) {
        return cellText(row.cells[s.index]) === s.values[Number(s.select.value)];
      });
      row.hidden = !match;
      if (match) shown++;
    });
    var text = shown + " of " + this.rows.length + " rows shown";
    if (this.sorted) {
      text += ", sorted by " + this.headers[this.sorted.index].textContent.trim() + " (" + this.sorted.direction + ")";
    }
    this.status.textContent = text + ".";
    document.dispatchEvent(new CustomEvent("cpp-table-changed"));
  };

  // ---- Fit ------------------------------------------------------------------------------

  var ROLES = [["", "table"], ["thead, tbody", "rowgroup"], ["tr", "row"], ["th", "columnheader"], ["td", "cell"]];

  function setRoles(table, on) {
    ROLES.forEach(function (pair) {
      var elements = pair[0] ? table.querySelectorAll(pair[0]) : [table];
      Array.prototype.forEach.call(elements, function (el) {
        if (on) el.setAttribute("role", pair[1]);
        else el.removeAttribute("role");
      });
    });
  }

  function labelCells(table) {
    var names = Array.prototype.map.call(table.tHead.rows[0].cells, function (th) {
      return th.textContent.replace(/\s+/g, " ").trim();
    });
    Array.prototype.forEach.call(table.tBodies[0].rows, function (row) {
      Array.prototype.forEach.call(row.cells, function (cell, i) {
        cell.setAttribute("data-cpp-label", names[i] || "");
      });
    });
  }

  // Stack the table if, shown as a table with all its rows, it is wider than its box.
  function fit(table) {
    var box = table.parentElement;
    var hidden = Array.prototype.filter.call(table.tBodies[0].rows, function (row) {
      return row.hidden;
    });
    hidden.forEach(function (row) {
      row.hidden = false;
    });
    table.classList.remove("cpp-stacked");
    var tooWide = box.scrollWidth > box.clientWidth + 1;
    hidden.forEach(function (row) {
      row.hidden = true;
    });
    table.classList.toggle("cpp-stacked", tooWide);
    if (tooWide !== table.hasAttribute("role")) setRoles(table, tooWide);
  }

  function tables() {
    return Array.prototype.filter.call(document.querySelectorAll("table.cpp-table"), function (table) {
      return table.tHead && table.tHead.rows.length && table.tBodies.length && table.parentElement;
    });
  }

  function fitAll() {
    tables().forEach(fit);
    document.dispatchEvent(new CustomEvent("cpp-table-changed"));
  }

  function init() {
    tables().forEach(function (table) {
      if (table.hasAttribute("data-cpp-enhanced")) return;
      table.setAttribute("data-cpp-enhanced", "");
      if (table.hasAttribute("data-cpp-filters") || table.hasAttribute("data-cpp-sortable")) new Enhanced(table);
      labelCells(table);
    });
    fitAll();
    var pending = null;
    window.addEventListener("resize", function () {
      clearTimeout(pending);
      pending = setTimeout(fitAll, 100);
    });
    if (document.fonts && document.fonts.ready) document.fonts.ready.then(fitAll);
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", init);
  } else {
    init();
  }
})();
