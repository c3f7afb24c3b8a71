/* Operator dashboard: live fragments over the Channels websocket, command buttons, charts.
 * Plain JavaScript, no build step. The server renders every fragment; this file only swaps them in.
 * Charts: uPlot (MIT, vendored in vendor/uplot/). */
(function () {
  "use strict";

  var csrfToken = (document.querySelector('meta[name="csrf-token"]') || {}).content || "";
  var lastHtml = new Map();
  var charts = new Map();

  /* --- Charts ------------------------------------------------------------------------------- */
  function chartWidth(el) { return Math.max(280, el.clientWidth || el.parentNode.clientWidth || 600); }

  function initCharts(scope) {
    if (!window.uPlot || !scope) return;
    scope.querySelectorAll(".chart[data-series]").forEach(function (el) {
      var series;
      try { series = JSON.parse(el.dataset.series); } catch (e) { return; }
      var fmt = function (unit) { return function (u, v) { return v == null ? "—" : v.toFixed(2) + " " + unit; }; };
      var opts = {
        width: chartWidth(el), height: 260,
        scales: { x: { time: true }, kW: { auto: true }, kWh: { auto: true } },
        series: [
          {},
          { label: "Power", scale: "kW", stroke: "#2563eb", width: 2, value: fmt("kW"), spanGaps: true },
          { label: "Energy", scale: "kWh", stroke: "#16a34a", width: 2, value: fmt("kWh"), spanGaps: true }
        ],
        axes: [{}, { scale: "kW", label: "kW" }, { scale: "kWh", label: "kWh", side: 1, grid: { show: false } }]
      };
      el.textContent = "";
      charts.set(el, new window.uPlot(opts, [series.x, series.power, series.energy], el));
    });
  }

  window.addEventListener("resize", function () {
    charts.forEach(function (chart, el) {
      if (!document.body.contains(el)) { charts.delete(el); return; }
      chart.setSize({ width: chartWidth(el), height: 260 });
    });
  });

  /* --- Fragments ------------------------------------------------------------------------------ */
  function applyFragments(fragments) {
    Object.keys(fragments || {}).forEach(function (id) {
      var html = fragments[id];
      if (lastHtml.get(id) === html) return;  // unchanged: keep the DOM (focus, charts) as it is
      var el = document.getElementById(id);
      if (!el) return;
      lastHtml.set(id, html);
      var holder = document.createElement("div");
      holder.innerHTML = html.trim();
      var fresh = holder.firstElementChild;
      if (!fresh) return;
      el.replaceWith(fresh);
      initCharts(fresh);
      document.dispatchEvent(new CustomEvent("dashboard:updated", { detail: { id: id } }));
    });
  }

  /* --- Live socket ---------------------------------------------------------------------------- */
  var statusEl = null;
  function setStatus(state, text) {
    if (!statusEl) return;
    statusEl.dataset.state = state;
    statusEl.textContent = text;
  }

  function connect(path, attempt) {
    var scheme = location.protocol === "https:" ? "wss://" : "ws://";
    var socket = new WebSocket(scheme + location.host + path);
    socket.onopen = function () { attempt = 0; setStatus("live", "Live"); };
    socket.onmessage = function (message) {
      var data;
      try { data = JSON.parse(message.data); } catch (e) { return; }
      applyFragments(data.fragments);
    };
    socket.onclose = function (event) {
      if (event.code === 4401 || event.code === 1006 && attempt > 5) {
        setStatus("reconnecting", "Offline — reload to log in again");
      } else {
        setStatus("reconnecting", "Reconnecting…");
      }
      var delay = Math.min(15000, 500 * Math.pow(2, attempt));
      window.setTimeout(function () { connect(path, attempt + 1); }, delay);
    };
    window.dashboardSocket = socket;
  }

  /* --- Forms ---------------------------------------------------------------------------------- */
  function ensureCsrf(form) {
    // Fragments pushed over the socket are rendered without a request, so without a token.
    if ((form.getAttribute("method") || "").toLowerCase() !== "post") return;
    if (form.querySelector('[name="csrfmiddlewaretoken"]')) return;
    var input = document.createElement("input");
    input.type = "hidden"; input.name = "csrfmiddlewaretoken"; input.value = csrfToken;
    form.appendChild(input);
  }

  function feedback(text, ok) {
    var el = document.getElementById("command-feedback");
    if (!el) return;
    el.textContent = text;
    el.classList.toggle("error", !ok);
  }

  document.addEventListener("submit", function (event) {
    var form = event.target;
    ensureCsrf(form);
    if (!form.hasAttribute("data-async") || !window.fetch) return;
    event.preventDefault();
    var submitter = event.submitter || null;
    var body = new FormData(form, submitter);
    var buttons = form.querySelectorAll("button");
    buttons.forEach(function (b) { b.disabled = true; });
    // getAttribute: a field named "action" (our command forms have one) shadows form.action.
    fetch(form.getAttribute("action") || location.href, {
      method: "POST", body: body, credentials: "same-origin",
      headers: { "X-Requested-With": "fetch", "X-CSRFToken": csrfToken, "Accept": "application/json" }
    }).then(function (response) {
      return response.json().then(function (data) { return { ok: response.ok, data: data }; });
    }).then(function (result) {
      applyFragments(result.data.fragments);
      feedback(result.data.message || (result.ok ? "Queued" : "Failed"), result.ok);
    }).catch(function () {
      feedback("The command could not be sent: check the connection and try again.", false);
    }).finally(function () {
      buttons.forEach(function (b) { b.disabled = false; });
    });
  });

  document.addEventListener("DOMContentLoaded", function () {
    initCharts(document);
    statusEl = document.getElementById("live-status");
    var path = document.body.dataset.live;
    if (path) connect(path, 0);
  });
})();
