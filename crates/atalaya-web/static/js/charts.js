// Charts drawn with uPlot from the data the server put in data-chart (JSON,
// escaped by the template). The server has already counted per day of the
// workspace's time zone, so every x value is a calendar day: it is plotted
// as that day's UTC midnight and labelled with timeZone "UTC", which keeps
// "8 nov" on 8 November whatever the browser's own zone. Dates and numbers
// are written in the page's language (Intl). Charts follow their container's
// width, so they never push a phone's page sideways. The table or list next
// to each chart carries the same numbers for screen readers and for browsers
// without scripts.
(function () {
  "use strict";
  if (typeof uPlot === "undefined") { return; }
  var lang = document.documentElement.lang || "en";
  var dayFormat = new Intl.DateTimeFormat(lang, { day: "numeric", month: "short", timeZone: "UTC" });
  var fullDayFormat = new Intl.DateTimeFormat(lang, { weekday: "short", day: "numeric", month: "short", year: "numeric", timeZone: "UTC" });
  var numberFormat = new Intl.NumberFormat(lang);

  // Resolves a design token (light-dark() and all) to a colour uPlot can use.
  var probe = document.createElement("span");
  probe.className = "visually-hidden";
  document.body.appendChild(probe);
  function token(name) {
    probe.style.color = "var(" + name + ")";
    return window.getComputedStyle(probe).color;
  }
  function withAlpha(color, alpha) {
    var match = color.match(/rgba?\(([^)]+)\)/);
    if (!match) { return color; }
    var parts = match[1].split(",").map(function (part) { return part.trim(); });
    return "rgba(" + parts[0] + "," + parts[1] + "," + parts[2] + "," + alpha + ")";
  }
  var TONES = { primary: "--primary", previous: "--text-faint", negative: "--negative", neutral: "--neutral", positive: "--positive" };

  function dayToSeconds(day) {
    var parts = day.split("-");
    return Date.UTC(+parts[0], +parts[1] - 1, +parts[2]) / 1000;
  }

  function draw(box) {
    var spec;
    try { spec = JSON.parse(box.getAttribute("data-chart")); } catch (error) { return; }
    if (!spec || !spec.days || !spec.days.length) { return; }
    var xs = spec.days.map(dayToSeconds);
    var stacked = spec.kind === "stacked";
    var data = [xs];
    var raw = [xs];
    var running = xs.map(function () { return 0; });
    var series = [{
      label: spec.date_label || "",
      value: function (u, v) { return v == null ? "" : fullDayFormat.format(new Date(v * 1000)); },
    }];
    var grid = token("--border");
    var text = token("--text-muted");
    spec.series.forEach(function (line, index) {
      var color = line.color && /^#[0-9a-fA-F]{6}$/.test(line.color) ? line.color : token(TONES[line.tone] || "--primary");
      var values = line.values.map(function (value) { return value == null ? null : +value; });
      raw.push(values);
      if (stacked) {
        running = running.map(function (sum, i) { return sum + (values[i] || 0); });
        data.push(running.slice());
      } else {
        data.push(values);
      }
      var entry = {
        // uPlot writes labels as text, never HTML: a topic name is safe here.
        label: line.label,
        stroke: color,
        width: line.tone === "previous" ? 1.5 : 2,
        dash: line.tone === "previous" ? [5, 4] : undefined,
        points: { show: xs.length < 40, size: 5, fill: color },
        value: (function (position) {
          return function (u, v, si, i) { var shown = raw[position][i]; return shown == null ? "" : numberFormat.format(shown); };
        })(index + 1),
      };
      if (stacked) {
        entry.fill = withAlpha(color, 0.85);
        entry.width = 0;
        entry.points = { show: false };
        entry.paths = uPlot.paths.bars({ size: [0.72, 40], align: 0 });
      } else if (line.tone !== "previous" && spec.series.length <= 2) {
        entry.fill = withAlpha(color, 0.08);
      }
      series.push(entry);
    });
    if (stacked) {
      // Drawn top to bottom so each bar covers the ones below it exactly.
      series = [series[0]].concat(series.slice(1).reverse());
      data = [data[0]].concat(data.slice(1).reverse());
      raw = [raw[0]].concat(raw.slice(1).reverse());
      series.forEach(function (entry, position) {
        if (position === 0) { return; }
        entry.value = function (u, v, si, i) { var shown = raw[position][i]; return shown == null ? "" : numberFormat.format(shown); };
      });
    }
    var height = +(box.getAttribute("data-height") || 240);
    var options = {
      width: Math.max(box.clientWidth, 200),
      height: height,
      series: series,
      legend: { show: spec.legend !== false, live: true },
      cursor: { points: { size: 7 }, drag: { x: false, y: false } },
      scales: { x: { time: true }, y: { range: function (u, min, max) { return [0, Math.max(4, Math.ceil(max * 1.15))]; } } },
      axes: [
        { stroke: text, grid: { show: false }, ticks: { stroke: grid }, space: 56,
          values: function (u, splits) { return splits.map(function (v) { return dayFormat.format(new Date(v * 1000)); }); } },
        { stroke: text, grid: { stroke: grid, width: 1 }, ticks: { show: false }, size: 44,
          values: function (u, splits) { return splits.map(function (v) { return Number.isInteger(v) ? numberFormat.format(v) : ""; }); } },
      ],
    };
    box.textContent = "";
    var plot = new uPlot(options, data, box);
    if (window.ResizeObserver) {
      new ResizeObserver(function () {
        var width = Math.max(box.clientWidth, 200);
        if (Math.abs(width - plot.width) > 2) { plot.setSize({ width: width, height: height }); }
      }).observe(box);
    }
  }

  document.querySelectorAll("[data-chart]").forEach(draw);
})();
