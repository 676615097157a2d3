/* benchgate dashboard: draws one metric's history with uPlot (shipped beside this file).
 *
 * The page holds its data as JSON in <script type="application/json" id="benchgate-data">;
 * nothing here builds HTML from that data (text only), so keys and commit messages cannot
 * inject markup. */
(function () {
  "use strict";
  var el = document.getElementById("benchgate-data");
  var plotEl = document.getElementById("plot");
  if (!el || !plotEl) { return; }
  var d = JSON.parse(el.textContent);
  var P = d.points;
  var n = P.value.length;
  var xs = [];
  for (var i = 0; i < n; i++) { xs.push(i); }
  var markers = [];
  window.benchgateMarkers = markers;

  function fmt(v) {
    if (v === null || v === undefined) { return "-"; }
    var a = Math.abs(v);
    return a !== 0 && (a >= 1e6 || a < 1e-3) ? v.toExponential(3) : v.toPrecision(5);
  }

  var tip = document.createElement("div");
  tip.className = "tip";
  tip.style.display = "none";
  plotEl.appendChild(tip);

  function line(text) {
    var div = document.createElement("div");
    div.textContent = text;
    tip.appendChild(div);
  }

  function showTip(u) {
    var idx = u.cursor.idx;
    if (idx === null || idx === undefined || u.cursor.left < 0) { tip.style.display = "none"; return; }
    while (tip.firstChild) { tip.removeChild(tip.firstChild); }
    line("commit " + P.commit[idx]);
    line(P.time[idx]);
    line("value " + fmt(P.value[idx]) + " " + d.unit);
    line("spread " + fmt(P.lo[idx]) + " .. " + fmt(P.hi[idx]) + " (stdev " + fmt(P.stdev[idx]) + ", n " + P.n[idx] + ")");
    if (P.baseline[idx] !== null) { line("baseline " + fmt(P.baseline[idx])); }
    d.change_points.forEach(function (c) {
      if (c.index === idx) {
        line("change point " + (c.rel_change * 100).toFixed(1) + "% (p " + c.pvalue.toPrecision(2) + ")");
      }
    });
    d.refreshes.forEach(function (r) {
      if (r.index === idx) { line("baseline refresh: " + r.reason); }
    });
    tip.style.display = "block";
    var left = u.cursor.left + u.over.offsetLeft + 12;
    if (left + 260 > plotEl.clientWidth) { left = Math.max(0, left - 290); }
    tip.style.left = left + "px";
    tip.style.top = (u.cursor.top + u.over.offsetTop + 12) + "px";
  }

  function vline(u, ctx, idx, color, dash) {
    var x = Math.round(u.valToPos(idx - 0.5, "x", true));
    ctx.save();
    ctx.strokeStyle = color;
    ctx.lineWidth = 2 * devicePixelRatio;
    ctx.setLineDash(dash);
    ctx.beginPath();
    ctx.moveTo(x, u.bbox.top);
    ctx.lineTo(x, u.bbox.top + u.bbox.height);
    ctx.stroke();
    ctx.restore();
    return x;
  }

  function drawMarks(u) {
    var ctx = u.ctx;
    markers.length = 0;
    d.refreshes.forEach(function (r) {
      var x = vline(u, ctx, r.index, "#7b3fbf", [4 * devicePixelRatio, 4 * devicePixelRatio]);
      // The reason beside the line (canvas text: never markup).
      ctx.save();
      ctx.fillStyle = "#7b3fbf";
      ctx.font = (11 * devicePixelRatio) + "px sans-serif";
      ctx.textAlign = "left";
      ctx.textBaseline = "alphabetic";
      ctx.fillText("refresh: " + String(r.reason || "").slice(0, 40), x + 4 * devicePixelRatio,
        u.bbox.top + u.bbox.height - 6 * devicePixelRatio);
      ctx.restore();
      markers.push({ kind: "refresh", index: r.index, x: x });
    });
    d.change_points.forEach(function (c) {
      var color = c.worse ? "#c62828" : "#2e7d32";
      var x = vline(u, ctx, c.index, color, []);
      // A triangle on top: down for worse, up for better.
      var s = 7 * devicePixelRatio, y = u.bbox.top;
      ctx.save();
      ctx.fillStyle = color;
      ctx.beginPath();
      if (c.worse) { ctx.moveTo(x - s, y); ctx.lineTo(x + s, y); ctx.lineTo(x, y + s * 1.5); }
      else { ctx.moveTo(x - s, y + s * 1.5); ctx.lineTo(x + s, y + s * 1.5); ctx.lineTo(x, y); }
      ctx.closePath();
      ctx.fill();
      ctx.restore();
      markers.push({ kind: "change_point", index: c.index, x: x, worse: c.worse });
    });
  }

  var opts = {
    width: Math.max(320, plotEl.clientWidth),
    height: 420,
    scales: { x: { time: false } },
    axes: [
      {
        label: "commit",
        values: function (u, splits) {
          return splits.map(function (v) {
            return Number.isInteger(v) && v >= 0 && v < n ? P.commit[v].slice(0, 7) : "";
          });
        },
      },
      { label: d.unit, size: 70 },
    ],
    series: [
      { label: "#" },
      { label: "value", stroke: "#1565c0", width: 2, points: { show: true, size: 5 } },
      { label: "min", stroke: "rgba(21,101,192,0.25)", width: 1, points: { show: false } },
      { label: "max", stroke: "rgba(21,101,192,0.25)", width: 1, points: { show: false } },
      { label: "baseline", stroke: "#2e7d32", width: 1.5, dash: [6, 4], points: { show: false } },
      { label: "WARN", stroke: "#ef6c00", width: 1, dash: [3, 3], points: { show: false } },
      { label: "FAIL", stroke: "#c62828", width: 1, dash: [3, 3], points: { show: false } },
    ],
    bands: [{ series: [3, 2], fill: "rgba(21,101,192,0.12)" }],
    cursor: { points: { size: 8 } },
    hooks: { draw: [drawMarks], setCursor: [showTip] },
  };
  // WARN and FAIL lines from the baseline in force at each commit, in the bad direction.
  var sign = d.higher_is_better ? -1 : 1;
  function limit(pct) {
    return P.baseline.map(function (b) { return b === null ? null : b * (1 + sign * pct); });
  }
  var data = [xs, P.value, P.lo, P.hi, P.baseline, limit(d.variance_pct_warn), limit(d.degradation_pct_max)];
  var plot = new uPlot(opts, data, plotEl);
  window.benchgatePlot = plot;
  window.addEventListener("resize", function () {
    plot.setSize({ width: Math.max(320, plotEl.clientWidth), height: 420 });
  });
})();
