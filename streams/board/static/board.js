// The live board: reads /v1/board every few seconds (?refresh=N, default 5) and redraws.
// Data goes into the page as text only (docs/board.md).
(function () {
  "use strict";
  var params = new URLSearchParams(window.location.search);
  var refreshSeconds = Math.max(1, Number(params.get("refresh")) || 5);
  var FIELDS = ["open", "waiting_on_customer", "at_risk", "overdue"];

  function byId(id) { return document.getElementById(id); }

  function age(seconds) {
    if (seconds === null || seconds === undefined) { return "—"; }
    var s = Math.floor(seconds);
    var d = Math.floor(s / 86400), h = Math.floor((s % 86400) / 3600), m = Math.floor((s % 3600) / 60);
    if (d > 0) { return d + "d " + h + "h"; }
    if (h > 0) { return h + "h " + (m < 10 ? "0" : "") + m + "m"; }
    if (m > 0) { return m + "m " + (s % 60 < 10 ? "0" : "") + (s % 60) + "s"; }
    return s + "s";
  }

  function percent(ratio) {
    return ratio === null || ratio === undefined ? "—" : (ratio * 100).toFixed(1) + "%";
  }

  function cell(row, field, text, className) {
    var td = document.createElement("td");
    td.dataset.field = field;
    td.textContent = text;
    if (className) { td.className = className; }
    row.appendChild(td);
    return td;
  }

  function setTotal(name, text) {
    var node = document.querySelector('[data-total="' + name + '"]');
    if (node) { node.textContent = text; }
  }

  function renderTotals(doc) {
    var totals = doc.totals, compliance = doc.compliance.totals;
    FIELDS.forEach(function (name) { setTotal(name, String(totals[name])); });
    var oldest = totals.oldest_waiting;
    setTotal("oldest_waiting", oldest ? age(oldest.age_seconds) : "—");
    setTotal("oldest_ticket", oldest ? oldest.ticket_id : "");
    setTotal("first_response_compliance", percent(compliance.first_response_compliance));
    setTotal("resolution_compliance", percent(compliance.resolution_compliance));
    setTotal("responded", compliance.responded_in_time + " / " + compliance.responded + " answered in time");
    setTotal("resolved", compliance.resolved_in_time + " / " + compliance.resolved + " resolved in time");
    document.querySelector(".tile.risk").classList.toggle("alert", totals.at_risk > 0);
    document.querySelector(".tile.overdue").classList.toggle("alert", totals.overdue > 0);
  }

  function renderGroups(doc) {
    var rows = {};
    function row(department, priority) {
      var key = department + "\u0000" + priority;
      if (!rows[key]) { rows[key] = {department: department, priority: priority, open: 0, waiting_on_customer: 0,
                                     at_risk: 0, overdue: 0, oldest_waiting: null, compliance: null}; }
      return rows[key];
    }
    doc.groups.forEach(function (g) {
      var r = row(g.department, g.priority);
      FIELDS.forEach(function (name) { r[name] = g[name]; });
      r.oldest_waiting = g.oldest_waiting;
    });
    doc.compliance.rows.forEach(function (c) { row(c.department, c.priority).compliance = c; });
    var order = doc.groups.concat(doc.compliance.rows).map(function (g) { return g.department + "\u0000" + g.priority; });
    var keys = Object.keys(rows).sort(function (a, b) {
      var da = rows[a].department, db = rows[b].department;
      if (da !== db) { return da < db ? -1 : 1; }
      return order.indexOf(a) - order.indexOf(b);
    });
    var body = document.querySelector("#groups tbody");
    var fresh = document.createDocumentFragment();
    keys.forEach(function (key) {
      var r = rows[key], c = r.compliance;
      var tr = document.createElement("tr");
      tr.dataset.department = r.department;
      tr.dataset.priority = r.priority;
      cell(tr, "department", r.department);
      cell(tr, "priority", r.priority, "priority p-" + r.priority);
      FIELDS.forEach(function (name) {
        cell(tr, name, String(r[name]), "number" + (r[name] > 0 && (name === "at_risk" || name === "overdue") ? " " + name : ""));
      });
      var oldest = cell(tr, "oldest_waiting", r.oldest_waiting ? age(r.oldest_waiting.age_seconds) : "—", "number");
      if (r.oldest_waiting) { oldest.title = r.oldest_waiting.ticket_id; oldest.dataset.ticket = r.oldest_waiting.ticket_id; }
      cell(tr, "received", c ? String(c.received) : "0", "number");
      cell(tr, "first_response_compliance", c ? percent(c.first_response_compliance) : "—", "number");
      cell(tr, "resolution_compliance", c ? percent(c.resolution_compliance) : "—", "number");
      cell(tr, "breached", c ? String(c.breached) : "0", "number" + (c && c.breached > 0 ? " overdue" : ""));
      fresh.appendChild(tr);
    });
    body.replaceChildren(fresh);
    byId("no-groups").hidden = keys.length > 0;
  }

  function renderOverdue(doc) {
    var body = document.querySelector("#overdue tbody");
    var fresh = document.createDocumentFragment();
    doc.overdue_tickets.forEach(function (t) {
      var tr = document.createElement("tr");
      tr.dataset.ticket = t.ticket_id;
      cell(tr, "ticket_id", t.ticket_id, "ticket");
      cell(tr, "department", t.department);
      cell(tr, "priority", t.priority, "priority p-" + t.priority);
      cell(tr, "overdue_for", age(t.overdue_seconds), "number overdue");
      fresh.appendChild(tr);
    });
    body.replaceChildren(fresh);
    byId("no-overdue").hidden = doc.overdue_tickets.length > 0;
    var shown = doc.overdue_tickets.length, total = doc.totals.overdue;
    byId("overdue-shown").textContent = total > shown ? "(" + shown + " of " + total + ")" : "";
  }

  function renderCoverage(doc) {
    var coverage = doc.coverage, notes = [];
    if (coverage.missing_ticket_partitions.length) {
      notes.push("partitions not reported by any worker: " + coverage.missing_ticket_partitions.join(", "));
    }
    if (coverage.reported_twice.length) {
      notes.push("partitions reported twice (a rebalance under way): " + coverage.reported_twice.join(", "));
    }
    var down = coverage.sources.filter(function (s) { return !s.ok; }).map(function (s) { return s.worker; });
    if (down.length) { notes.push("workers not answering: " + down.join(", ")); }
    var node = byId("coverage");
    node.textContent = notes.length ? "Partial figures — " + notes.join("; ") : "";
    node.hidden = notes.length === 0;
  }

  function render(doc) {
    renderTotals(doc);
    renderGroups(doc);
    renderOverdue(doc);
    renderCoverage(doc);
    byId("day").textContent = (doc.day || "—") + " (" + (doc.timezone || "") + ")";
    var updated = byId("updated");
    updated.textContent = new Date(doc.generated_at).toLocaleTimeString([], {hour12: false});
    updated.dateTime = doc.generated_at;
    document.body.dataset.generatedAt = doc.generated_at;
    document.body.dataset.renders = String(Number(document.body.dataset.renders || 0) + 1);
  }

  function setStatus(state, text) {
    var node = byId("status");
    node.dataset.state = state;
    node.textContent = text;
  }

  function load() {
    fetch("/v1/board", {cache: "no-store", headers: {"Accept": "application/json"}})
      .then(function (response) { return response.json(); })
      .then(function (doc) {
        render(doc);
        var live = doc.coverage.sources.some(function (s) { return s.ok; });
        setStatus(live ? "live" : "stale", live ? "live, every " + refreshSeconds + " s" : "no worker answered");
      })
      .catch(function (error) { setStatus("stale", "not updated: " + error.message); })
      .then(function () { window.setTimeout(load, refreshSeconds * 1000); });
  }

  load();
}());
