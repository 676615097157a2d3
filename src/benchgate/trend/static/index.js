/* benchgate dashboard index: filter the metric table as you type. */
(function () {
  "use strict";
  var input = document.getElementById("filter");
  var rows = document.querySelectorAll("#metrics tbody tr");
  if (!input) { return; }
  input.addEventListener("input", function () {
    var q = input.value.toLowerCase();
    rows.forEach(function (tr) {
      tr.style.display = tr.textContent.toLowerCase().indexOf(q) >= 0 ? "" : "none";
    });
  });
})();
