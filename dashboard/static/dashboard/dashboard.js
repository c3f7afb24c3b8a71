/* Operator dashboard: live fragments over the Channels websocket, command buttons, charts.
 * Plain JavaScript, no build step. The server renders every fragment; this file only swaps them in.
 * Charts: uPlot (MIT, vendored in vendor/uplot/). */
(function () {
  "use strict";

  var csrfToken = (document.querySelector('meta[name="csrf-token"]') || {}).content || "";
  var lastHtml = new Map();
  var charts = new Map();

  /* --- Charts ------------------------------------------------------------------------------- */
  // Power and energy of one session. Times are shown as the page shows them: 24-hour, in the
  // server's time zone (data-tz), never the browser's 12-hour locale. Power (left axis, blue,
  // filled) is drawn over energy (right axis, amber, dashed), each on its own scale from 0.
  var POWER = "#2563eb", ENERGY = "#d97706", AXIS_FONT = "12px system-ui, sans-serif";
  // Whole seconds at the least: a 7-second session gets ticks at 1 or 2 s, never at 200 ms.
  var TIME_INCRS = [1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 10800, 21600, 43200,
    86400, 2 * 86400, 7 * 86400, 14 * 86400, 30 * 86400, 91 * 86400, 182 * 86400, 365 * 86400];

  function chartWidth(el) { return Math.max(280, el.clientWidth || el.parentNode.clientWidth || 600); }

  function formatters(tz) {
    function make(options) {
      try { return new Intl.DateTimeFormat("en-GB", Object.assign({ timeZone: tz || "UTC" }, options)); }
      catch (e) { return new Intl.DateTimeFormat("en-GB", options); }  // an unknown zone name: the browser's
    }
    var hm = make({ hour: "2-digit", minute: "2-digit", hourCycle: "h23" });
    var hms = make({ hour: "2-digit", minute: "2-digit", second: "2-digit", hourCycle: "h23" });
    var day = make({ month: "2-digit", day: "2-digit" });
    var full = make({ year: "numeric", month: "2-digit", day: "2-digit", hour: "2-digit", minute: "2-digit",
      second: "2-digit", hourCycle: "h23" });
    function parts(fmt, seconds) {
      var out = {};
      fmt.formatToParts(new Date(seconds * 1000)).forEach(function (p) { out[p.type] = p.value; });
      return out;
    }
    return {
      tick: function (seconds, withSeconds, withDay) {
        var t = (withSeconds ? hms : hm).format(new Date(seconds * 1000));
        if (!withDay) return t;
        var d = parts(day, seconds);
        return d.month + "-" + d.day + " " + t;
      },
      full: function (seconds) {
        var p = parts(full, seconds);
        return p.year + "-" + p.month + "-" + p.day + " " + p.hour + ":" + p.minute + ":" + p.second;
      }
    };
  }

  // Tick labels with as many decimals as the step has (0.0025 steps: 0.0050, not a rounded 0.005/0.008).
  function stepValues(u, splits, axisIdx, space, incr) {
    var decimals = (String(+Number(incr).toPrecision(6)).split(".")[1] || "").length;
    return splits.map(function (v) { return v.toFixed(Math.min(decimals, 6)); });
  }

  function fromZero(headroom) {
    return function (u, min, max) {
      var top = max > 0 ? max * headroom : 1;
      return [Math.min(0, min || 0), top];
    };
  }

  function chartOptions(el, tz) {
    var fmt = formatters(tz);
    var unit = function (name) { return function (u, v) { return v == null ? "—" : v.toFixed(2) + " " + name; }; };
    var spansDays = function (u) { return u.scales.x.max - u.scales.x.min >= 86400; };
    return {
      width: chartWidth(el), height: 260,
      scales: {
        x: { time: true, range: function (u, min, max) { return min === max ? [min - 30, max + 30] : [min, max]; } },
        kW: { range: fromZero(1.25) },
        kWh: { range: fromZero(1.1) }
      },
      series: [
        { value: function (u, v) { return v == null ? "—" : fmt.full(v); } },
        { label: "Energy", scale: "kWh", stroke: ENERGY, width: 2, dash: [6, 4], value: unit("kWh"), spanGaps: true },
        { label: "Power", scale: "kW", stroke: POWER, width: 2, fill: "rgba(37, 99, 235, 0.10)", value: unit("kW"),
          spanGaps: true }
      ],
      axes: [
        {
          font: AXIS_FONT, incrs: TIME_INCRS,
          // Room for the widest label ("MM-DD HH:MM" or "HH:MM:SS") and a gap: labels never touch.
          space: function (u, axisIdx, min, max) { return max - min >= 86400 ? 120 : 90; },
          values: function (u, splits, axisIdx, space, incr) {
            var days = spansDays(u);
            return splits.map(function (s) { return fmt.tick(s, incr < 60, days); });
          }
        },
        { scale: "kW", label: "Power (kW)", stroke: POWER, font: AXIS_FONT, labelFont: "bold " + AXIS_FONT,
          values: stepValues },
        { scale: "kWh", label: "Energy (kWh)", stroke: ENERGY, side: 1, grid: { show: false }, font: AXIS_FONT,
          labelFont: "bold " + AXIS_FONT, values: stepValues, size: 60 }
      ]
    };
  }

  function initCharts(scope) {
    if (!window.uPlot || !scope) return;
    scope.querySelectorAll(".chart[data-series]").forEach(function (el) {
      var series;
      try { series = JSON.parse(el.dataset.series); } catch (e) { return; }
      if (!series.x || !series.x.length) return;
      el.textContent = "";
      var chart = new window.uPlot(chartOptions(el, el.dataset.tz), [series.x, series.energy, series.power], el);
      el.uplot = chart;  // for the browser tests, which read the axis as drawn
      charts.set(el, chart);
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
      keepChecked(el, fresh);
      el.replaceWith(fresh);
      initCharts(fresh);
      followCommand();
      document.dispatchEvent(new CustomEvent("dashboard:updated", { detail: { id: id } }));
    });
  }

  // A push must not undo what the operator is choosing (the pending page's checkboxes).
  function keepChecked(old, fresh) {
    old.querySelectorAll("input[type=checkbox]:checked[name]").forEach(function (box) {
      fresh.querySelectorAll("input[type=checkbox][name]").forEach(function (other) {
        if (other.name === box.name && other.value === box.value) other.checked = true;
      });
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
    socket.onopen = function () { attempt = 0; };
    socket.onmessage = function (message) {
      var data;
      try { data = JSON.parse(message.data); } catch (e) { return; }
      applyFragments(data.fragments);
      // "Live" once the page shows the state the consumer pushes on connect, not merely when the
      // socket opens: what happened between the page load and the socket is on screen by then.
      setStatus("live", "Live");
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

  function feedback(text, state) {
    var el = document.getElementById("command-feedback");
    if (!el) return;
    el.textContent = text;
    el.dataset.state = state;  // pending (queued, sent), ok (accepted) or error
  }

  // The banner follows the command it announced until its final state: "queued" is not success.
  var followed = null;  // {id, action}
  var FINAL = { accepted: "ok", rejected: "error", failed: "error", timed_out: "error", expired: "error",
    cancelled: "error" };
  function followCommand() {
    if (!followed) return;
    var row = document.getElementById("command-" + followed.id);
    var badge = row && row.querySelector("[data-status]");
    if (!badge) return;
    var status = badge.textContent.trim();
    var state = FINAL[status] || "pending";
    var text = followed.action + " " + status.replace("_", " ");
    var result = row.querySelector("[data-result]");
    if (state === "error" && result && result.textContent.trim() && result.textContent.trim() !== "—") {
      text += ": " + result.textContent.trim();
    }
    feedback(text, state);
    if (state !== "pending") followed = null;
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
      var data = result.data;
      followed = null;
      feedback(data.message || (result.ok ? "Queued" : "Failed"), result.ok ? "pending" : "error");
      if (result.ok && data.command_id) followed = { id: data.command_id, action: data.action || "Command" };
      applyFragments(data.fragments);
      followCommand();
    }).catch(function () {
      feedback("The command could not be sent: check the connection and try again.", "error");
    }).finally(function () {
      buttons.forEach(function (b) { b.disabled = false; });
    });
  });

  // "Select all" on a table of checkboxes (the pending page).
  document.addEventListener("change", function (event) {
    var all = event.target.closest && event.target.closest("input[data-select-all]");
    if (!all) return;
    var form = all.getAttribute("data-select-all");
    document.querySelectorAll('input[type=checkbox][form="' + form + '"][name]').forEach(function (box) {
      box.checked = all.checked;
    });
  });

  document.addEventListener("DOMContentLoaded", function () {
    initCharts(document);
    statusEl = document.getElementById("live-status");
    var path = document.body.dataset.live;
    if (path) connect(path, 0);
  });
})();
