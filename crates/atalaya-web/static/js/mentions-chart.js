// Mentions per day by topic on the mentions page: reads the daily-stats API
// named in data-stats-url (same origin, the session cookie authenticates) and
// draws one uPlot series per topic, named and coloured as the topic is (the
// API sends both with each row). A static file: the CSP forbids inline scripts.
(function () {
  "use strict";
  var box = document.getElementById("mentions-chart");
  if (!box || typeof uPlot === "undefined") { return; }
  fetch(box.getAttribute("data-stats-url"), { credentials: "same-origin" })
    .then(function (response) { return response.ok ? response.json() : []; })
    .then(function (rows) {
      if (!rows.length) { return; }
      var days = [], topics = [], byKey = {}, names = {}, colors = {};
      rows.forEach(function (row) {
        if (days.indexOf(row.day) < 0) { days.push(row.day); }
        if (topics.indexOf(row.topic_id) < 0) { topics.push(row.topic_id); }
        byKey[row.day + "|" + row.topic_id] = row.count;
        names[row.topic_id] = row.topic_name || ("#" + row.topic_id);
        colors[row.topic_id] = row.topic_color;
      });
      days.sort();
      var data = [days.map(function (day) { return Date.parse(day + "T00:00:00Z") / 1000; })];
      var series = [{}];
      topics.forEach(function (topic) {
        data.push(days.map(function (day) { return byKey[day + "|" + topic] || 0; }));
        // uPlot sets the label as text, never as HTML, so a topic name is safe here.
        var line = { label: names[topic], width: 2 };
        if (/^#[0-9a-fA-F]{6}$/.test(colors[topic] || "")) { line.stroke = colors[topic]; }
        series.push(line);
      });
      new uPlot({ width: box.clientWidth || 600, height: 220, series: series }, data, box);
    });
})();
