// The page's age in words, and a banner once it is older than a day: the file a wall screen
// keeps reloading is only as fresh as the last run that wrote it.
(function () {
  var root = document.documentElement;
  var generated = Date.parse(root.getAttribute("data-generated-at"));
  var age = document.getElementById("page-age");
  function words(minutes) {
    if (minutes < 1) { return "just now"; }
    if (minutes < 120) { return minutes + " min ago"; }
    if (minutes < 2880) { return Math.round(minutes / 60) + " h ago"; }
    return Math.round(minutes / 1440) + " days ago";
  }
  function tick() {
    var minutes = Math.max(0, Math.round((Date.now() - generated) / 60000));
    if (age) { age.textContent = "(" + words(minutes) + ")"; }
    root.classList.toggle("stale", minutes > 26 * 60);
  }
  if (!isNaN(generated)) { tick(); setInterval(tick, 30000); }
  // A chart's SVG units per pixel, for its axis labels to read at the size of every other's.
  function fitAxes() {
    var charts = document.querySelectorAll("svg.bars, svg.line-chart");
    for (var i = 0; i < charts.length; i++) {
      var box = charts[i].viewBox.baseVal;
      var width = charts[i].getBoundingClientRect().width;
      if (box && box.width && width) {
        charts[i].style.setProperty("--k", (box.width / width).toFixed(4));
      }
    }
  }
  fitAxes();
  window.addEventListener("resize", fitAxes);
})();
